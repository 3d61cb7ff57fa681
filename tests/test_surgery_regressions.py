"""Regressions found by driving the engine from the GUI and the CLI."""

from __future__ import annotations

import pytest

from resect.core.reader import read_model
from resect.core.surgery.apply import apply_edits
from resect.core.surgery.edits import Cut, LayerSpec, ReplaceHead
from resect.core.surgery.errors import EditError
from resect.core.tensor_ref import TensorRef


def test_cut_at_an_inner_input_layer_starts_at_the_tensor_passed_in(zoo):
    """``seq_block/input_layer`` is the tensor the call of ``seq_block`` receives: ``stem``."""
    graph = read_model(zoo.path("nested"))
    edited = apply_edits(graph, [Cut(inputs=("seq_block/input_layer",))])
    sources = [layer.source_tensor for layer in edited.layers if layer.is_input]
    assert sources == [TensorRef("stem")]
    assert not edited.has_layer("features") and not edited.has_layer("stem")
    assert edited.total_params == graph.total_params - graph.layer("stem").params


def test_cut_at_one_call_of_a_model_called_twice_names_the_other_call(zoo):
    graph = read_model(zoo.path("nested"))
    with pytest.raises(EditError, match=r"edit 0 \(cut\): .*func_block:1:0 also feeds merge"):
        apply_edits(graph, [Cut(inputs=("func_block/inner_in",))])


def test_new_layer_with_a_malformed_config_is_a_one_line_edit_error(zoo):
    graph = read_model(zoo.path("small_resnet"))
    head = ReplaceHead(at="avg_pool", layers=(LayerSpec("Dense", {"units": "many"}),))
    with pytest.raises(EditError, match=r"^edit 0 \(replace_head\): new Dense layer has an invalid config"):
        apply_edits(graph, [head])
