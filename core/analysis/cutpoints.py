"""Where a model can be cut: single-tensor cut points and the tensors that cross a cut.

A *single-tensor cut point* is a tensor every path from the model inputs to the model
outputs passes through (a dominator of the outputs): the block outputs of a ResNet
(``conv2_block1_out``), never a tensor inside a branch, because its skip connection
would bypass it. A cut whose inputs are not such tensors leaves *crossing* tensors:
tensors that kept layers read but that do not depend on the cut inputs.

>>> [str(t) for t in single_tensor_cut_points(resnet)][:3]  # doctest: +SKIP
['input_layer:0:0', 'conv1_pad:0:0', 'conv1_conv:0:0']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from resect.core.graph import ModelGraph
from resect.core.perf import paused_gc
from resect.core.surgery.graph_ops import NodeKey, ancestors, descendants, topological_nodes
from resect.core.tensor_ref import TensorRef


@dataclass(frozen=True)
class CutRegion:
    """What a cut between ``inputs`` and ``outputs`` keeps, and what goes wrong.

    ``kept``: the calls between the cut inputs and outputs (the producers of the cut
    inputs excluded); ``crossing``: tensors kept calls read that do not depend on the
    cut inputs (a skip connection, an earlier call of a shared layer), each with the
    layers reading it; ``unused_inputs``: cut inputs no output depends on;
    ``unreached_outputs``: outputs that do not depend on any cut input.
    """

    kept: frozenset[NodeKey]
    inputs: tuple[TensorRef, ...]
    outputs: tuple[TensorRef, ...]
    crossing: tuple[TensorRef, ...] = ()
    readers: dict[TensorRef, tuple[str, ...]] = field(default_factory=dict)
    unused_inputs: tuple[TensorRef, ...] = ()
    unreached_outputs: tuple[TensorRef, ...] = ()


def cut_region(graph: ModelGraph, inputs: Sequence[TensorRef], outputs: Sequence[TensorRef]) -> CutRegion:
    """The calls on paths from ``inputs`` to ``outputs``, plus the crossing tensors."""
    stop = frozenset(inputs)
    upstream = ancestors(graph, outputs, stop)
    downstream = descendants(graph, inputs)
    kept = upstream & downstream
    crossing: dict[TensorRef, list[str]] = {}
    used: set[TensorRef] = set(r for r in outputs if r in stop)
    for node in graph.iter_nodes():
        if node.key not in kept:
            continue
        for ref in node.inputs:
            if ref in stop:
                used.add(ref)
            elif ref.node_key not in kept:
                readers = crossing.setdefault(ref, [])
                if node.layer not in readers:
                    readers.append(node.layer)
    unreached = tuple(r for r in outputs if r not in stop and r.node_key not in kept)
    return CutRegion(
        kept=frozenset(kept),
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        crossing=tuple(crossing),
        readers={ref: tuple(names) for ref, names in crossing.items()},
        unused_inputs=tuple(r for r in inputs if r not in used),
        unreached_outputs=unreached,
    )


def crossing_tensors(
    graph: ModelGraph, inputs: Iterable[TensorRef | str], outputs: Iterable[TensorRef | str] | None = None
) -> list[TensorRef]:
    """Tensors a cut from ``inputs`` to ``outputs`` (default: the model outputs) would
    have to add as extra inputs; empty when the inputs separate the graph."""
    ins = [graph.resolve(r) for r in inputs]
    outs = [graph.resolve(r) for r in outputs] if outputs is not None else list(graph.outputs)
    return list(cut_region(graph, ins, outs).crossing)


def single_tensor_cut_points(graph: ModelGraph) -> list[TensorRef]:
    """Tensors every path from the model inputs to the model outputs passes through,
    in topological order (the model's own input and output included when they qualify).

    Sweep over the tensors in topological order: tensor ``t`` is a cut point when every
    dependency edge open across its position starts at ``t`` itself (edges from a
    virtual source to each input and from each output to a virtual sink included).
    """
    with paused_gc():
        return _single_tensor_cut_points(graph)


def _single_tensor_cut_points(graph: ModelGraph) -> list[TensorRef]:
    relevant = ancestors(graph, graph.outputs) & (descendants(graph, graph.inputs) | {r.node_key for r in graph.inputs})
    order: list[TensorRef] = []
    for key in topological_nodes(graph):
        if key in relevant:
            order.extend(graph.node(key).outputs)
    position = {ref: i for i, ref in enumerate(order)}
    size = len(order)
    delta = [0] * (size + 2)  # index i+1 holds changes at boundary after position i; 0 is the source
    out_degree = [0] * size

    def edge(start: int, end: int) -> None:  # open across boundaries start .. end-1 (start may be -1)
        delta[start + 1] += 1
        delta[end + 1] -= 1

    for ref in graph.inputs:
        if ref in position:
            edge(-1, position[ref])
    for key in relevant:
        node = graph.node(key)
        targets = [position[o] for o in node.outputs if o in position]
        for ref in dict.fromkeys(node.inputs):
            if ref not in position:
                continue
            start = position[ref]
            for end in targets:
                edge(start, end)
                out_degree[start] += 1
    for ref in dict.fromkeys(graph.outputs):
        if ref in position:
            edge(position[ref], size)
            out_degree[position[ref]] += 1
    result = []
    open_edges = delta[0]
    for i, ref in enumerate(order):
        open_edges += delta[i + 1]
        if open_edges == out_degree[i] and out_degree[i] > 0:
            result.append(ref)
    return result
