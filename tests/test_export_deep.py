"""Deep graphs (Keras recurses once per layer) and non-finite activations."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from resect.core.keras_backend.pipeline import run_apply
from resect.core.keras_backend.verify import max_abs_diff
from resect.core.reader import read_model
from resect.core.surgery.recipe import parse_recipe

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from deep_model import write_deep_model  # noqa: E402


def test_cut_of_a_1200_layer_model_exports_and_verifies(tmp_path):
    """1,200 layers: more than Python's default recursion limit of 1,000."""
    path = write_deep_model(tmp_path / "deep.keras", 1200)
    graph = read_model(path)
    adds = [layer.name for layer in graph.layers if layer.class_name == "Add"]
    start = adds[len(adds) // 3]
    recipe = parse_recipe([{"op": "cut", "inputs": [start]}])
    result = run_apply(path, recipe, tmp_path / "tail.keras", verify=True)
    assert result.verify.checks and result.verify.max_abs_diff <= 1e-5
    assert sys.getrecursionlimit() < 10_000  # the deep stack was only used in a helper thread
    kept = [layer for layer in graph.layers if layer.class_name != "InputLayer"]
    kept_after = kept[kept.index(graph.layer(start)) + 1 :]
    assert result.params_after.total == sum(layer.params for layer in kept_after)


def test_max_abs_diff_treats_matching_overflow_as_equal():
    a = np.array([1.0, np.nan, np.inf, -np.inf, 2.0])
    assert max_abs_diff(a, a.copy()) == 0.0
    assert max_abs_diff(a, np.array([1.0, np.nan, np.inf, -np.inf, 2.5])) == 0.5
    assert max_abs_diff(a, np.array([1.0, 0.0, np.inf, -np.inf, 2.0])) == float("inf")
    assert max_abs_diff(a, np.array([1.0, np.nan, -np.inf, -np.inf, 2.0])) == float("inf")
    assert max_abs_diff(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0
