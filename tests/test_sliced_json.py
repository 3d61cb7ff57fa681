"""The sliced config parse returns exactly what json.loads returns, or json.loads' error."""

from __future__ import annotations

import json

import pytest

from resect.core.reader import sliced_json
from resect.core.reader.sliced_json import loads_sliced


def _config(n_layers: int) -> dict:
    inner = {"class_name": "Sequential", "config": {"name": "inner", "layers": [{"class_name": "Dense"}]}}
    layers = [
        {"class_name": "Dense", "name": f"d{i}", "config": {"units": i, "note": 'a "layers": [ in a string'}}
        for i in range(n_layers)
    ]
    layers.insert(3, {"name": "inner", **inner})
    return {
        "module": "keras",
        "class_name": "Functional",
        "config": {"name": "m", "layers": layers, "output_layers": []},
    }


@pytest.fixture(autouse=True)
def _slice_everything(monkeypatch):
    monkeypatch.setattr(sliced_json, "SLICE_ABOVE", 0)


@pytest.mark.parametrize("indent", [None, 2])
def test_equals_json_loads(indent):
    text = json.dumps(_config(500), indent=indent)
    assert loads_sliced(text) == json.loads(text)


def test_marker_only_inside_a_nested_model_falls_back():
    config = {"class_name": "Functional", "config": {"name": "m", "inner": {"layers": [1, 2]}, "layers": [3]}}
    text = json.dumps(config)
    assert loads_sliced(text) == json.loads(text)


@pytest.mark.parametrize("broken", ['{"config": {"layers": [{"a": 1} {"b": 2}]}}', '{"config": {"layers": [1, 2'])
def test_broken_json_raises_json_loads_error(broken):
    with pytest.raises(json.JSONDecodeError):
        loads_sliced(broken)


def _keras_like(n_layers: int, trap: str = "") -> dict:
    """Layers as Keras 3 writes them: each begins with ``"module"``; calls hold lists of
    tensor objects (``}, {`` inside a layer); ``trap`` goes into every name."""
    tensor = {"class_name": "__keras_tensor__", "config": {"shape": [None, 4], "keras_history": ["a", 0, 0]}}
    layers = [
        {
            "module": "keras.layers",
            "class_name": "Add",
            "config": {"name": f"l{i}{trap}", "trainable": True, "dtype": {"module": "keras", "class_name": "P"}},
            "inbound_nodes": [{"args": [[tensor, tensor]], "kwargs": {}}],
        }
        for i in range(n_layers)
    ]
    inner = {"module": "keras.src.models.functional", "class_name": "Functional", "name": "inner"}
    inner["config"] = {"name": "inner", "layers": layers[:50], "input_layers": [], "output_layers": []}
    layers.insert(7, inner)
    return {"module": "keras", "class_name": "Functional", "config": {"name": "m", "layers": layers}}


@pytest.mark.parametrize("trap", ["", '}, {"module": "x', "}, {"])
@pytest.mark.parametrize("batch", [64, 3000, 1 << 18])
def test_batches_equal_json_loads(monkeypatch, trap, batch):
    """Batches cut between top-level layers; a cut inside a nested model's layers or in
    a name fails to parse and those layers are read one at a time."""
    monkeypatch.setattr(sliced_json, "BATCH", batch)
    text = json.dumps(_keras_like(400, trap))
    assert loads_sliced(text) == json.loads(text)


def test_batches_share_key_strings_like_json_loads(monkeypatch):
    """Decoded in batches, layers share one string per key as ``json.loads`` does
    (decoded one by one they did not: 83 MB against 63 MB for 20,000 layers)."""
    import tracemalloc

    text = json.dumps(_keras_like(3000))

    def held(load) -> int:  # noqa: ANN001
        tracemalloc.start()
        try:
            loaded = load(text)
            size = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        del loaded
        return size

    assert held(loads_sliced) < held(json.loads) * 1.05
    layers = loads_sliced(text)["config"]["layers"]
    first, second = (next(k for k in layers[i]["config"] if k == "trainable") for i in (100, 101))
    assert first is second
