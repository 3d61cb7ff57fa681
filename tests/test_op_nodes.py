"""Keras 3 operation nodes (``x + 3.0`` in MobileNetV3's hard-swish, ``ops.*`` calls):
in the functional graph and ``config.json`` but not in ``model.layers``. They are nodes
of our graph (no weights, their op as class), can be cut at, and survive export."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from keras_checks import export_matches, graph_vs_keras

from resect.core.keras_backend.loading import fill_shapes, load_keras_model
from resect.core.keras_backend.pipeline import run_apply
from resect.core.keras_backend.runtime import import_keras
from resect.core.reader import read_model

ROOT = Path(__file__).resolve().parent.parent


def _saved_in_fresh_process(path: Path, code: str) -> Path:
    """Build and save a model in a new Python (Keras' auto-names, ``add_3``, start from zero)."""
    script = "import keras\nfrom keras import ops\n" + code + f"\nmodel.save({str(path)!r})\n"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return path


@pytest.fixture(scope="module")
def mobilenet_v3(tmp_path_factory) -> Path:
    code = "model = keras.applications.MobileNetV3Small(weights=None, input_shape=(96, 96, 3))"
    return _saved_in_fresh_process(tmp_path_factory.mktemp("ops") / "mnv3.keras", code)


@pytest.fixture(scope="module")
def ops_model(tmp_path_factory) -> Path:
    """A hand-built model with ``ops`` calls and a weighted layer after an op whose
    snake-cased class would collide with the op's (``Multiply`` op, ``multiply`` layer)."""
    code = """
x = keras.Input((6,), name="x")
h = keras.layers.Dense(4, name="d1")(x)
h = ops.multiply(h, 2.0)
h = ops.relu(h) + 1.0
h = keras.layers.Multiply(name="mul_layer")([h, h])
h = keras.layers.Dense(5, name="d2")(h)
y = keras.layers.Dense(3, name="head")(ops.concatenate([h, ops.tanh(h)], axis=-1))
model = keras.Model(x, y, name="ops_model")
"""
    return _saved_in_fresh_process(tmp_path_factory.mktemp("ops") / "ops.keras", code)


@pytest.fixture(scope="module")
def convnext_tiny(tmp_path_factory) -> Path:
    code = "model = keras.applications.ConvNeXtTiny(weights=None, input_shape=(32, 32, 3))"
    return _saved_in_fresh_process(tmp_path_factory.mktemp("ops") / "convnext.keras", code)


@pytest.fixture(scope="module")
def inception_resnet_v2(tmp_path_factory) -> Path:
    code = "model = keras.applications.InceptionResNetV2(weights=None, input_shape=(75, 75, 3))"
    return _saved_in_fresh_process(tmp_path_factory.mktemp("ops") / "irv2.keras", code)


def test_mobilenet_v3_opens_fast_with_op_nodes(mobilenet_v3) -> None:
    started = time.process_time()  # CPU time: the machine is shared
    graph = read_model(mobilenet_v3)
    assert time.process_time() - started < 1.0
    ops = [layer for layer in graph.layers if layer.is_operation]
    assert len(ops) >= 10 and all(not op.weights and op.problem is None for op in ops)
    assert {op.class_name for op in ops} >= {"Add"}
    add = graph.layer("add")
    assert add.nodes[0].args[1] == 3.0 and add.nodes[0].output_shapes == ((None, 1, 1, 16),)


@pytest.mark.parametrize("which", ["mobilenet_v3", "ops_model", "convnext_tiny", "inception_resnet_v2"])
def test_full_inspect_equals_keras(request, which) -> None:
    path = request.getfixturevalue(which)
    graph = read_model(path)
    model = load_keras_model(path, graph)
    assert graph_vs_keras(graph, model, shapes_complete=False) == []
    assert graph_vs_keras(fill_shapes(graph, model), model) == []


def test_inspect_json_lists_op_nodes_as_layers(mobilenet_v3) -> None:
    run = subprocess.run(
        [sys.executable, "main.py", "inspect", str(mobilenet_v3), "--json", "--fast"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    entry = next(e for e in data["layers"] if e["name"] == "add")
    assert entry["class_name"] == "Add" and entry["params"] == 0
    assert entry["nodes"][0]["output_shapes"] == [[None, 1, 1, 16]]


@pytest.mark.parametrize(
    ("which", "outputs"),
    [
        ("mobilenet_v3", None),
        ("mobilenet_v3", ["expanded_conv_5_add"]),
        ("mobilenet_v3", ["multiply_5"]),  # a hard-swish's product: an op node as the cut
        ("ops_model", None),
        ("ops_model", ["add"]),
        # their classes (LayerScale, CustomScaleLayer) live in keras.src.applications: Keras' trust rule
        ("convnext_tiny", None),
        ("convnext_tiny", ["convnext_tiny_stage_1_block_2_identity"]),
        ("inception_resnet_v2", None),
        ("inception_resnet_v2", ["block35_5_ac"]),
    ],
)
def test_cut_and_identity_exports_reload_and_match(request, tmp_path, which, outputs) -> None:
    keras = import_keras()
    path = request.getfixturevalue(which)
    graph = read_model(path)
    if outputs and not graph.has_layer(outputs[0]):
        pytest.fail(f"{outputs[0]} is not in {which}: {[x.name for x in graph.layers if x.is_operation][:20]}")
    edits = [{"op": "cut", "outputs": outputs}] if outputs else []
    from resect.core.surgery.recipe import parse_recipe

    out = tmp_path / "out.keras"
    result = run_apply(path, parse_recipe({"format": "resect-recipe/1", "edits": edits}), out, verify=True)
    assert result.verify is not None and result.verify.checks and result.verify.max_abs_diff <= 1e-5
    export_matches(keras, path, out, outputs, tol=1e-5)
    reread = read_model(out)
    assert all(layer.problem is None for _, layer in reread.iter_layers_deep())
    if which in ("mobilenet_v3", "ops_model"):
        assert any(layer.is_operation for layer in reread.layers)
