"""Act on the user's consent (``core.consent``) in the process that loads Keras.

``import_custom_code`` imports each ``--custom-code`` file or module once per process;
a failure is one line naming the file or module. ``refusal`` says, after that, which
layer Keras still could not load and which flag would allow it, so a load is refused
with a line naming the class, its module and the flag, before Keras runs anything.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from types import ModuleType

from resect.core.consent import Consent
from resect.core.errors import ModelFileError
from resect.core.graph import Layer, ModelGraph
from resect.core.keras_backend.runtime import import_keras
from resect.core.trust import TrustRule

__all__ = ["CustomCodeError", "consent_rule", "import_custom_code", "refusal"]

_imported: dict[str, ModuleType] = {}  # spec as given (absolute path for files) -> module


class CustomCodeError(ModelFileError):
    """A ``--custom-code`` file or module cannot be imported, or does not register a class."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(where, reason)


def import_custom_code(consent: Consent) -> list[ModuleType]:
    """Import every ``--custom-code`` entry (once per process), after Keras itself."""
    if not consent.custom_code:
        return []
    import_keras()  # the code registers with keras.saving: Keras first, quietly
    return [_import_one(spec) for spec in consent.custom_code]


def _import_one(spec: str) -> ModuleType:
    is_file = spec.endswith(".py") or os.sep in spec or "/" in spec
    key = os.path.abspath(spec) if is_file else spec
    if key in _imported:
        return _imported[key]
    if is_file:
        module = _import_file(spec, key)
    else:
        try:
            module = importlib.import_module(spec)
        except ModuleNotFoundError as error:
            if error.name and spec.startswith(error.name):
                raise CustomCodeError(
                    f"--custom-code {spec}", f"no module named {error.name!r} (nor a .py file)"
                ) from None
            raise CustomCodeError(f"--custom-code {spec}", f"importing it failed: {_one_line(error)}") from None
        except BaseException as error:  # noqa: BLE001 - the user's code may raise anything
            if isinstance(error, KeyboardInterrupt):
                raise
            raise CustomCodeError(f"--custom-code {spec}", f"importing it failed: {_one_line(error)}") from None
    _imported[key] = module
    return module


def _import_file(spec: str, path: str) -> ModuleType:
    if not os.path.isfile(path):
        raise CustomCodeError(f"--custom-code {spec}", "no such file")
    name = os.path.splitext(os.path.basename(path))[0]
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise CustomCodeError(f"--custom-code {spec}", "not a Python file")
    module = importlib.util.module_from_spec(module_spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module  # as a normal import would: the classes' __module__ resolves
    try:
        module_spec.loader.exec_module(module)
    except BaseException as error:  # noqa: BLE001 - the user's code may raise anything
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
        if isinstance(error, KeyboardInterrupt):
            raise
        raise CustomCodeError(f"--custom-code {spec}", f"importing it failed: {_one_line(error)}") from None
    return module


def refusal(graph: ModelGraph, consent: Consent, registered: Callable[[Layer], bool] | None = None) -> str | None:
    """The first layer Keras would still refuse, as one line naming it, its class and
    module and the flag that allows it; ``None`` when everything can load. Call after
    ``import_custom_code``: ``registered`` (default: Keras' registry) says whether a
    class can now be found."""
    registered = registered or _registered
    code = graph.code_defined
    if code is not None and code.problem and not graph.layers:
        return f"class {code.registered_name or code.class_name!r} from module {code.module!r}: {code.problem}"
    for path, layer in graph.iter_layers_deep():
        if not layer.problem:
            continue
        where = "/".join(path)
        if layer.class_name == "Lambda":
            if consent.unsafe:
                continue
            return f"layer {where!r} is a Lambda: its Python code runs only with --unsafe ({layer.problem})"
        if registered(layer):
            continue
        what = f"class {_class_key(layer)!r}" + (f" from module {layer.module!r}" if layer.module else "")
        if consent.custom_code:
            given = ", ".join(consent.custom_code)
            return (
                f"layer {where!r}: {what} is not registered by --custom-code {given} "
                f"(decorate it with @keras.saving.register_keras_serializable; {layer.problem})"
            )
        return f"layer {where!r} ({what}): {layer.problem}; pass --custom-code PATH.py|MODULE with its code to load it"
    return None


def consent_rule(graph: ModelGraph, consent: Consent) -> TrustRule:
    """The trust rule for a load with ``consent``: ``--unsafe`` lets Lambdas through, and
    the modules the user's code was imported as, or that its registered classes name in
    the file, are trusted (Keras takes registered classes from its registry, importing
    nothing). Call after ``import_custom_code``."""
    modules = {module.__name__ for module in _imported.values()}
    if consent.custom_code:
        modules |= {str(layer.module) for _, layer in graph.iter_layers_deep() if layer.module and _registered(layer)}
    return TrustRule(unsafe=consent.unsafe, extra_modules=sorted(modules))


def _class_key(layer: Layer) -> str:
    return str(layer.registered_name or layer.class_name)


def _registered(layer: Layer) -> bool:
    keras = import_keras()
    get = keras.saving.get_registered_object
    return any(get(name) is not None for name in {layer.registered_name, layer.class_name} if name)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."
