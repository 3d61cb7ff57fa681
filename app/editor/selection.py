"""Picked canvas boxes -> layer names -> the cut that extracts them (pure Python, no Qt).

A pick is a set of canvas keys: layers, or collapsed blocks standing for their layers.
Extracting it as a model is a ``Cut`` whose inputs are the tensors the picked calls read
from outside the pick and whose outputs are the tensors they produce for the outside
(or the model outputs among them). The engine then reports any skip tensor that
crosses that boundary, which the editor offers to complete.

>>> boundary(graph, {"conv2_block2_1_conv", "conv2_block2_1_bn"})  # doctest: +SKIP
((TensorRef('conv2_block1_out'),), (TensorRef('conv2_block2_1_bn'),))
"""

from __future__ import annotations

from collections.abc import Iterable

from resect.core.graph import ModelGraph
from resect.core.layout.visible import layer_of_box
from resect.core.tensor_ref import TensorRef


def picked_layers(keys: Iterable[str], owners: dict[str, tuple[str, ...]]) -> list[str]:
    """Top-level layer names drawn by ``keys`` (a collapsed block key expands to its
    layers; ``outer/inner`` keys of an expanded nested model stand for ``outer``)."""
    names: dict[str, None] = {}
    for key in keys:
        for layer in owners.get(key, (key,)):
            names[layer_of_box(layer).split("/", 1)[0]] = None  # a call box stands for its layer
    return list(names)


def boundary(graph: ModelGraph, layers: Iterable[str]) -> tuple[tuple[TensorRef, ...], tuple[TensorRef, ...]]:
    """(inputs, outputs) of the picked layers' calls, in graph order."""
    picked = {name for name in layers if graph.has_layer(name)}
    inputs: dict[TensorRef, None] = {}
    outputs: dict[TensorRef, None] = {}
    model_outputs = set(graph.outputs)
    for layer in graph.layers:
        if layer.name not in picked:
            continue
        for node in layer.nodes:
            if layer.is_input:
                continue
            for ref in node.inputs:
                if ref.layer not in picked or graph.layer(ref.layer).is_input:
                    inputs[ref] = None
            for ref in node.outputs:
                readers = graph.consumers(ref)
                if ref in model_outputs or any(reader not in picked for reader, _ in readers):
                    outputs[ref] = None
    if not outputs:  # a pick whose results are all consumed inside: its last call's outputs
        last = [layer for layer in graph.layers if layer.name in picked and layer.nodes]
        if last:
            outputs.update(dict.fromkeys(last[-1].nodes[-1].outputs))
    return tuple(inputs), tuple(outputs)


def output_tensors(graph: ModelGraph, layers: Iterable[str]) -> tuple[TensorRef, ...]:
    """The first output of each picked layer (for "Use picked layers as outputs")."""
    refs = [TensorRef(name) for name in layers if graph.has_layer(name) and graph.layer(name).nodes]
    return tuple(refs)
