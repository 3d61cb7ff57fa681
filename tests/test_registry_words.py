"""The registry's tensor entries say which side of a layer they act on (issue 13 on top of the
op registry of issue 14): on a layer, "Start model at this layer's input" keeps the clicked
call and "at its output" drops it; an edge keeps the one word "Start model here". A shared
layer's later call (box key ``tower_dense:1``) acts on that call, not on the first."""

from __future__ import annotations

from dataclasses import replace

from resect.core.reader import read_model
from resect.core.surgery.apply import apply_edit
from resect.core.surgery.edits import Cut, SetTrainable
from resect.core.surgery.registry import MenuContext, menu_entries
from resect.core.tensor_ref import TensorRef


def offered(ctx: MenuContext) -> dict[str, object]:
    return {e.label: e for e in menu_entries("tensor") if e.when is None or e.when(ctx)}


def test_words_on_a_shared_layers_second_call(zoo):
    graph = read_model(zoo.path("siamese", "keras"))
    call = graph.layer("tower_dense").nodes[1]
    ctx = MenuContext(graph, tensor="tower_dense:1", layer="tower_dense", layer_inputs=tuple(map(str, call.inputs)))
    entries = offered(ctx)
    assert "Start model here" not in entries
    assert "Freeze this and everything before it" in entries and "Freeze everything below" not in entries
    keep = entries["Start model at this layer's input"].make(ctx)
    assert keep == Cut(inputs=(str(call.inputs[0]),)) and call.inputs[0].node_index == 1
    # the first call still feeds ``difference``: completed as a multi-input cut (the GUI asks)
    edited = apply_edit(graph, replace(keep, complete=True))
    assert edited.has_layer("tower_dense")  # the clicked layer stays
    new_inputs = [ref for ref in edited.inputs if ref.layer.startswith("from_tower_pool")]
    assert len(new_inputs) == 1 and edited.shape(new_inputs[0]) == graph.shape(call.inputs[0])
    drop = entries["Start model at its output"].make(ctx)
    assert drop == Cut(inputs=("tower_dense:1",))
    assert entries["Freeze this and everything before it"].make(ctx) == SetTrainable(False, below="tower_dense:1")


def test_an_edge_keeps_start_model_here(zoo):
    graph = read_model(zoo.path("siamese", "keras"))
    ctx = MenuContext(graph, tensor=str(TensorRef("difference")))
    entries = offered(ctx)
    assert "Start model here" in entries
    assert "Start model at its output" not in entries and "Start model at this layer's input" not in entries
    # an input layer reads nothing: no "at this layer's input" on it
    assert "Start model at this layer's input" not in offered(MenuContext(graph, tensor="left", layer_inputs=()))
