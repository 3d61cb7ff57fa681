"""The seeds' operations, exported and checked against Keras itself.

Every export is reloaded with ``keras.models.load_model`` and compared with the
original's activations on random input (computed here with plain Keras, not with our
verifier), and its parameter counts with ``count_params()`` of the same model built
directly in Keras.
"""

from __future__ import annotations

import numpy as np
import pytest

from resect.core.keras_backend.pipeline import run_apply
from resect.core.surgery.recipe import parse_recipe

HEAD = [
    {"class_name": "Flatten", "config": {}},
    {"class_name": "Dropout", "config": {"rate": 0.5}},
    {"class_name": "Dense", "config": {"units": 2, "activation": "softmax"}},
]
_loaded: dict[str, object] = {}


def keras():
    from resect.core.keras_backend.runtime import import_keras

    return import_keras()


def original(path) -> object:
    """The original model, loaded by Keras itself (once per file)."""
    key = str(path)
    if key not in _loaded:
        _loaded[key] = keras().models.load_model(key, compile=False)
    return _loaded[key]


def export(path, recipe, out, **kwargs):
    """Apply ``recipe`` with --verify; return (result, the output reloaded by Keras)."""
    result = run_apply(path, parse_recipe(recipe), out, verify=True, **kwargs)
    assert result.verify is not None and result.verify.checks
    assert result.verify.max_abs_diff <= 1e-5
    return result, keras().models.load_model(str(out), compile=False)


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal((2, *shape[1:])).astype("float32")


def max_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def out_of(model, name):
    return model.get_layer(name).output


def call_output(layer, index):
    """Output of a shared layer's ``index``-th call (Keras 3 has no ``get_output_at``)."""
    return layer._inbound_nodes[index].outputs[0]


# --- ResNet50: split, drop stages, start inside a branch -----------------------------


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["keras", "tf2.h5"])
def test_resnet50_split_from_the_middle(zoo, tmp_path, fmt):
    path = zoo.path("resnet50", fmt)
    recipe = [{"op": "cut", "inputs": ["conv3_block4_out"], "outputs": ["conv4_block6_out"]}]
    result, got = export(path, recipe, tmp_path / "middle.keras")
    m = original(path)
    direct = keras().Model(out_of(m, "conv3_block4_out"), out_of(m, "conv4_block6_out"))
    assert got.count_params() == direct.count_params() == result.params_after.total
    assert result.params_before.total == m.count_params()
    start, end = keras().Model(m.inputs, [out_of(m, "conv3_block4_out"), out_of(m, "conv4_block6_out")])(
        rand(m.inputs[0].shape)
    )
    assert tuple(got.inputs[0].shape) == (None, 28, 28, 512)
    assert max_diff(got(start), end) <= 1e-5


@pytest.mark.slow
def test_resnet50_drop_first_and_last_stage(zoo, tmp_path):
    path = zoo.path("resnet50", "keras")
    recipe = [{"op": "cut", "inputs": ["conv2_block3_out"], "outputs": ["conv4_block6_out"]}]
    result, got = export(path, recipe, tmp_path / "stages.keras")
    m = original(path)
    direct = keras().Model(out_of(m, "conv2_block3_out"), out_of(m, "conv4_block6_out"))
    assert got.count_params() == direct.count_params() == result.params_after.total
    assert not any(layer.name.startswith(("conv2_", "conv5_")) for layer in got.layers[1:])
    start, end = keras().Model(m.inputs, [out_of(m, "conv2_block3_out"), out_of(m, "conv4_block6_out")])(
        rand(m.inputs[0].shape, 1)
    )
    assert max_diff(got(start), end) <= 1e-5


