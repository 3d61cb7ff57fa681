"""Bad input to ``inspect``: exit 2, one stderr line naming the file and the problem,
within seconds, no traceback. Models Keras cannot load safely (a ``Lambda``, an
unknown custom class) still open, flagged, and no code from them runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONDONTWRITEBYTECODE": "1"}


def run_inspect(*args: str, timeout: float = 120) -> tuple[int, str, str, float]:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "inspect", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=ENV,
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - start


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _empty(tmp: Path, zoo) -> Path:
    (tmp / "empty.keras").write_bytes(b"")
    return tmp / "empty.keras"


def _truncated_zip(tmp: Path, zoo) -> Path:
    data = zoo.path("small_resnet", "keras").read_bytes()
    (tmp / "truncated.keras").write_bytes(data[: len(data) // 2])
    return tmp / "truncated.keras"


def _random_bytes(tmp: Path, zoo) -> Path:
    (tmp / "random.h5").write_bytes(np.random.default_rng(0).bytes(4096))
    return tmp / "random.h5"


def _text_file(tmp: Path, zoo) -> Path:
    (tmp / "notes.keras").write_text("this is not a model\n")
    return tmp / "notes.keras"


def _zip_without_config(tmp: Path, zoo) -> Path:
    return _zip(tmp / "noconfig.keras", {"metadata.json": b"{}", "model.weights.h5": b""})


def _broken_json(tmp: Path, zoo) -> Path:
    return _zip(tmp / "brokenjson.keras", {"config.json": b'{"class_name": "Functional", "config": {', "x": b""})


def _weights_only_h5(tmp: Path, zoo) -> Path:
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    target = tmp / "only.weights.h5"
    model.save_weights(target)
    return target


def _unsafe_entry(tmp: Path, zoo) -> Path:
    config = zipfile.ZipFile(zoo.path("siamese", "keras")).read("config.json")
    return _zip(tmp / "escape.keras", {"config.json": config, "../../x": b"boom", "model.weights.h5": b""})


def _hdf5_not_a_model(tmp: Path, zoo) -> Path:
    target = tmp / "data.h5"
    with h5py.File(target, "w") as h5:
        h5["values"] = np.arange(10)
    return target


def _directory(tmp: Path, zoo) -> Path:
    (tmp / "folder.keras").mkdir()
    return tmp / "folder.keras"


def _missing(tmp: Path, zoo) -> Path:
    return tmp / "missing.keras"


BAD = {
    "empty file": (_empty, "empty"),
    "truncated zip": (_truncated_zip, "truncated or corrupt"),
    "random bytes": (_random_bytes, "not a Keras model"),
    "text file": (_text_file, "not a Keras model"),
    "zip without config.json": (_zip_without_config, "no config.json"),
    "broken JSON": (_broken_json, "not valid JSON"),
    "weights-only h5": (_weights_only_h5, "weights-only"),
    "zip entry ../../x": (_unsafe_entry, "unsafe entry name '../../x'"),
    "HDF5 not a model": (_hdf5_not_a_model, "not a Keras model"),
    "directory": (_directory, "is a directory"),
    "missing file": (_missing, "no such file"),
}


@pytest.mark.parametrize("case", list(BAD))
@pytest.mark.parametrize("mode", [["--fast"], ["--json"]], ids=["fast", "keras"])
def test_bad_input_exits_2_with_one_line(tmp_path: Path, zoo, case: str, mode: list[str]) -> None:
    make, reason = BAD[case]
    path = make(tmp_path, zoo)
    code, out, err, seconds = run_inspect(str(path), *mode)
    assert code == 2, (out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(path) in lines[0] and reason in lines[0], lines[0]
    assert "Traceback" not in err
    assert seconds < 10, f"took {seconds:.1f} s"


# --- models Keras cannot load safely: shown, flagged, nothing runs ------------------


def _lambda_model(tmp: Path, fmt: str) -> tuple[Path, Path]:
    """A model whose Lambda body would create a marker file if anything ran it."""
    import keras

    marker = tmp / f"lambda_ran_{fmt.replace('.', '_')}"
    marker_name = str(marker)  # a plain string: Keras serialises the closure with the code
    inp = keras.Input((4,), name="x")
    hidden = keras.layers.Dense(4, name="dense")(inp)
    out = keras.layers.Lambda(lambda t: (open(marker_name, "w").close(), t)[1], name="identity")(hidden)
    path = tmp / f"with_lambda.{fmt}"
    keras.Model(inp, out, name="with_lambda").save(path)
    assert marker.exists()  # the body really writes the marker when it runs
    marker.unlink()  # building the model traced the lambda once; start clean
    return path, marker


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_lambda_model_opens_flagged_and_nothing_runs(tmp_path: Path, fmt: str) -> None:
    path, marker = _lambda_model(tmp_path, fmt)
    code, out, err, _ = run_inspect(str(path), "--fast", "--json")
    assert code == 0, err
    layer = {entry["name"]: entry for entry in json.loads(out)["layers"]}["identity"]
    assert layer["class_name"] == "Lambda" and layer["loadable"] is False and "Lambda" in layer["problem"]
    assert {entry["name"] for entry in json.loads(out)["layers"]} == {"x", "dense", "identity"}
    code, out, err, _ = run_inspect(str(path))  # the Keras path refuses before loading
    assert code == 0
    assert "identity (Lambda) [!]" in out and "Total params: 20" in out
    warning = err.strip().splitlines()
    assert len(warning) == 1 and "'identity'" in warning[0] and "warning" in warning[0]
    assert not marker.exists(), "code from the model file ran"
    if fmt == "keras":  # the marker does catch code that runs: unsafe Keras loading runs it
        unsafe = f"import keras; keras.models.load_model({str(path)!r}, safe_mode=False)"
        subprocess.run([sys.executable, "-c", unsafe], env=ENV, timeout=120, capture_output=True, check=True)
        assert marker.exists()


CUSTOM = """
import keras, sys
@keras.saving.register_keras_serializable(package="ResectTest")
class Doubler(keras.layers.Layer):
    def call(self, x):
        return x * 2
inp = keras.Input((3,), name="x")
out = Doubler(name="doubler")(keras.layers.Dense(3, name="dense")(inp))
keras.Model(inp, out, name="custom").save(sys.argv[1])
"""


def test_unknown_custom_class_opens_flagged(tmp_path: Path) -> None:
    path = tmp_path / "custom.keras"
    subprocess.run([sys.executable, "-c", CUSTOM, str(path)], check=True, env=ENV, timeout=120, capture_output=True)
    code, out, err, _ = run_inspect(str(path), "--fast", "--json")
    assert code == 0, err
    layers = {entry["name"]: entry for entry in json.loads(out)["layers"]}
    assert layers["doubler"]["loadable"] is False and "Doubler" in layers["doubler"]["problem"]
    assert layers["dense"]["loadable"] is True and layers["dense"]["params"] == 12
    code, out, err, _ = run_inspect(str(path))
    assert code == 0 and "doubler (Doubler) [!]" in out
    assert len(err.strip().splitlines()) == 1 and "'doubler'" in err
