"""Small graph algorithms the edits share: reference rewriting, walks, renumbering, naming.

All functions are free functions over the immutable ``ModelGraph`` (as networkx does):
they return new objects and never mutate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from resect.core.graph import Layer, ModelGraph, Node
from resect.core.tensor_ref import TensorRef

NodeKey = tuple[str, int]
RefMap = Callable[[TensorRef], TensorRef]


def map_refs(value: Any, fn: RefMap) -> Any:
    """Replace every ``TensorRef`` leaf of a call structure (args / kwargs) by ``fn(ref)``."""
    if isinstance(value, TensorRef):
        return fn(value)
    if isinstance(value, list):
        return [map_refs(v, fn) for v in value]
    if isinstance(value, tuple):
        return tuple(map_refs(v, fn) for v in value)
    if isinstance(value, dict):
        return {k: map_refs(v, fn) for k, v in value.items()}
    return value


def remap_node(node: Node, fn: RefMap, **changes: Any) -> Node:
    """The node with its inputs (and args / kwargs leaves) passed through ``fn``; the same
    object when nothing changes (edits keep most of a large graph as it is)."""
    if not node.inputs:
        return replace(node, **changes) if changes else node
    inputs = tuple(fn(r) for r in node.inputs)
    if inputs == node.inputs and all(getattr(node, k) == v for k, v in changes.items()):
        return node
    return replace(
        node,
        args=map_refs(node.args, fn),
        kwargs=map_refs(dict(node.kwargs), fn),
        inputs=inputs,
        **changes,
    )


def ancestors(graph: ModelGraph, refs: Iterable[TensorRef], stop: frozenset[TensorRef] = frozenset()) -> set[NodeKey]:
    """Every call that ``refs`` depend on, not walking through tensors in ``stop``.

    >>> ancestors(graph, [TensorRef("conv1_conv")])  # doctest: +SKIP
    {('conv1_conv', 0), ('conv1_pad', 0), ('input_layer', 0)}
    """
    seen: set[NodeKey] = set()
    todo = [r.node_key for r in refs if r not in stop]
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        for ref in graph.node(key).inputs:
            source = (ref.layer, ref.node_index)
            if source not in seen and ref not in stop:
                todo.append(source)
    return seen


_SUCCESSORS: dict[int, tuple[ModelGraph, dict[NodeKey, tuple[NodeKey, ...]]]] = {}


def successors(graph: ModelGraph) -> dict[NodeKey, tuple[NodeKey, ...]]:
    """Call -> the calls reading any of its outputs (computed once per graph object)."""
    entry = _SUCCESSORS.get(id(graph))
    if entry is not None and entry[0] is graph:
        return entry[1]
    found: dict[NodeKey, dict[NodeKey, None]] = {}
    for layer in graph.layers:
        for node in layer.nodes:
            key = (node.layer, node.index)
            if key not in found:
                found[key] = {}
            for ref in node.inputs:
                source = (ref.layer, ref.node_index)
                if source in found:
                    found[source][key] = None
                else:
                    found[source] = {key: None}
    result = {key: tuple(value) for key, value in found.items()}
    if len(_SUCCESSORS) > 8:
        _SUCCESSORS.clear()
    _SUCCESSORS[id(graph)] = (graph, result)
    return result


def descendants(graph: ModelGraph, refs: Iterable[TensorRef]) -> set[NodeKey]:
    """Every call that depends on any of ``refs`` (the producers themselves excluded)."""
    following = successors(graph)
    seen: set[NodeKey] = set()
    todo = [key for r in refs for key in graph.consumers(r)]
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        todo.extend(k for k in following.get(key, ()) if k not in seen)
    return seen


def compact(
    graph: ModelGraph,
    layers: Iterable[Layer],
    inputs: Iterable[TensorRef],
    outputs: Iterable[TensorRef],
) -> ModelGraph:
    """A graph from layers whose nodes may have gaps in their indices (calls cut away):
    renumber each layer's calls 0..n-1 in order and rewrite every reference to match.
    Layers without nodes are dropped."""
    kept = [layer for layer in layers if layer.nodes]
    new_index: dict[NodeKey, int] = {}
    for layer in kept:
        for position, node in enumerate(layer.nodes):
            new_index[(layer.name, node.index)] = position
    if all(node.index == position for layer in kept for position, node in enumerate(layer.nodes)):

        def fn(ref: TensorRef) -> TensorRef:
            return ref
    else:

        def fn(ref: TensorRef) -> TensorRef:
            index = new_index[ref.node_key]
            return ref if index == ref.node_index else TensorRef(ref.layer, index, ref.tensor_index)

    result = []
    for layer in kept:
        nodes = tuple(remap_node(node, fn, index=position) for position, node in enumerate(layer.nodes))
        same = all(a is b for a, b in zip(nodes, layer.nodes, strict=True))
        result.append(layer if same else replace(layer, nodes=nodes))
    return replace(
        graph, layers=tuple(result), inputs=tuple(fn(r) for r in inputs), outputs=tuple(fn(r) for r in outputs)
    )


def rewrite(graph: ModelGraph, fn: RefMap, layers: Iterable[Layer] | None = None) -> ModelGraph:
    """Pass every reference of the graph (calls and outputs) through ``fn``."""
    source = graph.layers if layers is None else tuple(layers)
    new_layers = tuple(_remap_layer(layer, fn) for layer in source)
    return replace(
        graph, layers=new_layers, inputs=tuple(fn(r) for r in graph.inputs), outputs=tuple(fn(r) for r in graph.outputs)
    )


def _remap_layer(layer: Layer, fn: RefMap) -> Layer:
    nodes = tuple(remap_node(n, fn) for n in layer.nodes)
    return layer if all(a is b for a, b in zip(nodes, layer.nodes, strict=True)) else replace(layer, nodes=nodes)


def topological_nodes(graph: ModelGraph, subset: set[NodeKey] | None = None) -> list[NodeKey]:
    """Every call (or those in ``subset``), each after the calls it depends on (Kahn's
    algorithm, file order for ties)."""
    following = successors(graph)
    order_keys = [n.key for n in graph.iter_nodes() if subset is None or n.key in subset]
    inside = set(order_keys)
    pending = {key: 0 for key in order_keys}
    for key in order_keys:
        for consumer in following.get(key, ()):
            if consumer in inside:
                pending[consumer] += 1
    ready = [key for key in order_keys if pending[key] == 0]
    ready.reverse()
    result: list[NodeKey] = []
    while ready:
        key = ready.pop()
        result.append(key)
        released = []
        for consumer in following.get(key, ()):
            if consumer not in inside:
                continue
            pending[consumer] -= 1
            if pending[consumer] == 0:
                released.append(consumer)
        ready.extend(reversed(released))
    return result


def deep_names(graph: ModelGraph) -> set[str]:
    """Every layer name at any nesting level."""
    return {path[-1] for path, _ in graph.iter_layers_deep()}


def unique_name(base: str, taken: set[str]) -> str:
    """``base`` if free, else ``base_1``, ``base_2``, ... (Keras' own suffix style)."""
    if base not in taken:
        return base
    counter = 1
    while f"{base}_{counter}" in taken:
        counter += 1
    return f"{base}_{counter}"


def source_of(graph: ModelGraph, ref: TensorRef) -> TensorRef | None:
    """The tensor of the ORIGINAL model that ``ref`` computes: ``origin`` path joined by
    ``/`` (a layer inlined from a nested model) and the original call index; ``None`` for
    tensors of new layers."""
    layer = graph.layer(ref.layer)
    if layer.source_tensor is not None:
        return layer.source_tensor
    if layer.origin is None:
        return None
    node = layer.node(ref.node_index)
    if node.origin_index is None:
        return None
    return TensorRef("/".join(layer.origin), node.origin_index, ref.tensor_index)


def dtype_of(layer: Layer) -> str:
    """The compute dtype a layer's outputs have (``float32`` unless its config says)."""
    dtype = layer.config.get("dtype")
    if isinstance(dtype, dict):
        dtype = (dtype.get("config") or {}).get("name")
    if isinstance(dtype, str) and dtype:
        if dtype.startswith("mixed_"):
            return dtype.removeprefix("mixed_")
        return dtype
    return "float32"