@pytest.mark.parametrize(
    ("name", "fmt", "start", "skip", "end"),
    [
        ("small_resnet", "keras", "conv2_block2_1_relu", "conv2_block1_out", "conv3_block1_out"),
        ("small_resnet", "tf2.h5", "conv2_block2_1_relu", "conv2_block1_out", "conv3_block1_out"),
        pytest.param(
            "resnet50", "keras", "conv4_block2_1_relu", "conv4_block1_out", "conv4_block6_out", marks=pytest.mark.slow
        ),
    ],
)
def test_start_inside_a_branch_with_complete_is_a_two_input_model(zoo, tmp_path, name, fmt, start, skip, end):
    path = zoo.path(name, fmt)
    with pytest.raises(Exception, match=f"cut inputs do not separate the graph: {skip}:0:0 also feeds"):
        run_apply(path, parse_recipe([{"op": "cut", "inputs": [start], "outputs": [end]}]), tmp_path / "x.keras")
    recipe = [{"op": "cut", "inputs": [start], "outputs": [end], "complete": True}]
    result, got = export(path, recipe, tmp_path / "branch.keras")
    m = original(path)
    assert len(got.inputs) == 2
    names = [t.name for t in got.inputs]
    # the skip connection became an input, named after the tensor it carries
    assert any(name.startswith(f"from_{skip}") for name in names), names
    probe = keras().Model(m.inputs, [out_of(m, start), out_of(m, skip), out_of(m, end)])
    branch, shortcut, expected = probe(rand(m.inputs[0].shape, 2))
    feed = [shortcut if name.startswith(f"from_{skip}") else branch for name in names]
    assert max_diff(got(feed), expected) <= 1e-5
    direct = keras().Model([out_of(m, start), out_of(m, skip)], out_of(m, end))
    assert got.count_params() == direct.count_params() == result.params_after.total


# --- new input shape + new head, multi-output extractor, freezing ---------------------


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["keras", "tf2.h5"])
def test_resnet50_128x128_input_with_a_two_class_head_keeps_trunk_weights(zoo, tmp_path, fmt):
    path = zoo.path("resnet50", fmt)
    m = original(path)
    recipe = [
        {"op": "set_input_shape", "input": m.inputs[0].name, "shape": [128, 128, 3]},
        {"op": "replace_head", "at": "conv5_block3_out", "layers": HEAD},
    ]
    result, got = export(path, recipe, tmp_path / "small_input.keras")
    assert tuple(got.inputs[0].shape) == (None, 128, 128, 3)
    assert tuple(got.outputs[0].shape) == (None, 2)
    k = keras()
    direct = k.applications.ResNet50(include_top=False, weights=None, input_shape=(128, 128, 3))
    x = k.layers.Flatten()(direct.output)
    x = k.layers.Dense(2, activation="softmax")(k.layers.Dropout(0.5)(x))
    assert got.count_params() == k.Model(direct.input, x).count_params() == result.params_after.total
    for layer in m.layers:  # every trunk weight is the trained one
        if layer.weights and layer.name not in ("predictions", "fc1000"):
            for kept, trained in zip(got.get_layer(layer.name).get_weights(), layer.get_weights(), strict=True):
                np.testing.assert_array_equal(kept, trained)
    assert result.verify.checks[0].tensor.startswith("conv5_block3_out")
    # The trunk at 128x128 computes what Keras' own clone of the original computes there.
    trunk = k.Model(m.inputs, out_of(m, "conv5_block3_out"))
    clone = k.models.clone_model(trunk, input_tensors=[k.Input((128, 128, 3))])
    clone.set_weights(trunk.get_weights())
    x = rand((None, 128, 128, 3), 3)
    assert max_diff(k.Model(got.inputs, out_of(got, "conv5_block3_out"))(x), clone(x)) <= 1e-5


@pytest.mark.slow
def test_resnet50_multi_output_feature_extractor(zoo, tmp_path):
    path = zoo.path("resnet50", "keras")
    names = ["conv2_block3_out", "conv3_block4_out", "conv4_block6_out", "conv5_block3_out"]
    recipe = [{"op": "cut", "outputs": names}]
    result, got = export(path, recipe, tmp_path / "features.keras")
    m = original(path)
    direct = keras().Model(m.inputs, [out_of(m, n) for n in names])
    assert got.count_params() == direct.count_params() == result.params_after.total
    x = rand(m.inputs[0].shape, 4)
    for ours, theirs in zip(got(x), direct(x), strict=True):
        assert max_diff(ours, theirs) <= 1e-5
    assert [c.tensor.split(":")[0] for c in result.verify.checks] == names


def test_add_outputs_keeps_the_original_output_first(zoo, tmp_path):
    path = zoo.path("small_resnet", "keras")
    recipe = [{"op": "add_outputs", "tensors": ["conv2_block2_out", "conv3_block1_out"]}]
    result, got = export(path, recipe, tmp_path / "extra.keras")
    m = original(path)
    direct = keras().Model(m.inputs, [m.output, out_of(m, "conv2_block2_out"), out_of(m, "conv3_block1_out")])
    x = rand(m.inputs[0].shape, 5)
    for ours, theirs in zip(got(x), direct(x), strict=True):
        assert max_diff(ours, theirs) <= 1e-5
    assert got.count_params() == m.count_params() == result.params_after.total


