"""The ``bypass`` edit (remove a stretch from the middle), checked against Keras' own answer.

Each export is compared with the same model built directly in Keras without the bypassed
stretch (fresh layer objects, weights copied by layer name): equal ``count_params()``
and equal activations on random input. The preview's parameter delta (pure Python) must
equal Keras' difference too.
"""

from __future__ import annotations

import numpy as np
import pytest

from resect.core.analysis.blocks import find_blocks
from resect.core.keras_backend.pipeline import run_apply
from resect.core.reader import read_model
from resect.core.surgery.apply import EditError, apply_edits
from resect.core.surgery.dropping import edit_for_removing, edit_for_stretch
from resect.core.surgery.edits import Bypass, Cut
from resect.core.surgery.preview import preview
from resect.core.surgery.recipe import parse_recipe
from resect.core.tensor_ref import TensorRef


@pytest.fixture(scope="module")
def k():
    from resect.core.keras_backend.runtime import import_keras

    keras = import_keras()
    keras.utils.set_random_seed(5)
    return keras


def export(tmp_path, original, edits, name="m"):
    """Save ``original``, apply ``edits`` with the real pipeline, return (graphs, reloaded model)."""
    import keras

    source = tmp_path / f"{name}.keras"
    original.save(source)
    graph = read_model(source)
    edited = apply_edits(graph, edits)
    result = run_apply(source, edits, tmp_path / f"{name}_edited.keras", verify=True)
    assert result.verify.max_abs_diff <= 1e-4, result.verify  # what the bypass keeps computes as before
    return graph, edited, keras.models.load_model(tmp_path / f"{name}_edited.keras", compile=False)


def copy_weights(source, target, rename=lambda name: name) -> None:
    """Give every weighted layer of ``target`` the weights of ``source``'s layer ``rename(name)``."""
    for layer in target.layers:
        if layer.weights:
            layer.set_weights(source.get_layer(rename(layer.name)).get_weights())


def assert_same(got, expected, *shapes) -> None:
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((2, *shape)).astype("float32") for shape in shapes]
    xs = xs[0] if len(xs) == 1 else xs
    assert got.count_params() == expected.count_params()
    diff = np.max(np.abs(np.asarray(got(xs)) - np.asarray(expected(xs))))
    assert diff <= 1e-4, diff


# --- recipe and registry ---------------------------------------------------------------------


def test_recipe_round_trip_and_errors():
    (edit,) = parse_recipe([{"op": "bypass", "from": "conv3_block1_out", "to": "conv3_block3_out"}])
    assert edit == Bypass("conv3_block1_out", "conv3_block3_out")
    assert edit.to_json() == {"op": "bypass", "from": "conv3_block1_out", "to": "conv3_block3_out"}
    assert edit.describe() == "Bypass conv3_block1_out -> conv3_block3_out"
    with pytest.raises(Exception, match=r"edit 0 \(bypass\): missing 'to'"):
        parse_recipe([{"op": "bypass", "from": "a"}])


# --- ResNet50: blocks 2-3 of stage 4 ---------------------------------------------------------


def test_resnet50_blocks_2_3_of_stage_4(k, tmp_path):
    from keras.src.applications import resnet

    original = k.applications.ResNet50(weights=None)
    edit = Bypass("conv4_block1_out", "conv4_block3_out")
    graph, edited, got = export(tmp_path, original, [edit], "resnet50")
    gone = {layer.name for layer in graph.layers} - {layer.name for layer in edited.layers}
    assert gone == {
        layer.name for layer in original.layers if layer.name.startswith(("conv4_block2_", "conv4_block3_"))
    }

    def stack_fn(x):  # ResNet50 with 4 blocks in stage 4 (Keras names them block1-4)
        x = resnet.stack_residual_blocks_v1(x, 64, 3, stride1=1, name="conv2")
        x = resnet.stack_residual_blocks_v1(x, 128, 4, name="conv3")
        x = resnet.stack_residual_blocks_v1(x, 256, 4, name="conv4")
        return resnet.stack_residual_blocks_v1(x, 512, 3, name="conv5")

    expected = resnet.ResNet(stack_fn, False, True, name="resnet_short", weights=None)
    moved = {"conv4_block2_": "conv4_block4_", "conv4_block3_": "conv4_block5_", "conv4_block4_": "conv4_block6_"}

    def rename(name: str) -> str:
        for new, old in moved.items():
            if name.startswith(new):
                return old + name[len(new) :]
        return name

    copy_weights(original, expected, rename)
    assert_same(got, expected, (224, 224, 3))
    assert preview(graph, edited).total_params == expected.count_params()


