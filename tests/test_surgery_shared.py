"""Shared layers (Siamese) and nested models: cuts at later calls and inside nested models."""

from __future__ import annotations

import pytest

from resect.core.reader import read_model
from resect.core.surgery.apply import EditError, apply_edits
from resect.core.surgery.edits import AddOutputs, Cut, DeleteLayer, Rename, SetTrainable
from resect.core.surgery.inline import inline_nested
from resect.core.surgery.preview import preview
from resect.core.tensor_ref import TensorRef


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


@pytest.mark.parametrize("fmt", ["keras", "tf2.h5"])
def test_siamese_cut_at_second_call_needs_the_first(zoo, fmt):
    graph = read_model(zoo.path("siamese", fmt))
    with pytest.raises(EditError, match=r"tower_dense:0:0 also feeds difference"):
        apply_edits(graph, [Cut(inputs=("tower_conv:1",))])


@pytest.mark.parametrize("fmt", ["keras", "tf2.h5"])
def test_siamese_cut_at_second_call_completed(zoo, keras, fmt):
    graph = read_model(zoo.path("siamese", fmt))
    model = keras.models.load_model(zoo.path("siamese", "keras"))
    edited = apply_edits(graph, [Cut(inputs=("tower_conv:1",), complete=True)])
    p = preview(graph, edited)
    assert [i.source for i in p.inputs] == [TensorRef("tower_conv", 1), TensorRef("tower_dense", 0)]
    # the shared tower keeps only its second call, renumbered 0, origin 1
    for name in ("tower_pool", "tower_dense"):
        assert [(n.index, n.origin_index) for n in edited.layer(name).nodes] == [(0, 1)]
    assert not edited.has_layer("tower_conv")
    # keras.Model on these intermediate tensors fails in Keras 3.15 ("not connected"): sum Keras' own layers
    assert p.total_params == sum(model.get_layer(n).count_params() for n in ("tower_dense", "score"))


def test_siamese_both_calls_as_inputs(zoo, keras):
    graph = read_model(zoo.path("siamese"))
    model = keras.models.load_model(zoo.path("siamese"))
    edited = apply_edits(graph, [Cut(inputs=("tower_pool:0", "tower_pool:1"))])
    p = preview(graph, edited)
    assert [i.source for i in p.inputs] == [TensorRef("tower_pool", 0), TensorRef("tower_pool", 1)]
    assert [i.shape for i in p.inputs] == [(None, 8), (None, 8)]
    dense = edited.layer("tower_dense")
    assert [(n.index, n.origin_index) for n in dense.nodes] == [(0, 0), (1, 1)]
    assert [n.inputs for n in dense.nodes] == [(p.inputs[0].ref,), (p.inputs[1].ref,)]
    # the shared Dense counts once
    assert p.total_params == sum(model.get_layer(n).count_params() for n in ("tower_dense", "score"))


def test_siamese_end_at_first_call_drops_the_other_input(zoo):
    graph = read_model(zoo.path("siamese"))
    edited = apply_edits(graph, [Cut(outputs=("tower_dense:0",))])
    assert edited.inputs == (TensorRef("left"),)
    assert preview(graph, edited).total_params == 224 + 144


@pytest.mark.parametrize("fmt", ["keras", "tf2.h5"])
def test_nested_end_inside_the_nested_model(zoo, keras, fmt):
    graph = read_model(zoo.path("nested", fmt))
    model = keras.models.load_model(zoo.path("nested", "keras"))
    edited = apply_edits(graph, [Cut(outputs=("inner_dense",))])
    p = preview(graph, edited)
    layer = edited.layer("inner_dense")
    assert layer.origin == ("func_block", "inner_dense")
    assert [n.origin_index for n in layer.nodes] == [0]
    assert layer.nodes[0].inputs == (TensorRef("seq_block"),)
    assert [o.ref for o in p.outputs] == [TensorRef("inner_dense")]
    expected = sum(model.get_layer(n).count_params() for n in ("stem", "seq_block"))
    expected += model.get_layer("func_block").get_layer("inner_dense").count_params()
    assert p.total_params == expected
    assert "func_block/inner_skip" in p.removed and "side" in p.removed


def test_nested_second_call_by_path(zoo, keras):
    graph = read_model(zoo.path("nested"))
    model = keras.models.load_model(zoo.path("nested"))
    edited = apply_edits(graph, [Cut(outputs=("func_block/inner_add:1",))])
    assert {lay.name for lay in edited.layers} == {"features", "stem", "side", "inner_skip", "inner_dense", "inner_add"}
    for name in ("inner_skip", "inner_dense", "inner_add"):
        assert [n.origin_index for n in edited.layer(name).nodes] == [1]
    assert edited.layer("inner_dense").nodes[0].inputs == (TensorRef("side"),)
    expected = model.get_layer("stem").count_params() + model.get_layer("side").count_params()
    expected += model.get_layer("func_block").count_params()
    assert preview(graph, edited).total_params == expected