@pytest.mark.slow
def test_inception_v3_freeze_below_mixed9(zoo, tmp_path):
    path = zoo.path("inception_v3", "keras")
    recipe = [{"op": "set_trainable", "trainable": False, "below": "mixed9"}]
    result, got = export(path, recipe, tmp_path / "frozen.keras")
    m = original(path)
    below = _ancestor_layers(m, "mixed9")
    assert "conv2d" in below and "mixed8" in below and "predictions" not in below
    for layer in got.layers[1:]:  # an InputLayer's flag is not saved by Keras
        assert layer.trainable is (layer.name not in below), layer.name
    assert result.params_before.trainable == trainable_count(m)  # counted before the freeze
    expected = sum(
        int(np.prod(w.shape)) for layer in m.layers if layer.name not in below for w in layer.trainable_weights
    )
    trainable = sum(int(np.prod(w.shape)) for w in got.trainable_weights)
    assert trainable == expected == result.params_after.trainable
    assert got.count_params() == m.count_params()
    x = rand(m.inputs[0].shape, 6)
    assert max_diff(got(x), m(x)) <= 1e-5


def test_build_flags_are_the_edited_ones_until_restored(zoo):
    from resect.core.keras_backend.build import build
    from resect.core.keras_backend.loading import load_keras_model
    from resect.core.reader import read_model
    from resect.core.surgery.apply import apply_edits

    path = zoo.path("frozen_block", "keras")
    graph, m = read_model(path), load_keras_model(path)
    edits = [
        {"op": "set_trainable", "trainable": True, "layers": ["block1_conv"]},
        {"op": "set_trainable", "trainable": False, "layers": ["probs"]},
    ]
    before = {layer.name: layer.trainable for layer in m.layers}
    assert before["block1_conv"] is False and before["probs"] is True
    built = build(m, apply_edits(graph, parse_recipe(edits)))
    assert built.model.get_layer("block1_conv").trainable is True and built.model.get_layer("probs").trainable is False
    assert built.model.get_layer("probs") is m.get_layer("probs")  # shared, not copied
    built.restore_trainable()
    assert {layer.name: layer.trainable for layer in m.layers} == before


def _ancestor_layers(model, name) -> set[str]:
    """Names of every layer ``name`` depends on (itself included), from Keras' own graph."""
    seen: set[str] = set()
    todo = [model.get_layer(name)]
    while todo:
        layer = todo.pop()
        if layer.name in seen:
            continue
        seen.add(layer.name)
        for tensor in layer.input if isinstance(layer.input, list) else [layer.input]:
            if hasattr(tensor, "_keras_history") and layer.__class__.__name__ != "InputLayer":
                todo.append(tensor._keras_history.operation)
    return seen


# --- shared layers and nested models ------------------------------------------------


@pytest.mark.parametrize("fmt", ["keras", "tf2.h5"])
def test_siamese_cut_at_the_second_call_of_the_shared_tower(zoo, tmp_path, fmt):
    path = zoo.path("siamese", fmt)
    recipe = [{"op": "cut", "inputs": ["tower_conv:1"], "outputs": ["tower_dense:1"]}]
    result, got = export(path, recipe, tmp_path / "second_call.keras")
    m = original(path)
    conv = m.get_layer("tower_conv")
    dense = m.get_layer("tower_dense")
    left, right = rand(m.inputs[0].shape, 7), rand(m.inputs[1].shape, 8)
    probe = keras().Model(m.inputs, [call_output(conv, 1), call_output(dense, 1)])
    start, end = probe([left, right])
    assert max_diff(got(start), end) <= 1e-5
    assert got.count_params() == dense.count_params() == result.params_after.total