def test_resnet50_remove_block_from_the_menu_rules(k, zoo):
    graph = read_model(zoo.path("resnet50", "keras"))
    blocks = {block.name: block for block in find_blocks(graph)}
    assert edit_for_removing(graph, blocks["conv4_block3"]) == Bypass("conv4_block2_out", "conv4_block3_out")
    with pytest.raises(EditError, match=r"conv4_block1 changes the tensor shape \(None, 28, 28, 512\) -> "):
        edit_for_removing(graph, blocks["conv4_block1"])  # the downsampling block
    inputs, outputs = (TensorRef("conv4_block1_out"),), (TensorRef("conv4_block3_out"),)
    assert edit_for_stretch(graph, inputs, outputs) == Bypass("conv4_block1_out", "conv4_block3_out")
    with pytest.raises(EditError, match="one entry and one exit"):
        edit_for_stretch(graph, inputs + (TensorRef("conv3_block4_out"),), outputs)


def test_shapes_must_match_and_order(zoo):
    graph = read_model(zoo.path("resnet50", "keras"))
    with pytest.raises(EditError, match=r"conv3_block4_out is \(None, 28, 28, 512\) but conv4_block3_out is "):
        apply_edits(graph, [Bypass("conv3_block4_out", "conv4_block3_out")])
    with pytest.raises(EditError, match="'from' must come before 'to'"):
        apply_edits(graph, [Bypass("conv4_block3_out", "conv4_block2_out")])
    with pytest.raises(EditError, match="no layer"):
        apply_edits(graph, [Bypass("conv4_block1_out", "nope")])


# --- a transformer stack built here: bypass layer 2 of 4 ---------------------------------------


def transformer(k, layers, length=6, width=8):
    L = k.layers
    inp = k.Input((length, width), name="tokens")
    x = inp
    for i in layers:
        attention = L.MultiHeadAttention(2, 4, name=f"l{i}_mha")(x, x)
        x = L.LayerNormalization(name=f"l{i}_ln1")(L.Add(name=f"l{i}_add1")([x, attention]))
        h = L.Dense(16, activation="relu", name=f"l{i}_ffn1")(x)
        h = L.Dense(width, name=f"l{i}_ffn2")(h)
        x = L.LayerNormalization(name=f"l{i}_ln2")(L.Add(name=f"l{i}_add2")([x, h]))
    out = L.Dense(3, name="head")(L.GlobalAveragePooling1D(name="pool")(x))
    return k.Model(inp, out, name="stack")


def test_transformer_layer_2_of_4(k, tmp_path):
    original = transformer(k, (1, 2, 3, 4))
    graph, edited, got = export(tmp_path, original, [Bypass("l1_ln2", "l2_ln2")], "stack")
    assert not [layer.name for layer in edited.layers if layer.name.startswith("l2_")]
    expected = transformer(k, (1, 3, 4))
    copy_weights(original, expected)
    assert_same(got, expected, (6, 8))
    p = preview(graph, edited)
    assert p.delta_total == expected.count_params() - original.count_params() < 0


