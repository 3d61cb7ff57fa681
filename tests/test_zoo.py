"""The test zoo itself: model names do not depend on what the process built before, and
its cache never serves files written by other zoo code or another Keras."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import zoo

HERE = Path(__file__).resolve().parent
ALONE = """
import json, sys
sys.path.insert(0, {here!r})
import zoo
print(json.dumps([layer.name for layer in zoo.build("mobilenet_v2").layers]))
"""


def test_a_model_built_after_others_has_the_names_it_has_alone():
    import keras

    alone = subprocess.run(
        [sys.executable, "-c", ALONE.format(here=str(HERE))], check=True, capture_output=True, text=True
    )
    names_alone = json.loads(alone.stdout.strip().splitlines()[-1])
    # advance Keras' per-process name counters the way earlier tests would
    zoo.build("siamese")
    keras.layers.Dense(2)
    keras.Input((3,))
    keras.layers.Conv2D(1, 1)
    names_after = [layer.name for layer in zoo.build("mobilenet_v2").layers]
    assert names_after == names_alone
    assert names_alone[0] == "input_layer" and "Conv1" in names_alone  # auto-named and named layers alike


def test_cache_key_follows_zoo_code_and_writer_versions(monkeypatch, tmp_path):
    key = zoo.cache_key()
    assert zoo.ZooCache(tmp_path).directory == tmp_path / key
    assert zoo.cache_key() == key  # stable within a run
    real_version = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: "0.0.1" if name == "keras" else real_version(name))
    assert zoo.cache_key() != key  # another Keras writes into another directory