@pytest.mark.parametrize("fmt", ["keras", "tf2.h5"])
def test_siamese_both_calls_as_inputs(zoo, tmp_path, fmt):
    path = zoo.path("siamese", fmt)
    recipe = [{"op": "cut", "inputs": ["tower_pool:0", "tower_pool:1"]}]
    result, got = export(path, recipe, tmp_path / "both_calls.keras")
    m = original(path)
    pool = m.get_layer("tower_pool")
    a, b, score = keras().Model(m.inputs, [call_output(pool, 0), call_output(pool, 1), m.output])(
        [rand(m.inputs[0].shape, 9), rand(m.inputs[1].shape, 10)]
    )
    assert len(got.inputs) == 2
    assert max_diff(got([a, b]), score) <= 1e-5
    tower_dense = got.get_layer("tower_dense")
    assert len(tower_dense._inbound_nodes) == 2  # still one shared layer, called twice
    direct = keras().Model([call_output(pool, 0), call_output(pool, 1)], m.output)
    assert got.count_params() == direct.count_params() == result.params_after.total


def test_nested_end_inside_the_nested_model(zoo, tmp_path):
    path = zoo.path("nested", "keras")
    recipe = [{"op": "cut", "outputs": ["inner_dense:1"]}]  # inside the second call of func_block
    result, got = export(path, recipe, tmp_path / "inside.keras")
    m = original(path)
    block = m.get_layer("func_block")
    inner = keras().Model(block.inputs, block.get_layer("inner_dense").output)
    x = rand(m.inputs[0].shape, 11)
    side = keras().Model(m.inputs, out_of(m, "side"))(x)
    assert max_diff(got(x), inner(side)) <= 1e-5
    expected = (
        sum(m.get_layer(n).count_params() for n in ("stem", "side")) + block.get_layer("inner_dense").count_params()
    )
    assert got.count_params() == expected == result.params_after.total
    assert result.verify.checks[0].original == "func_block/inner_dense:1:0"


def test_nested_model_kept_whole_is_called_as_one_layer(zoo, tmp_path):
    path = zoo.path("nested", "keras")
    recipe = [{"op": "cut", "inputs": ["side"]}, {"op": "rename", "layer": "classes", "to": "logits"}]
    with pytest.raises(Exception, match="do not separate"):
        run_apply(path, parse_recipe(recipe), tmp_path / "x.keras")
    recipe[0]["complete"] = True
    result, got = export(path, recipe, tmp_path / "whole.keras")
    assert got.get_layer("func_block").__class__.__name__ == "Functional"
    assert "logits" in [layer.name for layer in got.layers]
    m = original(path)
    np.testing.assert_array_equal(got.get_layer("logits").get_weights()[0], m.get_layer("classes").get_weights()[0])


