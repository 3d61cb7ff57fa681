"""Inline a nested model: its inner layers become top-level layers, one call per outer call.

Needed when an edit names a tensor inside a nested model (a cut that ends inside it, an
extra output there): Keras cannot expose such a tensor without unpacking the model.

Provenance of an inlined layer: ``origin`` is the inner layer's path (the reader already
sets it, e.g. ``("func_block", "inner_dense")``); its calls are numbered outer-call-major,
``index = outer_call * len(inner_calls) + inner_call``, and ``origin_index`` uses the same
formula with the ORIGINAL outer call index. So for the usual inner layer (called once
inside its model) ``origin_index`` is simply the call of the nested model it belongs to.

Naming rule: an inner layer keeps its name unless another layer of the resulting graph
(at any depth) already uses it; then it becomes ``<nested model>_<inner name>``
(with ``_1``, ``_2``... if that is taken too), and ``config["name"]`` follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from resect.core.graph import Layer, ModelGraph, Node
from resect.core.surgery.errors import EditError
from resect.core.surgery.graph_ops import deep_names, map_refs, rewrite, unique_name
from resect.core.tensor_ref import TensorRef


def inline_nested(graph: ModelGraph, name: str) -> tuple[ModelGraph, dict[str, str]]:
    """Inline the nested model ``name``; returns the new graph and inner -> new layer names."""
    inlined, names, _ = _inline(graph, name)
    return inlined, names


def _inline(graph: ModelGraph, name: str) -> tuple[ModelGraph, dict[str, str], Callable[[TensorRef], TensorRef]]:
    """``inline_nested`` plus the map from tensors of the old graph to the new one."""
    outer = graph.layer(name)
    sub = outer.subgraph
    if sub is None:
        raise EditError(f"layer {name!r} is not a nested model")
    inner_inputs = set(sub.inputs)
    input_layers = {r.layer for r in sub.inputs}
    taken = deep_names(graph.with_layers(tuple(layer for layer in graph.layers if layer.name != name)))
    names: dict[str, str] = {}
    for layer in sub.layers:
        if layer.name in input_layers:
            continue
        new = layer.name if layer.name not in taken else unique_name(f"{name}_{layer.name}", taken)
        names[layer.name] = new
        taken.add(new)
    calls: list[dict[TensorRef, TensorRef]] = []
    for node in outer.nodes:
        if len(node.inputs) != len(sub.inputs):
            raise EditError(
                f"cannot inline {name!r}: call {node.index} passes {len(node.inputs)} tensor(s) "
                f"but the model has {len(sub.inputs)} input(s)"
            )
        calls.append(dict(zip(sub.inputs, node.inputs, strict=True)))
    counts = {layer.name: len(layer.nodes) for layer in sub.layers}

    def inner_ref(ref: TensorRef, call: int) -> TensorRef:
        if ref in inner_inputs:
            return calls[call][ref]
        return TensorRef(names[ref.layer], call * counts[ref.layer] + ref.node_index, ref.tensor_index)

    inlined: list[Layer] = []
    for layer in sub.layers:
        if layer.name in input_layers:
            continue
        nodes: list[Node] = []
        for call, outer_node in enumerate(outer.nodes):
            for inner in layer.nodes:

                def fn(ref: TensorRef, call: int = call) -> TensorRef:
                    return inner_ref(ref, call)

                origin_index = None
                if outer_node.origin_index is not None and inner.origin_index is not None:
                    origin_index = outer_node.origin_index * len(layer.nodes) + inner.origin_index
                nodes.append(
                    replace(
                        inner,
                        layer=names[layer.name],
                        index=len(nodes),
                        args=map_refs(inner.args, fn),
                        kwargs=map_refs(dict(inner.kwargs), fn),
                        inputs=tuple(fn(r) for r in inner.inputs),
                        origin_index=origin_index,
                    )
                )
        config = dict(layer.config)
        if names[layer.name] != layer.name:
            config["name"] = names[layer.name]
        inlined.append(replace(layer, name=names[layer.name], config=config, nodes=tuple(nodes)))

    def outer_ref(ref: TensorRef) -> TensorRef:
        if ref.layer != name:
            return ref
        return inner_ref(sub.outputs[ref.tensor_index], ref.node_index)

    layers: list[Layer] = []
    for layer in graph.layers:
        layers.extend(inlined if layer.name == name else (layer,))
    return rewrite(graph, outer_ref, layers), names, outer_ref


def find_inner(graph: ModelGraph, layer_text: str) -> list[tuple[str, ...]]:
    """Paths (nested model names first) of layers inside nested models that match
    ``layer_text``: a bare inner name, or a ``/``-joined path like ``func_block/inner_dense``."""
    wanted = tuple(layer_text.split("/"))
    found = []
    for path, _layer in graph.iter_layers_deep():
        if len(path) < 2:
            continue
        if path == wanted or (len(wanted) == 1 and path[-1] == wanted[0]):
            found.append(path)
    return found


def resolve_tensor(graph: ModelGraph, text: str | TensorRef) -> tuple[ModelGraph, TensorRef]:
    """Find a tensor by name; a tensor inside a nested model inlines that model (and any
    model around it) first. Returns the possibly inlined graph and the tensor there."""
    graph, ref, _ = resolve_tensor_mapped(graph, text)
    return graph, ref


def resolve_tensor_mapped(
    graph: ModelGraph, text: str | TensorRef
) -> tuple[ModelGraph, TensorRef, Callable[[TensorRef], TensorRef]]:
    """``resolve_tensor`` plus the map that carries tensors of the old graph over to the
    returned one (a tensor of an inlined model becomes the inner tensor it was)."""
    ref = TensorRef.parse(text) if isinstance(text, str) else text
    if graph.has_layer(ref.layer):
        return graph, graph.resolve(ref), _identity
    paths = find_inner(graph, ref.layer)
    if not paths:
        graph.layer(ref.layer)  # raises the usual "no layer named ..." error
    if len(paths) > 1:
        options = ", ".join("/".join(p) for p in paths)
        raise EditError(f"layer name {ref.layer!r} is ambiguous inside nested models ({options}); use the path")
    path = paths[0]
    current = graph
    top = path[0]
    maps: list[Callable[[TensorRef], TensorRef]] = []
    found: TensorRef | None = None
    for depth in range(1, len(path)):
        fed = _fed_input(current, top, path[depth], ref.node_index)
        if fed is not None:  # an inner model input is the tensor the call passes in
            found = fed
            break
        current, names, mapping = _inline(current, top)
        maps.append(mapping)
        top = names[path[depth]]

    def translate(old: TensorRef) -> TensorRef:
        for mapping in maps:
            old = mapping(old)
        return old

    if found is None:
        found = current.resolve(TensorRef(top, ref.node_index, ref.tensor_index))
    return current, found, translate


def _fed_input(graph: ModelGraph, model: str, inner: str, call: int) -> TensorRef | None:
    """If ``inner`` is an input layer of the nested ``model``, the outer tensor that call
    ``call`` of the model passes to it (so no inlining is needed to name it)."""
    outer = graph.layer(model)
    sub = outer.subgraph
    positions = [i for i, r in enumerate(sub.inputs) if r.layer == inner] if sub is not None else []
    if not positions:
        return None
    node = outer.node(call)
    if len(node.inputs) != len(sub.inputs):
        raise EditError(f"call {call} of {model!r} passes {len(node.inputs)} tensor(s) for {len(sub.inputs)} input(s)")
    return node.inputs[positions[0]]


def _identity(ref: TensorRef) -> TensorRef:
    return ref
