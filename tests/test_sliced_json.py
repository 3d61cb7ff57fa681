"""The sliced config parse returns exactly what json.loads returns, or json.loads' error."""

from __future__ import annotations

import json

import pytest

from core.reader import sliced_json
from core.reader.sliced_json import loads_sliced


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