def test_transformer_blocks_are_removable(k, tmp_path):
    original = transformer(k, (1, 2, 3, 4))
    original.save(tmp_path / "stack.keras")
    graph = read_model(tmp_path / "stack.keras")
    removable = []
    for block in find_blocks(graph):
        try:
            removable.append((block.name, edit_for_removing(graph, block)))
        except EditError:
            pass
    assert removable, [b.name for b in find_blocks(graph)]
    for _name, edit in removable:  # every detected block's removal applies and keeps the shapes
        edited = apply_edits(graph, [edit])
        assert preview(graph, edited).outputs[0].shape == (None, 3)


# --- DenseNet: refused, with both shapes ---------------------------------------------------------


def test_densenet_is_refused_naming_both_shapes(zoo):
    graph = read_model(zoo.path("densenet121", "keras"))
    with pytest.raises(EditError, match=r"conv2_block1_concat is \(None, 56, 56, 96\) but conv2_block3_concat is"):
        apply_edits(graph, [Bypass("conv2_block1_concat", "conv2_block3_concat")])
    dense_blocks = [b for b in find_blocks(graph) if b.name.startswith("conv3_block") and b.entry and b.exit]
    assert dense_blocks
    for block in dense_blocks:  # each dense layer widens the tensor: "Remove block" says so
        with pytest.raises(EditError, match="changes the tensor shape"):
            edit_for_removing(graph, block)


# --- Siamese: a bypass inside the shared tower applies to every call ---------------------------


def siamese(k, tower_layers, nested: bool):
    L = k.layers
    layers = [L.Dense(16, activation="relu", name=f"t{i}") for i in tower_layers]
    left, right = k.Input((10,), name="left"), k.Input((10,), name="right")
    first = L.Dense(16, name="t0")

    def tower(x):
        x = first(x)
        for layer in layers:
            x = layer(x)
        return x

    if nested:
        inner = k.Input((10,), name="tower_in")
        model = k.Model(inner, tower(inner), name="tower")
        a, b = model(left), model(right)
    else:
        a, b = tower(left), tower(right)
    score = L.Dense(1, name="score")(L.Subtract(name="diff")([a, b]))
    return k.Model([left, right], score, name="siamese")


@pytest.mark.parametrize("nested", [False, True], ids=["shared_layers", "nested_tower"])
def test_siamese_bypass_applies_to_every_call(k, tmp_path, nested):
    original = siamese(k, (1, 2, 3), nested)
    names = ("tower/t1", "tower/t2") if nested else ("t1", "t2")
    graph, edited, got = export(tmp_path, original, [Bypass(*names)], "siamese")
    assert "t2" not in {layer.name for layer in edited.layers}
    expected = siamese(k, (1, 3), False)
    source = original.get_layer("tower") if nested else original
    for layer in expected.layers:
        if layer.weights:
            owner = original if layer.name in ("score",) else source
            layer.set_weights(owner.get_layer(layer.name).get_weights())
    assert_same(got, expected, (10,), (10,))
    assert preview(graph, edited).total_params == expected.count_params()


def test_explicit_call_bypasses_that_call_only(k, tmp_path):
    original = siamese(k, (1, 2, 3), False)
    original.save(tmp_path / "s.keras")
    graph = read_model(tmp_path / "s.keras")
    edited = apply_edits(graph, [Bypass("t1:1", "t2:1")])
    t2 = edited.layer("t2")
    assert len(t2.nodes) == 1  # the left call stays
    assert edited.layer("t3").nodes[1].inputs == (TensorRef("t1", 1),)
    assert preview(graph, edited).total_params == graph.total_params  # t2 still used: one set of weights


def test_bypass_after_a_cut(zoo):
    graph = read_model(zoo.path("resnet50", "keras"))
    edits = [Cut(outputs=("conv4_block6_out",)), Bypass("conv4_block1_out", "conv4_block3_out")]
    edited = apply_edits(graph, edits)
    assert edited.outputs == (TensorRef("conv4_block6_out"),)
    assert not edited.has_layer("conv4_block2_1_conv")
