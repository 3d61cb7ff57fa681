"""``python main.py apply`` as a user runs it: exit codes, output, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def apply(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "apply", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
    )


def recipe(tmp_path: Path, *edits: dict, name: str = "r.resect.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"format": "resect-recipe/1", "edits": list(edits)}))
    return path


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return lines[0]


def test_apply_verify_prints_counts_and_the_difference(zoo, tmp_path):
    out = tmp_path / "middle.keras"
    cut = recipe(tmp_path, {"op": "cut", "inputs": ["conv2_block2_out"], "outputs": ["conv3_block2_out"]})
    result = apply(zoo.path("small_resnet", "keras"), cut, "-o", out, "--verify")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress noise when stderr is not a terminal
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"wrote {out} (keras, ")
    assert lines[1] == "params before: 11,586 (trainable 11,330, non-trainable 256)"
    assert lines[2] == "params after:  8,592 (trainable 8,432, non-trainable 160)"
    assert lines[3] == "verify: max abs diff 0 (tolerance 1e-05)"
    assert "conv3_block2_out:0:0" in lines[4]
    from resect.core.keras_backend.runtime import import_keras

    assert import_keras().models.load_model(out, compile=False).count_params() == 8592

    again = apply(zoo.path("small_resnet", "keras"), cut, "-o", out)
    line = one_line_error(again)
    assert line == f"resect: {out}: already exists; use --force to replace it"
    forced = apply(zoo.path("small_resnet", "keras"), cut, "-o", out, "--force", "--progress")
    assert forced.returncode == 0, forced.stderr
    assert "[5/5]" not in forced.stderr and "[4/4] writing" in forced.stderr


def test_edit_errors_name_the_edit_and_the_tensor(zoo, tmp_path):
    model = zoo.path("small_resnet", "keras")
    bad = recipe(
        tmp_path,
        {"op": "rename", "layer": "predictions", "to": "logits"},
        {"op": "cut", "inputs": ["conv2_block2_1_relu"]},
    )
    line = one_line_error(apply(model, bad, "-o", tmp_path / "x.keras"))
    assert line.startswith("resect: edit 1 (cut): cut inputs do not separate the graph: conv2_block1_out")
    missing = recipe(tmp_path, {"op": "cut", "outputs": ["no_such_layer"]}, name="m.json")
    line = one_line_error(apply(model, missing, "-o", tmp_path / "x.keras"))
    assert line.startswith("resect: edit 0 (cut): ") and "no_such_layer" in line
    assert sorted(os.listdir(tmp_path)) == ["m.json", "r.resect.json"]


def test_a_bad_new_layer_config_names_the_edit(zoo, tmp_path):
    head = recipe(
        tmp_path,
        {
            "op": "replace_head",
            "at": "avg_pool",
            "layers": [{"class_name": "Dense", "config": {"units": 2, "activation": "no_such_activation"}}],
        },
    )
    result = apply(zoo.path("small_resnet", "keras"), head, "-o", tmp_path / "x.keras")
    line = one_line_error(result)
    assert line.startswith("resect: edit 0 (replace_head): ") and "Dense" in line
    assert sorted(os.listdir(tmp_path)) == ["r.resect.json"]


def test_lost_weights_are_refused_until_accepted(tmp_path):
    from resect.core.keras_backend.runtime import import_keras

    k = import_keras()
    inp = k.Input((6, 6, 1), name="pixels")
    x = k.layers.Flatten(name="flat")(k.layers.Conv2D(2, 3, name="conv")(inp))
    model = k.Model(inp, k.layers.Dense(3, name="fc")(x))
    model_path = tmp_path / "flat.keras"
    model.save(model_path)
    edit = {"op": "set_input_shape", "input": "pixels", "shape": [10, 10, 1]}
    line = one_line_error(apply(model_path, recipe(tmp_path, edit), "-o", tmp_path / "big.keras"))
    assert line == (
        "resect: edit 0 (set_input_shape): the new input shape does not fit the trained weights of fc (kernel); "
        'add them to "reinitialize" of set_input_shape (or use ["*"]) to accept fresh weights'
    )
    accepted = recipe(tmp_path, {**edit, "reinitialize": ["fc"]}, name="ok.json")
    result = apply(model_path, accepted, "-o", tmp_path / "big.keras", "--verify")
    assert result.returncode == 0, result.stderr
    assert "re-initialised: fc (kernel)" in result.stdout
    assert "fc:0:0: new computation, not compared" in result.stdout
    assert "flat:0:0" in result.stdout  # the kept trunk was verified at the new shape


def test_savedmodel_output_for_a_trailing_slash(zoo, tmp_path):
    out = str(tmp_path / "served") + "/"
    result = apply(
        zoo.path("siamese", "keras"), recipe(tmp_path, {"op": "cut", "outputs": ["tower_dense:1"]}), "-o", out
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {tmp_path / 'served'} (savedmodel, ")
    assert (tmp_path / "served" / "saved_model.pb").exists()


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing model", "missing.keras: no such file"),
        ("missing recipe", "nope.json"),
        ("unknown format", "cannot tell the format"),
        ("missing folder", "does not exist"),
        ("no output", "-o/--output"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(zoo, tmp_path, case, expected):
    model, cut = zoo.path("small_resnet", "keras"), recipe(tmp_path, {"op": "cut"})
    args = {
        "missing model": [tmp_path / "missing.keras", cut, "-o", tmp_path / "o.keras"],
        "missing recipe": [model, tmp_path / "nope.json", "-o", tmp_path / "o.keras"],
        "unknown format": [model, cut, "-o", tmp_path / "o.txt"],
        "missing folder": [model, cut, "-o", tmp_path / "no" / "dir" / "o.keras"],
        "no output": [model, cut],
    }[case]
    assert expected in one_line_error(apply(*args))
    assert sorted(os.listdir(tmp_path)) == ["r.resect.json"]


def test_help_explains_how_to_accept_reinitialisation():
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "apply", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0
    assert '"reinitialize": ["fc1", "predictions"]' in result.stdout and '["*"]' in result.stdout
    assert "--force" in result.stdout and "--verify" in result.stdout and "savedmodel" in result.stdout
