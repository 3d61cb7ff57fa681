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

from core.errors import ModelFileError
from core.graph import Layer, ModelGraph, Node, Shape, Weight
from core.keras_backend.runtime import import_keras, run_deep
from core.trust import TrustRule

__all__ = ["check_trusted", "first_problem", "fill_shapes", "keras_layers", "load_keras_model", "load_with_shapes"]


def first_problem(graph: ModelGraph) -> tuple[str, str] | None:
    """The first layer (``"outer/inner"`` path, reason) that Keras cannot load safely."""
    for path, layer in graph.iter_layers_deep():
        if layer.problem:
            return "/".join(path), layer.problem
    return None


def check_trusted(path: str, rule: TrustRule | None = None) -> None:
    """Refuse ``path`` unless every object of its config, at any depth (the root, every
    layer, nested models, activations, initializers, ``__typespec__`` ...), names only a
    module of a genuinely installed Keras package (core/trust.py). Runs before Keras
    opens the file: Keras imports such modules through ``sys.path``. Its weights file
    must hold hard links only (Keras follows any link, even to a FIFO)."""
    from core.reader import check_weight_links, read_config

    problems = (rule or TrustRule()).untrusted_objects(read_config(path))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ModelFileError(path, f"refusing to load {problems[0].line()}{more}")
    check_weight_links(path)


def load_keras_model(
    path: str | os.PathLike[str], graph: ModelGraph | None = None, rule: TrustRule | None = None
) -> Any:
    """``keras.models.load_model(path, compile=False, safe_mode=True)``, run with a deep
    stack; raises ``ModelFileError`` naming the layer at fault instead of Keras' error.

    ``graph`` (our reading of the same file) is read here when not given: it is how we
    refuse a Lambda or an unknown class before Keras looks at the file. ``rule`` is the
    trust rule with the user's consent (default: none given); every object of the config
    is checked against it, at any depth, before Keras sees the file.
    """
    path = os.fspath(path)
    if graph is None:
        from core.reader import read_model

        graph = read_model(path)
    problem = first_problem(graph)
    if problem is not None:
        raise ModelFileError(path, f"Keras cannot load layer {problem[0]!r}: {problem[1]}")
    check_trusted(path, rule)
    keras = import_keras()
    try:
        if graph.upgrades:  # a Keras 2 file: through the upgraded config (core.upgrade)
            from core.keras_backend.legacy import load_legacy

            return run_deep(load_legacy, path, graph.format)
        with _keras_named(path, graph.format) as keras_path:
            return run_deep(keras.models.load_model, keras_path, compile=False, safe_mode=True)
    except ModelFileError:
        raise
    except RecursionError:
        raise ModelFileError(path, "Keras ran out of recursion depth loading this model") from None
    except MemoryError:
        raise ModelFileError(path, "Keras ran out of memory loading this model") from None
    except Exception as error:  # Keras raises anything from ValueError to TypeError
        raise ModelFileError(path, f"Keras cannot load it: {_keras_reason(error)}") from None


def load_with_shapes(path: str | os.PathLike[str]) -> tuple[ModelGraph, Any]:
    """Read ``path`` with our reader, load it with Keras, and fill every shape."""
    from core.reader import read_model

    path = os.fspath(path)
    graph = read_model(path)
    model = load_keras_model(path, graph)
    return fill_shapes(graph, model), model


def fill_shapes(graph: ModelGraph, model: Any) -> ModelGraph:
    """A copy of ``graph`` with every call's input / output shapes taken from ``model``
    (nested models included), and weight names / trainable flags where they line up."""
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
    return replace(layer, nodes=tuple(nodes), subgraph=subgraph, weights=_fill_weights(layer, keras_layer))


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
