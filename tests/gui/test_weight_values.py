"""core.weight_values reads one weight's values from the file, equal to Keras' own."""

from __future__ import annotations

import numpy as np
import pytest

from resect.core.errors import ModelFileError
from resect.core.reader import read_model
from resect.core.weight_values import read_weight_values, weight_stats


@pytest.mark.parametrize("fmt", ["keras", "h5", "tf2.h5"])
def test_every_weight_equals_keras(zoo, fmt):
    from resect.core.keras_backend.runtime import import_keras

    keras = import_keras()
    path = zoo.path("frozen_block", fmt)
    model = keras.models.load_model(path, compile=False)
    graph = read_model(path)
    checked = 0
    for layer in graph.layers:
        keras_weights = model.get_layer(layer.name).weights
        assert len(keras_weights) == len(layer.weights)
        for ours, theirs in zip(layer.weights, keras_weights, strict=True):
            values = read_weight_values(path, ours)
            np.testing.assert_array_equal(values, theirs.numpy())
            checked += 1
    assert checked >= 6


def test_stats_equal_numpy():
    values = np.random.default_rng(0).normal(size=(3, 3, 8, 16)).astype("float32")
    stats = weight_stats(values)
    assert stats.count == values.size
    assert stats.minimum == pytest.approx(float(values.min()))
    assert stats.maximum == pytest.approx(float(values.max()))
    assert stats.mean == pytest.approx(float(values.astype(np.float64).mean()))
    assert stats.std == pytest.approx(float(values.astype(np.float64).std()))


def test_missing_weight_is_a_one_line_error(zoo, tmp_path):
    path = zoo.path("siamese", "keras")
    weight = read_model(path).layer("tower_conv").weights[0]
    broken = weight.__class__(weight.name, weight.shape, weight.dtype, weight.trainable, "layers/nope/vars/0")
    with pytest.raises(ModelFileError, match="tower_conv|kernel|missing"):
        read_weight_values(path, broken)
    not_a_model = tmp_path / "x.keras"
    not_a_model.write_text("hello")
    with pytest.raises(ModelFileError):
        read_weight_values(not_a_model, weight)
