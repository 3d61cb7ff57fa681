"""Keras' trust rule, exactly, plus ours: which objects named by a model config may be
imported when Keras loads it with ``safe_mode=True``.

Keras (``keras/src/saving/serialization_lib.py``, ``_retrieve_class_or_fn``) imports the
``module`` an object names whenever that module lies in one of the packages ``keras``,
``keras_hub``, ``keras_cv``, ``keras_nlp``, and nothing else. Python resolves that import
through ``sys.path``, so a stray ``keras_hub`` directory in the working folder or on
``PYTHONPATH`` would run. Resect adds: the module must be a source file of the
*genuinely installed* distribution of that package (its folder in a site-packages folder
of this interpreter, beside its ``.dist-info``), and the package Python would import
must be that very folder.

Decided without importing anything named by the file. This module is the one place the
rule lives; the reader (``Layer.problem``), the Keras loader and the CLI consent flags
all call it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import site
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

__all__ = [
    "KERAS_PACKAGES",
    "Problem",
    "TrustRule",
    "module_problem",
    "object_problem",
    "untrusted_objects",
    "layer_problem",
]

# package -> its distribution name on PyPI (Keras' allow-list, serialization_lib.py)
KERAS_PACKAGES: dict[str, str] = {
    "keras": "keras",
    "keras_hub": "keras-hub",
    "keras_cv": "keras-cv",
    "keras_nlp": "keras-nlp",
}
LAMBDA_CLASSES = frozenset({"Lambda", "__lambda__"})
# Keras' built-in function lookup ("module": "builtins") searches Keras' own modules only
_BUILTIN_FUNCTION_MODULE = "builtins"


@dataclass(frozen=True)
class Problem:
    """One object Keras must not be asked to load: where it is, what it names, why."""

    path: str  # "model/layers/conv1/config/kernel_initializer"
    class_name: str
    module: str | None
    reason: str

    def line(self) -> str:
        return f"{self.path}: {self.reason}"


class TrustRule:
    """The rule for one reading or one load: what the user allowed (``unsafe`` lets a
    Lambda through, ``extra_modules`` are packages the user trusts) and an answer cache,
    so a 20,000-layer config asks about each distinct module once."""

    def __init__(self, *, unsafe: bool = False, extra_modules: Iterable[str] = ()) -> None:
        self.unsafe = unsafe
        self.extra_modules = tuple(extra_modules)
        self._key = _path_key()
        self._answers: dict[str, str | None] = {}
        self._clean = False

    def prescan(self, text: str) -> bool:
        """Look at the raw JSON text of a config once: when every ``module`` it names is
        trusted and no Lambda appears, no object in it can have a problem, and
        ``layer_problem`` answers at once (a 20,000-layer config is not walked twice).
        Text that could hide a key (``\\u`` escapes, a module not written as
        ``json.dumps`` writes a string or null) is walked.

        A 20,000-layer config is 13.6 MB and each C call over it holds the GIL (20 ms
        for one ``in``), so the text is searched in 1 MB slices (the UI thread gets the
        GIL between them), and the Lambda words once (``ambda``) in the common case."""
        self._clean = False
        if _contains(text, "\\u"):
            return False
        if _contains(text, "ambda") and (_contains(text, '"Lambda"') or _contains(text, '"__lambda__"')):
            return False
        named = _module_values(text)
        if named is None:
            return False
        for module in named:
            if self.module_problem(module) is not None:
                return False
        self._clean = True
        return True

    def module_problem(self, module: str) -> str | None:
        """Why importing ``module`` (named by a config) is not allowed, or ``None`` when it
        is a module of a genuinely installed Keras distribution (or one the user allowed)."""
        try:
            return self._answers[module]
        except KeyError:
            pass
        if self.extra_modules and _in_packages(module, self.extra_modules):
            answer = None
        else:
            answer = _module_problem(module, self._key)
        self._answers[module] = answer
        return answer

    def object_problem(self, obj: dict[str, Any]) -> str | None:
        """Why the one serialised object ``obj`` (``class_name`` / ``module``) would import
        untrusted code or run a Lambda, without looking inside it."""
        class_name = obj.get("class_name")
        if not isinstance(class_name, str):
            return "class_name is not a string"
        if class_name in LAMBDA_CLASSES and not self.unsafe:
            return "Lambda layer: its Python code is not loaded (safe mode)"
        module = obj.get("module")
        if module is None:
            return None
        if not isinstance(module, str):
            return "module is not a string"
        if module == _BUILTIN_FUNCTION_MODULE and class_name == "function":
            return None
        return self.module_problem(module)

    def untrusted_objects(self, config: Any, root: str = "model") -> list[Problem]:
        """Every object at any depth of ``config`` (the root, layers, nested models, their
        activations, initializers, dtype policies, ``__typespec__`` ...) that must not load."""
        problems = []
        for path, obj in _objects(config, root):
            reason = self.object_problem(obj)
            if reason is not None:
                module = obj.get("module")
                module = module if isinstance(module, str) else None
                problems.append(Problem(path, str(obj.get("class_name")), module, reason))
        return problems

    def layer_problem(self, entry: dict[str, Any]) -> str | None:
        """The first reason the layer ``entry`` (and the objects inside its own config, not
        the layers of a nested model, which have their own) must not be given to Keras."""
        if self._clean or not self._has_problem(entry):
            return None
        for path, obj in _objects(entry, "", skip_layers_of=entry):
            if path.startswith("/inbound_nodes"):
                continue
            reason = self.object_problem(obj)
            if reason is None:
                continue
            if obj is entry:
                if reason.startswith("module "):
                    return f"class {_display_name(obj)} is not loaded: {reason}"
                return reason
            return f"{path.lstrip('/')} ({_display_name(obj)}) is not loaded: {reason}"
        return None

    def _has_problem(self, entry: dict[str, Any]) -> bool:
        """Whether ``layer_problem`` has anything to say: the same walk without paths,
        and without the calls (``inbound_nodes``, which the parser reads itself and the
        loader's full check covers), run for every layer of every model opened."""
        layers = entry.get("config")
        layers = layers.get("layers") if type(layers) is dict else None
        stack: list[Any] = [entry]
        while stack:
            item = stack.pop()
            if type(item) is dict:
                if "class_name" in item and self.object_problem(item) is not None:
                    return True
                for key, child in item.items():
                    kind = type(child)
                    if (kind is dict or kind is list) and key != "inbound_nodes" and child is not layers:
                        stack.append(child)
            else:
                for child in item:
                    kind = type(child)
                    if kind is dict or kind is list:
                        stack.append(child)
        return False


def module_problem(module: str, *, extra_modules: Iterable[str] = ()) -> str | None:
    """``TrustRule().module_problem``: one question, answered against today's sys.path."""
    return TrustRule(extra_modules=extra_modules).module_problem(module)


def object_problem(obj: dict[str, Any], *, unsafe: bool = False, extra_modules: Iterable[str] = ()) -> str | None:
    """``TrustRule().object_problem`` for a single object."""
    return TrustRule(unsafe=unsafe, extra_modules=extra_modules).object_problem(obj)


def untrusted_objects(
    config: Any, *, unsafe: bool = False, extra_modules: Iterable[str] = (), root: str = "model"
) -> list[Problem]:
    """``TrustRule().untrusted_objects``: every object of ``config`` that must not load."""
    return TrustRule(unsafe=unsafe, extra_modules=extra_modules).untrusted_objects(config, root)


def layer_problem(entry: dict[str, Any], *, unsafe: bool = False, extra_modules: Iterable[str] = ()) -> str | None:
    """``TrustRule().layer_problem`` for one layer entry."""
    return TrustRule(unsafe=unsafe, extra_modules=extra_modules).layer_problem(entry)


# --- walking ------------------------------------------------------------------

_MODULE_KEY = '"module"'
_MODULE = re.compile(r'"module": "([^"\\]*)"')  # as json.dumps writes it; other forms are walked
_SLICE = 1 << 20  # characters per scan: a C call over a slice holds the GIL for about 5 ms


def _contains(text: str, needle: str) -> bool:
    """``needle in text``, searched a slice at a time (windows overlap by the needle's
    length, so none is missed)."""
    step = _SLICE
    for start in range(0, max(len(text) - len(needle), 0) + 1, step):
        if text.find(needle, start, start + step + len(needle) - 1) >= 0:
            return True
    return False


def _module_values(text: str) -> set[str] | None:
    """The distinct values of every ``"module"`` in ``text`` when each is written as
    ``json.dumps`` writes it (``"module": "name"`` without escapes, or ``"module": null``);
    ``None`` when any is written another way (the caller then walks the parsed config).
    Scanned in slices cut just before a ``"module"`` key, so no match spans a cut."""
    found: set[str] = set()
    start = 0
    while start < len(text):
        end = text.find(_MODULE_KEY, start + _SLICE) if len(text) - start > _SLICE else -1
        piece = text[start:] if end < 0 else text[start:end]
        named = _MODULE.findall(piece)
        if len(named) + piece.count('"module": null') != piece.count(_MODULE_KEY):
            return None
        found.update(named)
        start = len(text) if end < 0 else end
    return found


def _objects(value: Any, root: str, skip_layers_of: Any = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, object) for every dict with a ``class_name`` in ``value``, iteratively (a
    10,000-deep config must not exhaust the stack). With ``skip_layers_of``, the
    ``config.layers`` list of that entry and of nothing else is not entered."""
    stack: list[tuple[str, Any]] = [(root, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            if "class_name" in item:
                yield path, item
            for key, child in reversed(item.items()):  # reversed: popped in document order
                if isinstance(child, (dict, list)):
                    if key == "layers" and skip_layers_of is not None and item is skip_layers_of.get("config"):
                        continue
                    stack.append((f"{path}/{key}", child))
        elif isinstance(item, list):
            for index in range(len(item) - 1, -1, -1):
                child = item[index]
                if isinstance(child, (dict, list)):
                    stack.append((f"{path}/{_item_name(child, index)}", child))


def _item_name(child: Any, index: int) -> str:
    if isinstance(child, dict):
        name = child.get("name")
        if not isinstance(name, str):
            config = child.get("config")
            name = config.get("name") if isinstance(config, dict) else None
        if isinstance(name, str) and name:
            return name
    return f"[{index}]"


def _display_name(obj: dict[str, Any]) -> str:
    registered = obj.get("registered_name")
    return str(registered) if isinstance(registered, str) and registered else str(obj.get("class_name"))


# --- the rule -------------------------------------------------------------------


def _in_packages(module: str, packages: Iterable[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _path_key() -> tuple[str, ...]:
    """What the answer depends on besides the module: the import path and whether an
    allow-listed package is already imported (and from where)."""
    loaded = tuple(getattr(sys.modules.get(p), "__file__", None) or "" for p in KERAS_PACKAGES)
    return (*sys.path, "\0", *loaded)


@lru_cache(maxsize=4096)
def _module_problem(module: str, _key: tuple[str, ...]) -> str | None:
    package = module.split(".", 1)[0]
    if package not in KERAS_PACKAGES:
        return f"module {module!r} is outside Keras' packages ({', '.join(KERAS_PACKAGES)})"
    bundled = _bundled_modules()
    if bundled is not None:
        return _bundled_module_problem(module, package, bundled)
    root = _installed_root(package)
    if root is None:
        return f"module {module!r}: package {package!r} is not installed"
    if not _module_file_exists(root, module):
        return f"module {module!r} is not part of the installed {package} package"
    if not _imports_installed(package):
        return f"module {module!r}: the {package!r} first on the Python path is not the installed package"
    return None


def _bundled_modules() -> Any:
    """In a PyInstaller bundle, the modules it ships (its archive's table of contents):
    there is no site-packages and no ``.dist-info``; what was bundled is what is installed.
    ``None`` when not frozen."""
    if not getattr(sys, "frozen", False):
        return None
    importers = sys.modules.get("pyimod02_importers")
    return getattr(getattr(importers, "pyz_archive", None), "toc", None)


def _bundled_module_problem(module: str, package: str, bundled: Any) -> str | None:
    if module not in bundled:
        return f"module {module!r} is not part of the bundled {package} package"
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    origin = getattr(spec, "origin", None) or ""
    inside = os.path.realpath(getattr(sys, "_MEIPASS", "") or "/nonexistent") + os.sep
    if not os.path.realpath(origin).startswith(inside):
        return f"module {module!r}: the {package!r} Python would import is not the bundled package"
    return None


def _module_file_exists(root: str, module: str) -> bool:
    """``module`` is a source file (or a package) inside the installed folder ``root``."""
    parts = module.split(".")
    if not all(part.isidentifier() for part in parts):
        return False
    base = os.path.join(root, *parts[1:])
    return os.path.isfile(base + ".py") or os.path.isfile(os.path.join(base, "__init__.py"))


@cache
def _installed_root(package: str) -> str | None:
    """The real folder of ``package`` as its distribution installed it: in one of this
    interpreter's site-packages folders (not the working folder, not PYTHONPATH), next
    to the distribution's ``.dist-info`` record. Looked up without importlib.metadata,
    whose import and directory scans cost more than the whole check."""
    wanted = KERAS_PACKAGES[package].replace("-", "_").lower() + "-"
    for base in _site_dirs():
        folder = os.path.join(base, package)
        if not os.path.isfile(os.path.join(folder, "__init__.py")):
            continue
        try:
            names = os.listdir(base)
        except OSError:
            continue
        if any(n.lower().startswith(wanted) and n.endswith(".dist-info") for n in names):
            return folder
    return None


def _site_dirs() -> Iterator[str]:
    """``_all_site_dirs`` in its order, computed in two steps: ``site.getsitepackages()``
    comes first and usually holds the package, so the common case never asks
    ``sysconfig`` nor reads ``.pth`` files (2 of the 3 ms the first question costs)."""
    first = _first_site_dirs()
    yield from first
    yield from (d for d in _all_site_dirs() if d not in first)


@cache
def _first_site_dirs() -> list[str]:
    dirs = site.getsitepackages() if hasattr(site, "getsitepackages") else []
    return list(dict.fromkeys(os.path.realpath(d) for d in dirs))


@cache
def _all_site_dirs() -> list[str]:
    """This interpreter's site-packages folders and the folders their ``.pth`` files add
    (as ``site`` adds them at start-up: a venv layered on another environment), real
    paths, in a stable order. Not the working folder, not ``PYTHONPATH``."""
    dirs = list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
    import sysconfig  # only when getsitepackages() lacks the package (see _site_dirs)

    paths = sysconfig.get_paths()
    dirs += [paths[k] for k in ("purelib", "platlib") if k in paths]
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    found = list(dict.fromkeys(os.path.realpath(d) for d in dirs))
    for base in list(found):
        found += [d for d in _pth_dirs(base) if d not in found]
    return found


def _pth_dirs(base: str) -> list[str]:
    """The folders the ``.pth`` files in ``base`` add to the path, read the way
    ``site.addpackage`` reads them (comments and ``import`` lines skipped; nothing run)."""
    try:
        names = sorted(n for n in os.listdir(base) if n.endswith(".pth"))
    except OSError:
        return []
    added = []
    for name in names:
        try:
            with open(os.path.join(base, name), encoding="utf-8") as handle:
                lines = handle.read(64_000).splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for line in lines:
            line = line.rstrip()
            if not line or line.startswith(("#", "import ", "import\t")):
                continue
            folder = os.path.realpath(os.path.join(base, line))
            if os.path.isdir(folder):
                added.append(folder)
    return added


def _imports_installed(package: str) -> bool:
    """Whether ``import package`` would load the installed distribution. ``find_spec`` of
    a top-level name runs no code of the package; it returns the loaded module's spec
    when the package is already imported."""
    root = _installed_root(package)
    if root is None:
        return False
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return False
    if spec is None or spec.origin is None:
        return False
    return os.path.realpath(spec.origin) == os.path.join(root, "__init__.py")
