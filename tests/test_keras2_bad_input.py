"""Bad Keras 2 input for ``convert``: exit 2, one line naming the file and the layer or
op at fault, nothing written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from zoo_keras2 import Keras2Zoo

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def keras2() -> Keras2Zoo:
    return Keras2Zoo()


def _convert_fails(source: Path, out: Path) -> str:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "convert", str(source), "-o", str(out), "--verify"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "a temporary file was left"
    return lines[0]


def _copy(keras2: Keras2Zoo, name: str, tmp_path: Path) -> Path:
    target = tmp_path / f"{name}_savedmodel"
    shutil.copytree(keras2.path(name, "savedmodel"), target)
    return target


def test_corrupt_keras_metadata(keras2, tmp_path):
    source = _copy(keras2, "rnn", tmp_path)
    (source / "keras_metadata.pb").write_bytes(b"\x0a\xff\xff\xff\x0fnot a proto")
    (tmp_path / "out").mkdir()
    line = _convert_fails(source, tmp_path / "out" / "m.keras")
    assert str(source) in line and "keras_metadata.pb is corrupt" in line


def test_missing_variables_folder(keras2, tmp_path):
    source = _copy(keras2, "rnn", tmp_path)
    shutil.rmtree(source / "variables")
    (tmp_path / "out").mkdir()
    line = _convert_fails(source, tmp_path / "out" / "m.keras")
    assert str(source) in line and "no variables/ folder" in line


def test_plain_tensorflow_saved_model(tmp_path):
    from resect.core.keras_backend.runtime import import_keras

    keras = import_keras()
    inp = keras.Input((3,), name="x")
    keras.Model(inp, keras.layers.Dense(2, name="d")(inp)).export(str(tmp_path / "plain"), verbose=False)
    assert not (tmp_path / "plain" / "keras_metadata.pb").exists()
    (tmp_path / "out").mkdir()
    line = _convert_fails(tmp_path / "plain", tmp_path / "out" / "m.keras")
    assert str(tmp_path / "plain") in line and "plain TensorFlow SavedModel (no keras_metadata.pb)" in line


@pytest.mark.parametrize("fmt", ["h5", "savedmodel"])
def test_unmapped_tf_op_is_named(keras2, tmp_path, fmt):
    (tmp_path / "out").mkdir()
    source = keras2.path("unmapped_op", fmt)
    line = _convert_fails(source, tmp_path / "out" / "m.keras")
    assert str(source) in line and "'tf.math.cumsum'" in line and "tf.math.cumsum has no Keras 3 mapping" in line


@pytest.mark.parametrize("fmt", ["h5", "savedmodel"])
def test_rewrite_that_does_not_apply_names_the_layer(keras2, tmp_path, fmt):
    (tmp_path / "out").mkdir()
    source = keras2.path("time_major", fmt)
    line = _convert_fails(source, tmp_path / "out" / "m.keras")
    assert str(source) in line and "'tm_lstm'" in line and "time_major=True has no Keras 3 equivalent" in line


def test_the_graph_still_opens_with_the_problem_marked(keras2):
    from resect.core.reader import read_model

    graph = read_model(keras2.path("unmapped_op", "savedmodel"))
    assert graph.layer("tf.math.cumsum").problem == "TensorFlow op tf.math.cumsum has no Keras 3 mapping"