def test_nested_inlined_model_called_twice_counts_once(zoo, keras):
    graph = read_model(zoo.path("nested"))
    model = keras.models.load_model(zoo.path("nested"))
    edited = apply_edits(graph, [AddOutputs(("inner_dense:1",))])
    assert len(edited.layer("inner_dense").nodes) == 2
    assert not edited.has_layer("func_block")
    # the inlined graph computes the same outputs from the same weights
    assert preview(graph, edited).total_params == model.count_params()
    assert edited.outputs == (TensorRef("classes"), TensorRef("inner_dense", 1))
    assert edited.layer("merge").nodes[0].inputs == (TensorRef("inner_add", 0), TensorRef("inner_add", 1))


def test_nested_freeze_follows_inner_layers(zoo):
    graph = read_model(zoo.path("nested"))
    edited = apply_edits(graph, [SetTrainable(False, layers=("seq_block",))])
    block = edited.layer("seq_block")
    assert block.trainable is False and all(not lay.trainable for lay in block.subgraph.layers if not lay.is_input)
    assert block.trainable_params == 0
    assert preview(graph, edited).non_trainable_params == graph.non_trainable_params + 204 + 24


def test_inline_name_clash_rule(zoo):
    graph = read_model(zoo.path("nested"))
    # a top-level layer called like an inner one: the inner layer gets the model's prefix
    clashing = apply_edits(graph, [Rename("side", "inner_dense")])
    inlined, names = inline_nested(clashing, "func_block")
    assert names["inner_dense"] == "func_block_inner_dense"
    assert inlined.layer("func_block_inner_dense").config["name"] == "func_block_inner_dense"
    assert inlined.layer("func_block_inner_dense").origin == ("func_block", "inner_dense")


def _shared_recurrence(keras, tmp_path):
    """``d`` is called twice; its second call reads an Add of its first call and a side branch."""
    L = keras.layers
    inp = keras.Input((6,), name="x")
    d = L.Dense(6, name="d")
    side = L.Dense(6, name="side")(inp)
    joined = L.Add(name="join")([d(inp), side])
    out = L.Dense(2, name="out")(d(joined))
    model = keras.Model(inp, out)
    path = tmp_path / "shared.keras"
    model.save(path)
    return model, read_model(path)


def test_later_call_of_shared_layer_needing_an_earlier_one_crosses(keras, tmp_path):
    model, graph = _shared_recurrence(keras, tmp_path)
    with pytest.raises(EditError, match=r"cut inputs do not separate the graph: d:0:0 also feeds join"):
        apply_edits(graph, [Cut(inputs=("side",))])
    edited = apply_edits(graph, [Cut(inputs=("side",), complete=True)])
    assert [lay.source_tensor for lay in edited.layers if lay.is_input] == [TensorRef("side"), TensorRef("d", 0)]
    assert [(n.index, n.origin_index) for n in edited.layer("d").nodes] == [(0, 1)]
    assert edited.layer("d").nodes[0].inputs == (TensorRef("join"),)
    expected = sum(model.get_layer(n).count_params() for n in ("d", "out"))
    assert preview(graph, edited).total_params == expected


def test_tensors_of_a_model_and_inside_it_in_one_edit(zoo):
    graph = read_model(zoo.path("nested"))
    # "func_block:1" is resolved before "inner_dense" inlines func_block: it is carried over
    edited = apply_edits(graph, [Cut(outputs=("func_block:1", "inner_dense"))])
    assert edited.outputs == (TensorRef("inner_add", 0), TensorRef("inner_dense", 0))
    assert [n.origin_index for n in edited.layer("inner_add").nodes] == [1]
    assert [n.origin_index for n in edited.layer("inner_dense").nodes] == [0, 1]


def test_freeze_one_layer_inside_a_nested_model(zoo, keras):
    graph = read_model(zoo.path("nested"))
    model = keras.models.load_model(zoo.path("nested"))
    edited = apply_edits(graph, [SetTrainable(False, layers=("func_block/inner_skip",))])
    block = edited.layer("func_block")
    assert block.subgraph.layer("inner_skip").trainable is False
    assert block.trainable is True and block.trainable_params == 104
    model.get_layer("func_block").get_layer("inner_skip").trainable = False
    p = preview(graph, edited)
    assert p.trainable_params == sum(int(w.numpy().size) for w in model.trainable_weights)
    assert p.non_trainable_params == sum(int(w.numpy().size) for w in model.non_trainable_weights)


def test_delete_and_rename_inside_a_nested_model_inline_it(zoo):
    graph = read_model(zoo.path("nested"))
    edited = apply_edits(graph, [Rename("seq_bn", "block_norm")])
    assert edited.layer("block_norm").origin == ("seq_block", "seq_bn")
    assert not edited.has_layer("seq_block") and edited.has_layer("seq_dense")
    deleted = apply_edits(graph, [DeleteLayer("seq_bn")])
    assert not deleted.has_layer("seq_bn")
    assert deleted.layer("func_block").nodes[0].inputs == (TensorRef("seq_dense"),)
    assert preview(graph, deleted).total_params == graph.total_params - 48
