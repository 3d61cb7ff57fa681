"""An input-shape change: weights that still fit are kept, those that do not are named,
and the export refuses unless the recipe accepts re-initialising them."""

from __future__ import annotations

import numpy as np
import pytest

from resect.core.keras_backend.build import ReinitializeError
from resect.core.keras_backend.pipeline import run_apply
from resect.core.surgery.recipe import parse_recipe


def keras():
    from resect.core.keras_backend.runtime import import_keras

    return import_keras()


@pytest.fixture(scope="module")
def flatten_model(tmp_path_factory):
    """Conv -> Flatten -> Dense: the Dense kernel depends on the input size."""
    k = keras()
    k.utils.set_random_seed(7)
    inp = k.Input((8, 8, 3), name="image")
    x = k.layers.Conv2D(4, 3, name="conv")(inp)
    x = k.layers.BatchNormalization(name="bn")(x)
    x = k.layers.Flatten(name="flat")(x)
    x = k.layers.Dense(5, activation="relu", name="hidden")(x)
    out = k.layers.Dense(2, name="out")(x)
    model = k.Model(inp, out, name="flatten_model")
    path = tmp_path_factory.mktemp("reinit") / "flatten_model.keras"
    model.save(path)
    return path, model


def shape_edit(**extra):
    return parse_recipe([{"op": "set_input_shape", "input": "image", "shape": [12, 12, 3], **extra}])


def test_refuses_naming_the_layer_whose_weights_no_longer_fit(flatten_model, tmp_path):
    path, _ = flatten_model
    out = tmp_path / "bigger.keras"
    with pytest.raises(ReinitializeError) as caught:
        run_apply(path, shape_edit(), out)
    message = str(caught.value)
    assert message.startswith("edit 0 (set_input_shape): ")
    assert "hidden" in message and "reinitialize" in message
    assert "conv" not in message.replace("reinitialize", "") and "out," not in message
    assert "\n" not in message
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("accept", [["hidden"], ["*"]])
def test_accepted_reinitialisation_keeps_every_weight_that_fits(flatten_model, tmp_path, accept):
    path, model = flatten_model
    out = tmp_path / "bigger.keras"
    result = run_apply(path, shape_edit(reinitialize=accept), out, verify=True)
    assert set(result.reinitialized) == {"hidden"}
    assert result.reinitialized["hidden"] == ["hidden/kernel"]  # the bias still fits and is kept
    got = keras().models.load_model(out, compile=False)
    assert tuple(got.inputs[0].shape) == (None, 12, 12, 3)
    for name in ("conv", "bn", "out"):
        for kept, trained in zip(got.get_layer(name).get_weights(), model.get_layer(name).get_weights(), strict=True):
            np.testing.assert_array_equal(kept, trained)
    np.testing.assert_array_equal(got.get_layer("hidden").get_weights()[1], model.get_layer("hidden").get_weights()[1])
    assert got.get_layer("hidden").get_weights()[0].shape == (10 * 10 * 4, 5)
    # What Keras computes for the same model built directly at the new shape:
    k = keras()
    direct = k.models.clone_model(model, input_tensors=k.Input((12, 12, 3)))
    assert got.count_params() == direct.count_params() == result.params_after.total
    # The kept trunk (up to the Flatten) is what was verified, against the original weights.
    checked = [c.tensor for c in result.verify.checks]
    assert checked == ["flat:0:0"]
    assert result.verify.unchecked_outputs == ["out:0:0"]


def test_shape_change_on_a_fully_convolutional_trunk_needs_no_reinitialisation(zoo, tmp_path):
    path = zoo.path("small_resnet", "keras")
    recipe = parse_recipe([{"op": "set_input_shape", "input": "input_layer", "shape": [64, 48, 3]}])
    result = run_apply(path, recipe, tmp_path / "wide.keras", verify=True)
    assert result.reinitialized == {}
    assert result.params_after == result.params_before
    assert [c.tensor for c in result.verify.checks] == ["predictions:0:0"]
    assert result.verify.max_abs_diff <= 1e-5


def test_shape_change_then_a_cut_verifies_at_the_new_shape(zoo, tmp_path):
    """The changed input is cut away: the original side must still run at the new shape."""
    path = zoo.path("small_resnet", "keras")
    recipe = parse_recipe(
        [
            {"op": "set_input_shape", "input": "input_layer", "shape": [40, 40, 3], "batch_size": 4},
            {"op": "cut", "inputs": ["conv2_block2_out"]},
        ]
    )
    result = run_apply(path, recipe, tmp_path / "tail.keras", verify=True)
    assert [c.tensor for c in result.verify.checks] == ["predictions:0:0"] and result.verify.max_abs_diff <= 1e-5
    got = keras().models.load_model(tmp_path / "tail.keras", compile=False)
    assert tuple(got.inputs[0].shape) == (4, 40, 40, 8)
