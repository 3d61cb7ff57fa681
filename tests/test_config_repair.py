"""A library layer whose own ``get_config`` cannot rebuild it gets a config written from its
constructor's signature, used only once the rebuilt layer is proven to compute the same;
otherwise the export is refused in one line naming the layer, and nothing is written.
(The KerasHub layers this exists for: tests/test_keras_hub.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from resect.core.keras_backend.config_repair import RepairFailed, needs_repair, repaired_config, written_with
from resect.core.keras_backend.export import ExportError, write_model
from resect.core.keras_backend.runtime import import_keras

keras = import_keras()


class _Broken(keras.layers.Layer):
    """Like KerasHub 0.32's LlamaTransformerDecoder: ``get_config`` reads a missing attribute."""

    def __init__(self, factor: float = 1.0, activation: str = "relu", **kwargs) -> None:
        super().__init__(**kwargs)
        self.factor = factor
        self.activation = keras.activations.get(activation)

    def build(self, input_shape) -> None:
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="random_normal", name="w")

    def call(self, x):
        return self.activation(x * self.w * self.factor)

    def get_config(self):
        return {**super().get_config(), "factor": self.scaling_factor}  # no such attribute


class _Hidden(_Broken):
    """Keeps ``factor`` under another name: a config from the signature would lose it."""

    def __init__(self, factor: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        del self.factor
        self._f = factor

    def call(self, x):
        return x * self.w * self._f


class _Required(_Hidden):
    def __init__(self, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self._units = units


def _model(layer) -> object:
    inputs = keras.Input((4,), name="x")
    return keras.Model(inputs, layer(keras.layers.Dense(4, name="dense")(inputs)), name="m")


def test_a_broken_config_is_written_from_the_signature_and_proven() -> None:
    layer = _Broken(factor=2.5, activation="tanh", name="broken")
    model = _model(layer)
    assert isinstance(needs_repair(layer), AttributeError)
    config = repaired_config(layer, layer._inbound_nodes[0])
    assert config["factor"] == 2.5 and config["activation"] == "tanh" and config["name"] == "broken"
    rebuilt = _Broken.from_config(config)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    rebuilt(x)
    rebuilt.set_weights(layer.get_weights())
    np.testing.assert_allclose(rebuilt(x), layer(x), atol=1e-6)
    with written_with({id(layer): (layer, config)}):
        assert model.get_config()["layers"][-1]["config"]["factor"] == 2.5  # what Keras writes
    with pytest.raises(AttributeError):  # the layer is left as it was
        layer.get_config()


@pytest.mark.parametrize(
    ("layer", "why"),
    [
        (_Hidden(factor=2.0, name="hidden"), "computes different values"),  # its default 1.0 would be used
        (_Required(units=3, name="hidden"), "required argument 'units'"),
    ],
)
def test_an_unprovable_repair_refuses_the_export_naming_the_layer(tmp_path, layer, why) -> None:
    model = _model(layer)
    with pytest.raises(RepairFailed, match=why):
        repaired_config(layer, layer._inbound_nodes[0])
    out = tmp_path / "out.keras"
    with pytest.raises(ExportError) as error:
        write_model(model, out)
    text = str(error.value)
    assert "\n" not in text and "'hidden'" in text and type(layer).__name__ in text and why in text
    assert not out.exists() and list(tmp_path.iterdir()) == []
