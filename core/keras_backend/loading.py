"""Load a model through Keras, safely, and copy Keras' shapes into our graph.

``load_keras_model`` refuses before Keras deserialises anything when our reader
already knows a layer cannot load safely (a ``Lambda``, an unknown custom class),
loads with ``safe_mode=True`` otherwise, and turns every failure into a one-line
``ModelFileError`` naming the layer at fault. ``fill_shapes`` copies the input and
output shapes of every call (node ``i`` of our graph is Keras' ``_inbound_nodes[i]``)
so that legacy files, which record no shapes, and model outputs get them too.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import replace
from typing import Any

from resect.core.consent import NO_CONSENT, Consent
from resect.core.errors import ModelFileError
from resect.core.graph import Layer, ModelGraph, Node, Shape, Weight
from resect.core.keras_backend.runtime import import_keras, run_deep
from resect.core.trust import TrustRule

__all__ = [
    "check_trusted",
    "first_problem",
    "is_upgraded",
    "fill_shapes",
    "keras_layers",
    "load_graph_model",
    "load_keras_model",
    "load_with_shapes",
    "refusal_without_keras",
]


def first_problem(graph: ModelGraph) -> tuple[str, str] | None:
    """The first layer (``"outer/inner"`` path, reason) that Keras cannot load safely."""
    code = graph.code_defined
    if code is not None and code.problem and not graph.layers:
        return graph.name, code.problem
    for path, layer in graph.iter_layers_deep():
        if layer.problem:
            return "/".join(path), layer.problem
    return None


def check_trusted(path: str, rule: TrustRule | None = None) -> None:
    """Refuse ``path`` unless every object of its config, at any depth (the root, every
    layer, nested models, activations, initializers, ``__typespec__`` ...), names only a
    module of a genuinely installed Keras package (core/trust.py). Runs before Keras
    opens the file: Keras imports such modules through ``sys.path``. The config checked
    is the one Keras is given (a Keras 2 file's reader returns it upgraded). Its weights
    files must hold hard links only (Keras follows any link, even to a FIFO)."""
    from resect.core.reader import check_weight_links, read_config

    problems = (rule or TrustRule()).untrusted_objects(read_config(path))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ModelFileError(path, f"refusing to load {problems[0].line()}{more}")
    check_weight_links(path)


def load_keras_model(
    path: str | os.PathLike[str],
    graph: ModelGraph | None = None,
    consent: Consent = NO_CONSENT,
    rule: TrustRule | None = None,
) -> Any:
    """``keras.models.load_model(path, compile=False, safe_mode=True)``, run with a deep
    stack; raises ``ModelFileError`` naming the layer at fault instead of Keras' error.

    ``graph`` (our reading of the same file) is read here when not given: it is how we
    refuse a Lambda or an unknown class before Keras looks at the file. ``consent``
    (``--custom-code`` / ``--unsafe``) is acted on here, in the process that loads Keras:
    its code is imported first, and ``--unsafe`` loads with ``safe_mode=False``. The
    trust check (core/trust.py) covers every object of the config, at any depth, before
    Keras sees the file; ``rule`` overrides the one made from ``consent``.
    """
    from resect.core.keras_backend.custom_code import CustomCodeError, consent_rule, import_custom_code, refusal

    path = os.fspath(path)
    if graph is None:
        from resect.core.reader import read_model

        graph = read_model(path)
    if not consent and first_problem(graph) is not None:  # nothing to import: refuse before Keras starts
        raise ModelFileError(path, f"Keras cannot load it: {refusal_without_keras(graph)}")
    import_custom_code(consent)
    reason = refusal(graph, consent)
    if reason is not None:  # with consent given, its code did not do what the user said: an error
        raise (CustomCodeError if consent else ModelFileError)(path, f"Keras cannot load it: {reason}")
    check_trusted(path, rule or consent_rule(graph, consent))
    keras = import_keras()
    try:
        loader = _load_upgraded if is_upgraded(graph) else KERAS_LOADERS.get(graph.format, _load_file)
        return run_deep(loader, keras, path, graph.format, not consent.unsafe)
    except ModelFileError:
        raise
    except RecursionError:
        raise ModelFileError(path, "Keras ran out of recursion depth loading this model") from None
    except MemoryError:
        raise ModelFileError(path, "Keras ran out of memory loading this model") from None
    except Exception as error:  # Keras raises anything from ValueError to TypeError
        raise ModelFileError(path, f"Keras cannot load it: {_keras_reason(error)}") from None


def load_graph_model(path: str | os.PathLike[str], graph: ModelGraph, consent: Consent = NO_CONSENT) -> Any:
    """A Keras model good for the layer graph and shapes (``inspect``, the app's worker):
    ``load_keras_model``, except that a code-defined model (KerasHub) is built from its
    config without allocating its weights (``code_defined.build_without_weights``)."""
    if graph.code_defined is None or graph.layers:
        return load_keras_model(path, graph, consent)
    from resect.core.keras_backend.code_defined import build_without_weights
    from resect.core.keras_backend.custom_code import CustomCodeError, consent_rule, import_custom_code, refusal

    path = os.fspath(path)
    import_custom_code(consent)
    reason = refusal(graph, consent) if consent else refusal_without_keras(graph)
    if reason is not None:
        raise (CustomCodeError if consent else ModelFileError)(path, f"Keras cannot load it: {reason}")
    check_trusted(path, consent_rule(graph, consent))
    try:
        return run_deep(build_without_weights, graph, not consent.unsafe)
    except Exception:  # noqa: BLE001 - a class that makes a variable from a value (a Task's
        # constant) cannot be built stateless: load it whole, weights and all
        return load_keras_model(path, graph, consent)


def is_upgraded(graph: ModelGraph) -> bool:
    """A Keras 2 file, loaded through its upgraded config (core.keras_backend.legacy): a
    tf.keras SavedModel always, an .h5 / .keras when the reader recorded rewrites."""
    return bool(graph.upgrades) or graph.format == "savedmodel"


def refusal_without_keras(graph: ModelGraph) -> str | None:
    """The refusal line for a load without consent, decided without importing Keras."""
    from resect.core.keras_backend.custom_code import refusal

    return refusal(graph, NO_CONSENT, registered=lambda _layer: False)


def load_with_shapes(path: str | os.PathLike[str], consent: Consent = NO_CONSENT) -> tuple[ModelGraph, Any]:
    """Read ``path`` with our reader, load it with Keras, and fill every shape."""
    from resect.core.reader import read_model

    path = os.fspath(path)
    graph = read_model(path)
    model = load_keras_model(path, graph, consent)
    return fill_shapes(graph, model), model


def fill_shapes(graph: ModelGraph, model: Any) -> ModelGraph:
    """A copy of ``graph`` with every call's input / output shapes taken from ``model``
    (nested models included), and weight names / trainable flags where they line up.
    A code-defined model (KerasHub: no layers in our reading) gets its real layer graph."""
    if graph.code_defined is not None and not graph.layers:
        from resect.core.keras_backend.code_defined import expand_code_defined

        graph = run_deep(expand_code_defined, graph, model)
    return run_deep(_fill_model, graph, model)


def _fill_model(graph: ModelGraph, model: Any) -> ModelGraph:
    by_name = {op.name: op for op in getattr(model, "operations", None) or ()}  # layers and op nodes
    by_name.update((layer.name, layer) for layer in keras_layers(model))
    layers = []
    for layer in graph.layers:
        keras_layer = by_name.get(layer.name)
        layers.append(layer if keras_layer is None else _fill_layer(layer, keras_layer))
    return graph.with_layers(tuple(layers))


def keras_layers(model: Any) -> list[Any]:
    """A Keras model's layers as our graph lists them: a Sequential's ``layers`` leaves
    out its ``InputLayer``, which ``_layers`` keeps."""
    inner = getattr(model, "_layers", None)
    return list(inner) if inner is not None and type(model).__name__ == "Sequential" else list(model.layers)


def _fill_layer(layer: Layer, keras_layer: Any) -> Layer:
    inbound = list(getattr(keras_layer, "_inbound_nodes", ()))
    nodes = []
    for node in layer.nodes:
        keras_node = _matching_node(node, inbound)
        nodes.append(node if keras_node is None else _fill_node(node, keras_node))
    subgraph = layer.subgraph
    if subgraph is not None and hasattr(keras_layer, "layers"):
        subgraph = _fill_model(subgraph, keras_layer)
    # Keras built it, so it loads (in this process, with the consent given): no problem left
    return replace(
        layer, nodes=tuple(nodes), subgraph=subgraph, weights=_fill_weights(layer, keras_layer), problem=None
    )


def _matching_node(node: Node, inbound: list[Any]) -> Any:
    """Keras' node for our call ``node.index``: the one whose outputs carry that index in
    their ``keras_history`` (it is ``_inbound_nodes[node.index]`` for every zoo model)."""
    if node.index < len(inbound) and _history_index(inbound[node.index]) in (node.index, None):
        return inbound[node.index]
    for candidate in inbound:
        if _history_index(candidate) == node.index:
            return candidate
    return None


def _history_index(keras_node: Any) -> int | None:
    outputs = list(getattr(keras_node, "output_tensors", ()) or ())
    history = getattr(outputs[0], "_keras_history", None) if outputs else None
    return None if history is None else int(history.node_index)


def _fill_node(node: Node, keras_node: Any) -> Node:
    input_shapes = tuple(_shape_of(t) for t in keras_node.input_tensors)
    output_shapes = tuple(_shape_of(t) for t in keras_node.output_tensors)
    if len(input_shapes) != len(node.inputs):
        input_shapes = node.input_shapes
    if not output_shapes:
        output_shapes = node.output_shapes
    return replace(node, input_shapes=input_shapes, output_shapes=output_shapes)


def _shape_of(tensor: Any) -> Shape | None:
    shape = getattr(tensor, "shape", None)
    if shape is None:
        return None
    return tuple(None if d is None else int(d) for d in shape)


def _fill_weights(layer: Layer, keras_layer: Any) -> tuple[Weight, ...]:
    """Keras' own weight names and trainable flags, when its weights line up with ours
    shape by shape (they do in save order for every built-in layer we checked)."""
    keras_weights = list(getattr(keras_layer, "weights", ()))
    if not layer.weights or len(keras_weights) != len(layer.weights):  # op nodes have none
        return layer.weights
    if layer.subgraph is None and any("/" in w.name for w in layer.weights):
        # sub-layer variables (MultiHeadAttention's query/key/...): the file orders them
        # by attribute name, Keras by creation; equal shapes could pair the wrong names
        return layer.weights
    if any(tuple(w.shape) != ours.shape for w, ours in zip(keras_weights, layer.weights, strict=True)):
        return layer.weights
    trainable = {id(w) for w in keras_layer.trainable_weights}
    named = []
    for keras_weight, ours in zip(keras_weights, layer.weights, strict=True):
        name = str(getattr(keras_weight, "path", None) or keras_weight.name)
        if layer.subgraph is None and "/" in name:
            name = name.split("/", 1)[1] if name.startswith(layer.name + "/") else name
        named.append(replace(ours, name=name, trainable=id(keras_weight) in trainable))
    return tuple(named)


def _load_file(keras: Any, path: str, fmt: str, safe_mode: bool) -> Any:
    with _keras_named(path, fmt) as keras_path:
        return keras.models.load_model(keras_path, compile=False, safe_mode=safe_mode)


def _load_upgraded(keras: Any, path: str, fmt: str, safe_mode: bool) -> Any:
    """A Keras 2 file: through the upgraded config (core.upgrade)."""
    from resect.core.keras_backend.legacy import load_legacy

    return load_legacy(path, fmt, safe_mode)


def _load_preset(keras: Any, path: str, fmt: str, safe_mode: bool) -> Any:
    """A KerasHub preset directory, as keras_hub's own ``from_preset`` builds it: the Task
    of its ``task.json`` (head weights from ``task.weights.h5``) when it has one, else the
    backbone of ``config.json``. keras_hub deserialises without a ``safe_mode`` argument,
    so the consent's mode is set as Keras' own scope around it: a Lambda in a preset is
    refused unless ``--unsafe``."""
    from keras.src.saving.serialization_lib import SafeModeScope

    from resect.core.reader.keras_hub_models import preset_task

    try:
        import keras_hub
    except ImportError as error:
        raise ModelFileError(path, f"is a KerasHub preset but keras_hub cannot be imported ({error})") from None
    task = preset_task(path)
    with SafeModeScope(safe_mode):
        if task is None:
            return keras_hub.models.Backbone.from_preset(path, load_weights=True)
        cls = keras.saving.get_registered_object(str(task.get("registered_name")))
        if cls is None:
            name = task.get("registered_name") or task.get("class_name")
            raise ModelFileError(path, f"task.json names {name!r}, which keras_hub does not register")
        return cls.from_preset(path, load_weights=True)


# How Keras loads each format the readers know (the Keras half of core/reader/registry.py);
# a format not listed is a file keras.models.load_model reads; a Keras 2 file of any
# format goes through _load_upgraded (is_upgraded).
KERAS_LOADERS: dict[str, Any] = {"preset": _load_preset, "savedmodel": _load_upgraded}


class _keras_named:
    """Keras picks its loader from the file name; give it a name that matches the
    content (a symlink in a temporary folder) when the real name does not."""

    def __init__(self, path: str, fmt: str) -> None:
        self._path = path
        self._suffix = ".keras" if fmt == "keras" else ".h5"
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> str:
        if self._path.lower().endswith((".keras",) if self._suffix == ".keras" else (".h5", ".hdf5")):
            return self._path
        self._tmp = tempfile.TemporaryDirectory(prefix="resect-")
        link = os.path.join(self._tmp.name, "model" + self._suffix)
        os.symlink(os.path.abspath(self._path), link)
        return link

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def _keras_reason(error: BaseException) -> str:
    """Keras' message cut to one line, with the class or layer it names kept."""
    text = " ".join(str(error).split())
    match = re.search(r"Could not locate class '([^']+)'", text)
    if match:
        return f"unknown class {match.group(1)!r} (not registered in this process)"
    match = re.search(r"[Ll]ambda", text)
    if match and "safe_mode" in text:
        return "a Lambda layer's code is not run (safe mode)"
    text = text or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."
