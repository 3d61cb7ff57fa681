"""tf.keras 2 files (``.h5`` and SavedModel, written by ``tf_keras``) opened and converted.

Each model of ``zoo_keras2``: opens without TensorFlow with tf.keras' own parameter
counts, ``convert --verify`` passes against tf.keras 2 run in its own process, and the
export, reloaded in plain Keras 3, gives tf.keras' outputs on the writer's input to 1e-5.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from zoo_keras2 import CONVERTIBLE, Keras2Zoo

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("h5", "savedmodel")


@pytest.fixture(scope="module")
def keras2() -> Keras2Zoo:
    return Keras2Zoo()


def test_every_model_opens_fast_without_tensorflow_with_tf_keras_counts(keras2):
    paths = {(name, fmt): str(keras2.path(name, fmt)) for name in CONVERTIBLE for fmt in FORMATS}
    code = (
        "import json, sys\n"
        "from resect.core.reader import read_model\n"
        f"paths = {json.dumps({f'{n}|{f}': p for (n, f), p in paths.items()})}\n"
        "out = {}\n"
        "for key, path in paths.items():\n"
        "    g = read_model(path)\n"
        "    out[key] = [g.format, g.total_params, g.trainable_params, len(g.upgrades)]\n"
        "out['heavy'] = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found.pop("heavy") == []
    for (name, fmt), _ in paths.items():
        reference = np.load(keras2.reference(name))
        graph_format, total, trainable, upgrades = found[f"{name}|{fmt}"]
        assert graph_format == fmt
        assert total == int(reference["count_params"]), (name, fmt)
        assert trainable == int(reference["trainable_params"]), (name, fmt)
        assert upgrades > 0


def _convert(capsys, source: Path, out: Path) -> tuple[int, str, str]:
    from resect.cli.main import main

    code = main(["convert", str(source), "-o", str(out), "--verify"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", [n for n in CONVERTIBLE if n != "resnet50"])
def test_convert_verifies_against_tf_keras_and_reloads_in_plain_keras3(keras2, capsys, tmp_path, name, fmt):
    out = tmp_path / f"{name}.keras"
    code, stdout, stderr = _convert(capsys, keras2.path(name, fmt), out)
    assert code == 0, stderr
    assert "Keras 2 -> 3 rewrites:" in stdout
    assert "against the original run by tf_keras 2." in stdout, stdout
    assert "NOT VERIFIED" not in stdout
    _assert_matches_tf_keras(keras2, name, out)


def _assert_matches_tf_keras(keras2: Keras2Zoo, name: str, out: Path) -> None:
    from resect.core.keras_backend.runtime import import_keras

    keras = import_keras()
    reloaded = keras.models.load_model(out, compile=False)  # plain Keras 3: no custom objects
    reference = np.load(keras2.reference(name))
    feed = [reference[f"x{i}"] for i in range(len(reloaded.inputs))]
    got = reloaded(feed[0] if len(feed) == 1 else feed, training=False)
    got = got if isinstance(got, (list, tuple)) else [got]
    assert len(got) == len([k for k in reference.files if k.startswith("y")])
    for i, value in enumerate(got):
        expected = reference[f"y{i}"]
        assert np.asarray(value).shape == expected.shape
        assert np.max(np.abs(np.asarray(value) - expected)) <= 1e-5, (name, i)
    assert reloaded.count_params() == int(reference["count_params"])


def test_rewrites_are_reported_by_name(keras2, capsys, tmp_path):
    code, stdout, _ = _convert(capsys, keras2.path("mobilenet", "h5"), tmp_path / "m.keras")
    assert code == 0
    assert "  13 DepthwiseConv2D: dropped groups=1" in stdout.splitlines()
    from resect.cli.main import main

    assert main(["inspect", "--fast", str(keras2.path("rnn", "savedmodel"))]) == 0
    table = capsys.readouterr().out
    assert "  1 LSTM: dropped time_major=False" in table.splitlines()
    assert "  1 GRU: dropped time_major=False" in table.splitlines()


def test_tf_op_nodes_are_graph_nodes_with_function_and_arguments(keras2, capsys):
    from resect.cli.main import main

    assert main(["inspect", "--fast", "--json", str(keras2.path("tf_ops", "h5"))]) == 0
    found = json.loads(capsys.readouterr().out)
    layers = {layer["name"]: layer for layer in found["layers"]}
    multiply = layers["tf.math.multiply"]
    assert multiply["class_name"] == "TFOpLambda"
    assert multiply["function"] == "tf.math.multiply"
    assert multiply["arguments"] == [{"y": 2.0}]
    assert multiply["params"] == 0 and multiply["loadable"]
    assert multiply["nodes"][0]["inputs"] == ["tf.nn.relu:0:0"]
    assert layers["tf.__operators__.getitem"]["class_name"] == "SlicingOpLambda"
    assert layers["tf.concat"]["nodes"][0]["inputs"] == ["tf.math.multiply:0:0", "x:0:0"]
    assert layers["tf.__operators__.add"]["arguments"] == [{"y": "tf.math.sigmoid:0:0"}]  # a tensor argument


def test_cut_through_tf_ops_is_verified(keras2, tmp_path):
    recipe = tmp_path / "cut.resect.json"
    recipe.write_text(
        json.dumps(
            {
                "format": "resect-recipe/1",
                "edits": [{"op": "cut", "inputs": ["tf.reshape"], "outputs": ["tf.math.reduce_mean"]}],
            }
        )
    )
    out = tmp_path / "cut.keras"
    done = _cli("apply", keras2.path("tf_ops", "savedmodel"), recipe, "-o", out, "--verify")
    assert done.returncode == 0, done.stderr
    assert "verify: max abs diff 0" in done.stdout


@pytest.mark.slow
def test_resnet50_converts_from_h5_and_savedmodel_and_a_cut_of_the_savedmodel_verifies(keras2, capsys, tmp_path):
    for fmt in FORMATS:
        out = tmp_path / f"resnet50_{fmt}.keras"
        code, stdout, stderr = _convert(capsys, keras2.path("resnet50", fmt), out)
        assert code == 0, stderr
        assert "against the original run by tf_keras 2." in stdout
        _assert_matches_tf_keras(keras2, "resnet50", out)
    recipe = tmp_path / "cut.resect.json"
    recipe.write_text(
        json.dumps(
            {
                "format": "resect-recipe/1",
                "edits": [{"op": "cut", "inputs": ["conv3_block4_out"], "outputs": ["conv4_block6_out"]}],
            }
        )
    )
    out = tmp_path / "middle.keras"
    done = _cli("apply", keras2.path("resnet50", "savedmodel"), recipe, "-o", out, "--verify")
    assert done.returncode == 0, done.stderr
    assert "verify: max abs diff" in done.stdout
    assert "conv4_block6_out:0:0" in done.stdout


def _cli(*args: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *map(str, args)], capture_output=True, text=True, cwd=ROOT, env=env
    )


def test_without_tf_keras_the_conversion_is_said_not_verified(keras2, capsys, tmp_path, monkeypatch):
    import resect.core.keras_backend.legacy_check as legacy_check

    monkeypatch.setattr(legacy_check, "legacy_runtime", lambda: None)  # as on a machine without tf_keras
    out = tmp_path / "rnn.keras"
    code, stdout, stderr = _convert(capsys, keras2.path("rnn", "h5"), out)
    assert code == 0, stderr
    assert "NOT VERIFIED against the original runtime: tf_keras (tf.keras 2) is not installed" in stdout
    assert "verify: max abs diff" not in stdout
    assert out.exists()
