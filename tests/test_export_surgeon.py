"""kerassurgeon's whole-layer scenarios, exported: each export reloads with Keras and
computes what the expected model, built in Keras from the SAME layer objects, computes
(new layers get the export's fresh weights first, so only the wiring is compared)."""

from __future__ import annotations

import numpy as np
import pytest

from resect.core.keras_backend.pipeline import run_apply
from resect.core.surgery.recipe import load_recipe, parse_recipe, save_recipe


@pytest.fixture(scope="module")
def k():
    from resect.core.keras_backend.runtime import import_keras

    keras = import_keras()
    keras.utils.set_random_seed(3)
    return keras


def exported(k, tmp_path, original, recipe):
    source = tmp_path / "original.keras"
    original.save(source)
    result = run_apply(source, parse_recipe(recipe), tmp_path / "edited.keras", verify=True)
    assert result.verify.max_abs_diff <= 1e-5
    return result, k.models.load_model(tmp_path / "edited.keras", compile=False)


def same_function(k, got, expected, *shape, new=()):
    """``got`` (reloaded export) computes ``expected`` once new layers share weights."""
    for name in new:
        expected.get_layer(name).set_weights(got.get_layer(name).get_weights())
    x = np.random.default_rng(0).standard_normal((2, *shape)).astype("float32")
    ours, theirs = got(x), expected(x)
    ours, theirs = (ours, theirs) if isinstance(ours, list) else ([ours], [theirs])
    for a, b in zip(ours, theirs, strict=True):
        assert float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) <= 1e-5
    assert got.count_params() == expected.count_params()


def dense(k, *names, units=None):
    return {n: k.layers.Dense((units or {}).get(n, 3), name=n) for n in names}


def test_delete_layer(k, tmp_path):
    L = k.layers
    inp = k.Input((7, 7, 1), name="in")
    c1, c2, flat = L.Conv2D(3, 3, name="conv_1"), L.Conv2D(3, 3, name="conv_2"), L.Flatten(name="flat")
    d = dense(k, "d1", "d2", "d3", "d4", units={"d4": 1})
    original = k.Model(inp, d["d4"](d["d3"](d["d2"](d["d1"](flat(c2(c1(inp))))))))
    result, got = exported(k, tmp_path, original, [{"op": "delete_layer", "layer": "d2"}])
    assert "d2" not in [layer.name for layer in got.layers]
    expected = k.Model(inp, d["d4"](d["d3"](d["d1"](flat(c2(c1(inp)))))))
    same_function(k, got, expected, 7, 7, 1)
    assert [c.tensor for c in result.verify.checks] == ["d1:0:0"]  # what feeds the rewired d3


def test_delete_reused_layer(k, tmp_path):
    d = dense(k, "d1", "d2", "d3", "d4")
    inp = k.Input((3,), name="in")
    original = k.Model(inp, d["d4"](d["d2"](d["d3"](d["d2"](d["d1"](inp))))))
    _, got = exported(k, tmp_path, original, [{"op": "delete_layer", "layer": "d2"}])
    same_function(k, got, k.Model(inp, d["d4"](d["d3"](d["d1"](inp)))), 3)


def test_replace_layer(k, tmp_path):
    d = dense(k, "d1", "d2", "d4", units={"d4": 1})
    inp = k.Input((5,), name="in")
    original = k.Model(inp, d["d4"](d["d2"](d["d1"](inp))))
    recipe = [
        {"op": "replace_layer", "layer": "d2", "with": {"class_name": "Dense", "config": {"units": 3, "name": "d3"}}}
    ]
    result, got = exported(k, tmp_path, original, recipe)
    d3 = k.layers.Dense(3, name="d3")
    same_function(k, got, k.Model(inp, d["d4"](d3(d["d1"](inp)))), 5, new=["d3"])
    assert result.verify.unchecked_outputs == ["d4:0:0"]


def test_insert_layer(k, tmp_path):
    d = dense(k, "d1", "d2", "d4", units={"d4": 1})
    inp = k.Input((5,), name="in")
    original = k.Model(inp, d["d4"](d["d2"](d["d1"](inp))))
    recipe = [
        {"op": "insert_layer", "after": "d2", "layer": {"class_name": "Dense", "config": {"units": 3, "name": "d3"}}}
    ]
    _, got = exported(k, tmp_path, original, recipe)
    d3 = k.layers.Dense(3, name="d3")
    same_function(k, got, k.Model(inp, d["d4"](d3(d["d2"](d["d1"](inp))))), 5, new=["d3"])


def test_delete_layer_feeding_a_shared_layer(k, tmp_path):
    d = dense(k, "d1", "d2", "d3", "d4", units={"d4": 1})
    inp = k.Input((10,), name="in")
    x = d["d1"](inp)
    original = k.Model(inp, [d["d4"](d["d3"](x)), d["d4"](d["d2"](x))])
    _, got = exported(k, tmp_path, original, [{"op": "delete_layer", "layer": "d3"}])
    x = d["d1"](inp)
    same_function(k, got, k.Model(inp, [d["d4"](x), d["d4"](d["d2"](x))]), 10)
    assert len(got.get_layer("d4")._inbound_nodes) == 2  # still one shared layer


def test_delete_layer_whose_output_feeds_one_layer_twice(k, tmp_path):
    L = k.layers
    inp = k.Input((4,), name="in")
    d1, act, join, out = (
        L.Dense(4, name="d1"),
        L.Activation("relu", name="act"),
        L.Concatenate(name="join"),
        L.Dense(2, name="out"),
    )
    a = act(d1(inp))
    original = k.Model(inp, out(join([a, a])))
    _, got = exported(k, tmp_path, original, [{"op": "delete_layer", "layer": "act"}])
    b = d1(inp)
    same_function(k, got, k.Model(inp, out(join([b, b]))), 4)


def test_a_saved_and_loaded_recipe_gives_the_same_export(zoo, tmp_path):
    edits = parse_recipe(
        [
            {"op": "cut", "inputs": ["conv2_block1_out"]},
            {"op": "set_trainable", "trainable": False, "below": "conv3_block1_out"},
            {"op": "rename", "layer": "predictions", "to": "logits"},
        ]
    )
    save_recipe(tmp_path / "r.resect.json", edits)
    model = zoo.path("small_resnet", "keras")
    run_apply(model, edits, tmp_path / "a.keras")
    run_apply(model, load_recipe(tmp_path / "r.resect.json"), tmp_path / "b.keras")
    from resect.core.keras_backend.runtime import import_keras

    a, b = (import_keras().models.load_model(tmp_path / n, compile=False) for n in ("a.keras", "b.keras"))
    assert a.get_config() == b.get_config()
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert [layer.trainable for layer in a.layers] == [layer.trainable for layer in b.layers]