def trainable_count(model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("target", ["func_block/inner_skip", "seq_block"])
def test_nested_freeze_survives_export(zoo, tmp_path, target):
    path = zoo.path("nested", "keras")
    result, got = export(path, [{"op": "set_trainable", "trainable": False, "layers": [target]}], tmp_path / "f.keras")
    m = keras().models.load_model(path, compile=False)  # a private copy: flags are changed below
    block, _, inner = target.partition("/")
    (m.get_layer(block).get_layer(inner) if inner else m.get_layer(block)).trainable = False
    assert trainable_count(got) == trainable_count(m) == result.params_after.trainable
    assert got.get_layer("func_block").trainable is True
    x = rand(m.inputs[0].shape, 17)
    assert max_diff(got(x), m(x)) <= 1e-5


def test_rename_inside_a_nested_model_inlines_it_and_keeps_the_function(zoo, tmp_path):
    path = zoo.path("nested", "keras")
    result, got = export(path, [{"op": "rename", "layer": "seq_bn", "to": "block_norm"}], tmp_path / "r.keras")
    names = [layer.name for layer in got.layers]
    assert "block_norm" in names and "seq_block" not in names and "func_block" in names
    m = original(path)
    x = rand(m.inputs[0].shape, 18)
    assert max_diff(got(x), m(x)) <= 1e-5
    assert got.count_params() == m.count_params() == result.params_after.total


# --- the other edits, on the fast toy ResNet -------------------------------------------


def test_insert_delete_replace_rename_export(zoo, tmp_path):
    path = zoo.path("small_resnet", "keras")
    m = original(path)
    recipe = [
        {"op": "insert_layer", "after": "conv1_relu", "layer": {"class_name": "Dropout", "config": {"rate": 0.1}}},
        {"op": "delete_layer", "layer": "conv2_block1_1_relu"},
        {"op": "replace_layer", "layer": "predictions", "with": {"class_name": "Dense", "config": {"units": 3}}},
        {"op": "rename", "layer": "conv3_block2_2_conv", "to": "last_conv"},
    ]
    result, got = export(path, recipe, tmp_path / "ops.keras")
    names = [layer.name for layer in got.layers]
    assert "conv2_block1_1_relu" not in names and "conv3_block2_2_conv" not in names and "last_conv" in names
    assert any(layer.__class__.__name__ == "Dropout" for layer in got.layers)
    assert tuple(got.output.shape) == (None, 3)
    for ours, theirs in zip(
        got.get_layer("last_conv").get_weights(), m.get_layer("conv3_block2_2_conv").get_weights(), strict=True
    ):
        np.testing.assert_array_equal(ours, theirs)
    assert got.count_params() == m.count_params() - m.get_layer("predictions").count_params() + (16 * 3 + 3)
    assert got.count_params() == result.params_after.total
    # Dropout is the identity at inference: conv1_relu output matches, and is what was compared.
    x = rand(m.inputs[0].shape, 12)
    ref = keras().Model(m.inputs, out_of(m, "conv1_relu"))(x)
    assert max_diff(keras().Model(got.inputs, out_of(got, "conv1_relu"))(x), ref) <= 1e-5
    assert "predictions:0:0" not in [c.tensor for c in result.verify.checks]


def test_rename_only_exports_the_same_function_under_the_new_name(zoo, tmp_path):
    path = zoo.path("small_resnet", "tf2.h5")
    recipe = [{"op": "rename", "layer": "predictions", "to": "logits"}]
    result, got = export(path, recipe, tmp_path / "renamed.h5")
    m = original(path)
    x = rand(m.inputs[0].shape, 13)
    assert got.output.name.startswith("logits") or got.layers[-1].name == "logits"
    assert max_diff(got(x), m(x)) <= 1e-5
    assert result.verify.checks[0].tensor == "logits:0:0"


def test_savedmodel_export_runs_like_the_original(zoo, tmp_path):
    path = zoo.path("small_resnet", "keras")
    recipe = [{"op": "cut", "inputs": ["conv2_block2_out"]}]
    out = str(tmp_path / "saved") + "/"
    result = run_apply(path, parse_recipe(recipe), out, verify=True)
    assert result.format == "savedmodel" and result.verify.max_abs_diff <= 1e-5
    layer = keras().layers.TFSMLayer(out, call_endpoint="serve")
    m = original(path)
    start, end = keras().Model(m.inputs, [out_of(m, "conv2_block2_out"), m.output])(rand(m.inputs[0].shape, 14))
    assert max_diff(layer(start), end) <= 1e-5


# --- integer inputs, deep graphs ---------------------------------------------------------


def test_integer_token_inputs_get_valid_embedding_ids(zoo, tmp_path):
    path = zoo.path("multi_io", "keras")
    result, got = export(path, [{"op": "add_outputs", "tensors": ["attention"]}], tmp_path / "tokens.keras")
    assert [c.tensor for c in result.verify.checks] == ["label:0:0", "value:0:0", "attention:0:0"]
    m = original(path)
    rng = np.random.default_rng(15)
    feed = [rng.integers(0, 50, (2, 10)).astype("int32"), rng.standard_normal((2, 4)).astype("float32")]
    direct = keras().Model(m.inputs, [*m.outputs, out_of(m, "attention")])
    for ours, theirs in zip(got(feed), direct(feed), strict=True):
        assert max_diff(ours, theirs) <= 1e-5
    assert got.count_params() == m.count_params() == result.params_after.total


def test_lstm_new_head_is_verified_at_the_attach_tensor(zoo, tmp_path):
    path = zoo.path("lstm", "keras")
    recipe = [{"op": "replace_head", "at": "lstm_2", "layers": [{"class_name": "Dense", "config": {"units": 5}}]}]
    result, got = export(path, recipe, tmp_path / "lstm_head.keras")
    assert [c.tensor for c in result.verify.checks] == ["lstm_2:0:0"] and not result.verify.checks[0].is_output
    assert tuple(got.output.shape) == (None, 5)
    m = original(path)
    assert got.count_params() == m.count_params() - m.get_layer("out").count_params() + 8 * 5 + 5
    tokens = np.random.default_rng(16).integers(0, 40, (2, 12)).astype("int32")
    body = keras().Model(got.inputs, out_of(got, "lstm_2"))
    assert max_diff(body(tokens), keras().Model(m.inputs, out_of(m, "lstm_2"))(tokens)) <= 1e-5
