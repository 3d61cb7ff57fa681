"""``resect inspect``: the table, the DESIGN.md JSON object, --fast without TensorFlow,
Keras' shapes without it, and a warning (exit 0) when Keras cannot load the file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAIN = str(ROOT / "main.py")
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def resect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, MAIN, *args], capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=300)


def _walk(layers: list[dict[str, Any]]):
    for layer in layers:
        yield layer
        yield from _walk(layer.get("layers", []))


@pytest.fixture(scope="module")
def resnet(zoo):
    from resect.core.keras_backend.loading import load_keras_model

    path = zoo.path("resnet50", "keras")
    return path, load_keras_model(path)


def test_fast_json_is_the_design_object_and_imports_no_tensorflow(resnet) -> None:
    path, model = resnet
    code = (
        "import sys, runpy\n"
        f"sys.argv = [{MAIN!r}, 'inspect', {str(path)!r}, '--fast', '--json']\n"
        "try:\n"
        f"    runpy.run_path({MAIN!r}, run_name='__main__')\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'PySide6'))\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
        "others = sorted(m for m in sys.modules if m.endswith('_cmd') and m != 'resect.cli.inspect_cmd')\n"
        "print('OTHER COMMANDS', others, file=sys.stderr)\n"
        "unused = ('resect.core.upgrade.upgrader', 'resect.core.reader.savedmodel_objects', 'resect.cli.quiet')\n"
        "print('OTHER FORMATS', sorted(m for m in unused if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stderr
    assert "OTHER COMMANDS []" in done.stderr  # start-up pays for the command it runs only
    assert "OTHER FORMATS []" in done.stderr  # ... and for the format it reads: no Keras 2 upgrader
    obj = json.loads(done.stdout)
    assert obj["name"] == model.name == "resnet50" and obj["format"] == "keras"
    assert obj["inputs"] == ["input_layer:0:0"] and obj["outputs"] == ["predictions:0:0"]
    assert obj["total_params"] == model.count_params() == 25636712
    assert obj["trainable_params"] == 25583592 and obj["non_trainable_params"] == 53120
    assert [layer["name"] for layer in obj["layers"]] == [layer.name for layer in model.layers]
    conv = next(layer for layer in obj["layers"] if layer["name"] == "conv1_conv")
    assert conv["class_name"] == "Conv2D" and conv["trainable"] is True
    assert (conv["params"], conv["trainable_params"], conv["non_trainable_params"]) == (9472, 9472, 0)
    assert conv["nodes"] == [
        {"inputs": ["conv1_pad:0:0"], "input_shapes": [[None, 230, 230, 3]], "output_shapes": [[None, 112, 112, 64]]}
    ]
    # --fast leaves what the file does not record null: a model output's shape
    predictions = obj["layers"][-1]
    assert predictions["nodes"][0]["output_shapes"] == [None]


def test_default_mode_fills_every_shape_from_keras(zoo) -> None:
    """A tf.keras 2 file records no shapes; without --fast Keras supplies them all."""
    import keras

    path = zoo.path("siamese", "tf2.h5")
    done = resect("inspect", str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert "loading with Keras..." in done.stderr and "oneDNN" not in done.stderr
    obj = json.loads(done.stdout)
    model = keras.models.load_model(path, compile=False)
    tower = model.get_layer("tower_dense")
    entry = next(layer for layer in obj["layers"] if layer["name"] == "tower_dense")
    assert [n["output_shapes"] for n in entry["nodes"]] == [
        [list(t.shape) for t in node.output_tensors] for node in tower._inbound_nodes
    ]
    assert entry["nodes"][1]["inputs"] == ["tower_pool:1:0"]
    assert all(None not in node["output_shapes"] for layer in obj["layers"] for node in layer["nodes"])
    fast = json.loads(resect("inspect", str(path), "--json", "--fast").stdout)
    assert any(None in node["output_shapes"] for layer in fast["layers"] for node in layer["nodes"])


def test_nested_models_json_and_table(zoo) -> None:
    path = zoo.path("nested", "keras")
    obj = json.loads(resect("inspect", str(path), "--json", "--fast").stdout)
    by_name = {layer["name"]: layer for layer in obj["layers"]}
    assert [inner["name"] for inner in by_name["seq_block"]["layers"]][1:] == ["seq_dense", "seq_bn"]
    assert [inner["name"] for inner in by_name["func_block"]["layers"]] == [
        "inner_in",
        "inner_skip",
        "inner_dense",
        "inner_add",
    ]
    assert [node["inputs"] for node in by_name["func_block"]["nodes"]] == [["seq_block:0:0"], ["side:0:0"]]
    assert by_name["merge"]["nodes"][0]["inputs"] == ["func_block:0:0", "func_block:1:0"]
    assert by_name["seq_block"]["params"] == sum(inner["params"] for inner in by_name["seq_block"]["layers"])
    assert obj["total_params"] == sum(layer["params"] for layer in obj["layers"]) == 987
    table = resect("inspect", str(path)).stdout
    lines = table.splitlines()
    assert any(line.startswith("seq_block (Sequential)") for line in lines)
    assert any(line.startswith("  seq_dense (Dense)") and "(None, 12)" in line for line in lines)
    assert any(line.startswith("  inner_add (Add)") and "(None, 8)" in line for line in lines)
    assert "Total params: 987" in table and "Non-trainable params: 24" in table


def test_table_matches_keras_counts(resnet) -> None:
    path, model = resnet
    done = resect("inspect", str(path))
    assert done.returncode == 0, done.stderr
    table = done.stdout
    assert f"Total params: {model.count_params():,}" in table
    assert "Trainable params: 25,583,592" in table and "Non-trainable params: 53,120" in table
    row = next(line for line in table.splitlines() if line.startswith("conv1_conv (Conv2D)"))
    assert "(None, 112, 112, 64)" in row and "9,472" in row and "conv1_pad:0:0" in row
    add = table.splitlines().index(next(x for x in table.splitlines() if x.startswith("conv2_block1_add (Add)")))
    assert "conv2_block1_3_bn:0:0" in table.splitlines()[add + 1]  # second input on its own line
    row = next(line for line in table.splitlines() if line.startswith("predictions (Dense)"))
    assert "(None, 1000)" in row  # a model output: filled by Keras


def test_keras_failure_still_prints_the_file_with_one_warning() -> None:
    from zoo_keras2 import Keras2Zoo

    path = Keras2Zoo().path("time_major", "h5")  # an LSTM with time_major=True: no Keras 3 equivalent
    done = resect("inspect", str(path), "--json")
    assert done.returncode == 0
    warnings = [line for line in done.stderr.splitlines() if line.startswith("resect:")]
    assert len(warnings) == 1 and "warning" in warnings[0] and str(path) in warnings[0]
    assert "tm_lstm" in warnings[0] and "time_major=True" in warnings[0]
    obj = json.loads(done.stdout)
    assert obj["total_params"] == 128 and obj["format"] == "h5"


@pytest.mark.parametrize("args", [["--help"], ["inspect", "--help"]])
def test_help(args: list[str]) -> None:
    done = resect(*args)
    assert done.returncode == 0 and "usage:" in done.stdout and "inspect" in done.stdout


def test_bad_usage_is_one_line() -> None:
    done = resect("inspect")
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "MODEL" in done.stderr
    done = resect("inspect", "x.keras", "--colour")
    assert done.returncode == 2 and "--colour" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("name", ["nested", "multi_io", "siamese"])
def test_streamed_output_equals_the_whole_object(zoo, name: str) -> None:
    """inspect prints JSON and table piece by piece; the pieces make the same text."""
    from resect.core.reader import read_model
    from resect.core.summary import format_table, inspect_object, iter_inspect_json, iter_table_lines

    graph = read_model(zoo.path(name, "keras"))
    assert "".join(iter_inspect_json(graph)) == json.dumps(inspect_object(graph))
    lines = list(iter_table_lines(graph))
    assert "\n".join(lines) == format_table(graph)
    deep = list(graph.iter_layers_deep())
    rows = [line for line in lines if any(line.strip().startswith(f"{layer.name} (") for _, layer in deep)]
    assert len(rows) == len(deep)
    assert any(line.startswith(f"Total params: {graph.total_params:,} (") for line in lines)


def test_shape_text_like_keras() -> None:
    from resect.core.summary import format_shape

    assert format_shape((None, 112, 112, 64)) == "(None, 112, 112, 64)"
    assert format_shape((5,)) == "(5,)"
    assert format_shape(None) == "?"
