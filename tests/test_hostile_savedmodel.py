"""Issue 10's protections on the registry's third format, tf.keras SavedModel folders:
bounded reads of ``keras_metadata.pb`` / ``saved_model.pb``, no FIFO or device under
``variables/`` handed to TensorFlow, the trust rule on every object of the Keras 2 config,
and ``read_config`` / ``check_weight_links`` / ``sniff_format`` for every registered format."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fuzz_engine import build_seeds, metadata_root, with_metadata_root
from zoo_keras2 import Keras2Zoo

from resect.core.errors import ModelFileError
from resect.core.reader import check_weight_links, read_config, read_model

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Keras2Zoo().path("rnn", "savedmodel")


def copy(saved: Path, tmp_path: Path) -> Path:
    target = tmp_path / "model_savedmodel"
    shutil.copytree(saved, target)
    return target


def run(*argv: str, timeout: float = 60) -> tuple[int, str, float]:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *argv], capture_output=True, text=True, timeout=timeout, env=ENV
    )
    return done.returncode, done.stderr, time.monotonic() - start


def one_line(code: int, err: str, *words: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def change_root_config(folder: Path, change) -> None:
    """Rewrite the root node's metadata JSON (the model config) in ``keras_metadata.pb``."""
    data = (folder / "keras_metadata.pb").read_bytes()
    meta = metadata_root(data)
    change(meta)
    (folder / "keras_metadata.pb").write_bytes(with_metadata_root(data, json.dumps(meta)))


def second_layer(meta: dict[str, Any]) -> dict[str, Any]:
    return meta["config"]["layers"][1]


# --- tests ---------------------------------------------------------------------------------


def test_the_writer_round_trips(saved, tmp_path):
    folder = copy(saved, tmp_path)
    change_root_config(folder, lambda meta: None)
    assert [layer.name for layer in read_model(folder).layers] == [layer.name for layer in read_model(saved).layers]


def test_fifo_under_variables_is_refused_before_tensorflow_opens_it(saved, tmp_path):
    folder = copy(saved, tmp_path)
    data = next((folder / "variables").glob("variables.data-*"))
    data.unlink()
    os.mkfifo(data)
    (tmp_path / "out").mkdir()
    code, err, seconds = run("convert", str(folder), "-o", str(tmp_path / "out" / "m.keras"))
    one_line(code, err, str(folder), "FIFO", "variables/variables.data-")
    assert seconds < 50 and not (tmp_path / "out" / "m.keras").exists()
    with pytest.raises(ModelFileError, match="FIFO"):
        check_weight_links(folder)


def test_fifo_or_device_as_a_protobuf_file_never_blocks(saved, tmp_path):
    for name in ("keras_metadata.pb", "saved_model.pb"):
        folder = copy(saved, tmp_path / name)
        (folder / name).unlink()
        os.mkfifo(folder / name)
        code, err, seconds = run("inspect", str(folder), "--fast", timeout=30)
        one_line(code, err, str(folder))
        assert seconds < 25
    folder = copy(saved, tmp_path / "device")
    (folder / "saved_model.pb").unlink()
    (folder / "saved_model.pb").symlink_to("/dev/zero")
    code, err, _ = run("inspect", str(folder), "--fast", timeout=30)
    one_line(code, err, str(folder), "saved_model.pb")


def test_oversized_protobuf_files_are_refused_unread(saved, tmp_path, monkeypatch):
    import resect.core.reader.savedmodel as savedmodel

    monkeypatch.setattr(savedmodel, "MAX_SAVED_MODEL_PB_BYTES", 1000)
    with pytest.raises(ModelFileError, match=r"keras_metadata\.pb is larger than"):
        read_model(saved)


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda layer: layer.update(module="resect_evil.layers"), "resect_evil"),
        (lambda layer: layer.update(class_name="Lambda"), "Lambda"),
        (
            lambda layer: layer["config"].update(
                kernel_initializer={"class_name": "Evil", "module": "os.path", "config": {}}
            ),
            "os.path",
        ),
    ],
)
def test_trust_rule_at_every_depth_of_a_savedmodel_config(saved, tmp_path, change, words):
    folder = copy(saved, tmp_path)
    name = second_layer(json.loads(json.dumps(read_config(saved))))["config"]["name"]
    change_root_config(folder, lambda meta: change(second_layer(meta)))
    graph = read_model(folder)
    assert words in (graph.layer(name).problem or ""), graph.layer(name).problem
    (tmp_path / "out").mkdir()
    code, err, _ = run("convert", str(folder), "-o", str(tmp_path / "out" / "m.keras"))
    one_line(code, err, str(folder), name)
    assert not (tmp_path / "out" / "m.keras").exists()


def test_config_and_link_checks_for_every_registered_format(saved, tmp_path):
    seeds = build_seeds(tmp_path / "seeds")
    for path in (seeds["keras"], seeds["h5"], saved):
        config = read_config(path)
        assert isinstance(config, dict) and config.get("class_name") in ("Functional", "Sequential"), path
        check_weight_links(path)  # a clean file of each format passes
    # the legacy formats give the config Keras 3 will see: the upgraded one
    assert "batch_input_shape" not in json.dumps(read_config(saved))
    assert "batch_input_shape" in (saved / "keras_metadata.pb").read_bytes().decode("latin1")


def test_sniff_format_never_blocks_on_a_fifo_or_device(tmp_path):
    fifo = tmp_path / "fifo.keras"
    os.mkfifo(fifo)
    script = (
        "import sys\nfrom resect.core.reader import sniff_format\nfrom resect.core.errors import ModelFileError\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n        sniff_format(path)\n    except ModelFileError as e:\n        print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(fifo), "/dev/zero", "/dev/null", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        env=ENV,
    )
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 4, done.stdout + done.stderr
    assert "FIFO" in lines[0] and "character device" in lines[1] and "character device" in lines[2]
    assert "is a directory, but not a Keras model directory" in lines[3]
