"""The ``cut`` and ``add_outputs`` edits.

A cut keeps the calls on paths from its input tensors to its output tensors. Each cut
input that is not already a model input becomes a new ``InputLayer`` whose
``source_tensor`` is the original tensor it stands for (the backend feeds the original
activation there when verifying). Calls of shared layers are kept one by one and
renumbered from 0, keeping ``origin_index``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from resect.core.analysis.cutpoints import CutRegion, cut_region
from resect.core.graph import Layer, ModelGraph, Node
from resect.core.surgery.building import infer_shape
from resect.core.surgery.errors import EditError
from resect.core.surgery.graph_ops import compact, dtype_of, remap_node, source_of, unique_name
from resect.core.surgery.inline import resolve_tensor_mapped
from resect.core.tensor_ref import TensorRef


def resolve_all(graph: ModelGraph, texts: Sequence[str | TensorRef]) -> tuple[ModelGraph, list[TensorRef]]:
    """Resolve tensor names in order, inlining nested models where a name points inside
    one; tensors resolved before an inlining are carried over to the inlined graph."""
    refs: list[TensorRef] = []
    for text in texts:
        ref = text if isinstance(text, TensorRef) else TensorRef.parse(str(text))
        graph, ref, translate = resolve_tensor_mapped(graph, _inlined_name(graph, ref))
        refs = [translate(r) for r in refs] + [ref]
    return graph, refs


def _inlined_name(graph: ModelGraph, ref: TensorRef) -> TensorRef:
    """An ``outer/inner`` tensor whose model an earlier name already inlined: the
    top-level layer that inner layer became (found by its origin path)."""
    if "/" not in ref.layer or graph.has_layer(ref.layer) or graph.has_layer(ref.layer.split("/", 1)[0]):
        return ref
    path = tuple(ref.layer.split("/"))
    for layer in graph.layers:
        if layer.origin == path:
            return TensorRef(layer.name, ref.node_index, ref.tensor_index)
    return ref


def _is_input(graph: ModelGraph, ref: TensorRef) -> bool:
    return graph.layer(ref.layer).is_input


def _describe_crossing(region: CutRegion) -> str:
    parts = []
    for ref in region.crossing:
        readers = region.readers[ref]
        parts.append(f"{ref} also feeds {', '.join(readers)}")
    return "; ".join(parts)


def new_input_layer(graph: ModelGraph, ref: TensorRef, taken: set[str]) -> Layer:
    """An InputLayer standing for tensor ``ref`` of ``graph`` (shape and dtype from it)."""
    # named after the tensor it carries (issue 13): "<layer>_input" read as that layer's input
    base = (
        f"from_{ref.layer}"
        if (ref.node_index, ref.tensor_index) == (0, 0)
        else f"from_{ref.layer}_{ref.node_index}_{ref.tensor_index}"
    )
    name = unique_name(base, taken)
    taken.add(name)
    shape = infer_shape(graph, ref)
    config = {
        "name": name,
        "batch_shape": list(shape) if shape is not None else None,
        "dtype": dtype_of(graph.layer(ref.layer)),
        "sparse": False,
    }
    node = Node(name, 0, (), {}, (), (), (shape,), origin_index=None)
    return Layer(
        name=name,
        class_name="InputLayer",
        config=config,
        trainable=True,
        module="keras.layers",
        registered_name=None,
        nodes=(node,),
        origin=None,
        source_tensor=source_of(graph, ref),
    )


def cut(
    graph: ModelGraph,
    inputs: Sequence[str | TensorRef] = (),
    outputs: Sequence[str | TensorRef] = (),
    complete: bool = False,
) -> ModelGraph:
    """Keep what lies between ``inputs`` (default: model inputs) and ``outputs`` (default:
    model outputs); crossing tensors fail the cut, or become extra inputs with ``complete``."""
    graph, refs = resolve_all(graph, list(inputs) + list(outputs))
    in_refs = list(dict.fromkeys(refs[: len(inputs)])) or list(graph.inputs)
    out_refs = list(dict.fromkeys(refs[len(inputs) :])) or list(graph.outputs)
    explicit = bool(inputs)
    region = cut_region(graph, in_refs, out_refs)
    if region.unreached_outputs:
        names = ", ".join(str(r) for r in region.unreached_outputs)
        raise EditError(f"output {names} does not depend on the cut inputs")
    if explicit and region.unused_inputs:
        names = ", ".join(str(r) for r in region.unused_inputs)
        raise EditError(f"cut input {names} does not lead to any cut output")
    if region.crossing and not complete:
        raise EditError(f"cut inputs do not separate the graph: {_describe_crossing(region)}")
    boundary = [r for r in in_refs if r not in region.unused_inputs] + list(region.crossing)
    taken = {layer.name for layer in graph.layers}
    replacement: dict[TensorRef, TensorRef] = {}
    new_inputs: list[Layer] = []
    kept_inputs: set[str] = set()
    for ref in boundary:
        if _is_input(graph, ref):
            kept_inputs.add(ref.layer)
            continue
        layer = new_input_layer(graph, ref, taken)
        new_inputs.append(layer)
        replacement[ref] = TensorRef(layer.name)

    def fn(ref: TensorRef) -> TensorRef:
        return replacement.get(ref, ref)

    layers: list[Layer] = list(new_inputs)
    for layer in graph.layers:
        if layer.name in kept_inputs:
            layers.append(layer)
            continue
        nodes = tuple(remap_node(n, fn) for n in layer.nodes if n.key in region.kept)
        if len(nodes) == len(layer.nodes) and all(a is b for a, b in zip(nodes, layer.nodes, strict=True)):
            layers.append(layer)
        elif nodes:
            layers.append(replace(layer, nodes=nodes))
    new_in = [fn(r) for r in boundary]
    return compact(graph, layers, new_in, [fn(r) for r in out_refs])


def add_outputs(graph: ModelGraph, tensors: Sequence[str | TensorRef]) -> ModelGraph:
    """The same graph with extra output tensors (duplicates of existing outputs ignored)."""
    graph, refs = resolve_all(graph, list(tensors))
    outputs = list(graph.outputs)
    for ref in refs:
        if ref not in outputs:
            outputs.append(ref)
    return replace(graph, outputs=tuple(outputs))
