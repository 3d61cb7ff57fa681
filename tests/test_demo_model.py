"""The bundled demo model: small, loadable by Keras in safe mode, shaped for every kind of
surgery, read the same way by our reader and by Keras, and exactly what its script makes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from resect import resources
from resect.core.reader import read_model
from resect.resources import ResourceMissingError, make_demo_model

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def keras():
    from resect.core.keras_backend.runtime import import_keras

    return import_keras()


@pytest.fixture(scope="module")
def demo_keras_model(keras):
    return keras.models.load_model(resources.demo_model_path(), safe_mode=True)


def test_resources_are_found_through_the_package():
    demo = resources.demo_model_path()
    assert demo.resolve() == ROOT / "resources" / "demo_model.keras"  # resect/resources links to it
    assert demo.is_file() and demo.stat().st_size < 1_000_000
    icon = resources.icon_path()
    assert icon.resolve() == ROOT / "resources" / "resect.svg"
    assert ET.parse(icon).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    assert resources.icon_path("resect.svg") == icon
    assert resources.resource_path("demo_model.keras") == demo


@pytest.mark.parametrize("name", ["no_such_file.keras", "../pyproject.toml", "", "icons/../../main.py"])
def test_missing_or_escaping_resource_is_one_clear_error(name):
    with pytest.raises(ResourceMissingError) as error:
        resources.resource_path(name)
    assert "\n" not in str(error.value) and repr(name) in str(error.value)


def test_missing_icon_names_the_icon():
    with pytest.raises(ResourceMissingError, match="icon 'no-such-icon' is missing"):
        resources.icon_path("no-such-icon")


def test_resources_inside_a_zip_import_are_extracted_to_real_files(tmp_path):
    """Where the package is not a directory (zipimport), callers still get a real file path."""
    archive = tmp_path / "resect.zip"
    with zipfile.ZipFile(archive, "w") as zf:  # the package as a wheel lays it out, zipped
        zf.write(ROOT / "resect" / "__init__.py", "resect/__init__.py")
        for path in (ROOT / "core").rglob("*.py"):
            zf.write(path, f"resect/{path.relative_to(ROOT)}")
        for name in ("__init__.py", "demo_model.keras", "resect.svg"):
            zf.write(ROOT / "resources" / name, f"resect/resources/{name}")
    script = (
        "from resect import resources; import sys; p = resources.demo_model_path(); i = resources.icon_path();"
        "assert 'zip' in resources.__file__, resources.__file__;"
        "print(p.is_file(), p.read_bytes() == open(sys.argv[1], 'rb').read(), i.suffix)"
    )
    env = {**os.environ, "PYTHONPATH": str(archive)}
    result = subprocess.run(
        [sys.executable, "-c", script, str(resources.demo_model_path())],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", ".svg"]


def test_reader_sees_the_structure_the_demo_is_meant_to_show():
    graph = read_model(resources.demo_model_path())
    assert graph.layer("shared_embed").class_name == "Dense"
    assert len(graph.layer("shared_embed").nodes) == 2  # one layer, two calls
    refine = graph.layer("refine")
    assert refine.class_name == "Sequential" and refine.subgraph is not None
    assert [layer.name for layer in refine.subgraph.layers][-1] == "refine_relu"
    adds = [layer for layer in graph.layers if layer.class_name == "Add"]
    assert [len(add.nodes[0].inputs) for add in adds] == [2, 2]  # two skip connections
    assert list(graph.layer("image").config["batch_shape"]) == [None, 96, 96, 3]
    assert graph.layer("predictions").config["units"] == 10


def test_counts_match_keras(demo_keras_model):
    graph = read_model(resources.demo_model_path())
    trainable = sum(int(np.prod(w.shape)) for w in demo_keras_model.trainable_weights)
    assert graph.total_params == demo_keras_model.count_params() == 31242
    assert graph.trainable_params == trainable
    assert graph.non_trainable_params == demo_keras_model.count_params() - trainable


def test_keras_runs_it_and_batchnorm_statistics_look_trained(demo_keras_model):
    batch = np.random.default_rng(0).uniform(0, 255, (3, 96, 96, 3)).astype("float32")
    probabilities = np.asarray(demo_keras_model(batch, training=False))
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    moving_mean, moving_variance = demo_keras_model.get_layer("stem_bn").get_weights()[2:]
    assert np.abs(moving_mean).max() > 0.1 and np.abs(moving_variance - 1).max() > 0.1
    inner_bn = demo_keras_model.get_layer("refine").get_layer("refine_bn")
    assert np.abs(inner_bn.get_weights()[2]).max() > 0.1


def _canonical_config(archive: Path) -> dict:
    """config.json with Keras' shared_object_id (an object's memory address) renumbered by first use."""
    ids: dict[int, int] = {}

    def walk(value):
        if isinstance(value, dict):
            return {
                key: ids.setdefault(item, len(ids)) if key == "shared_object_id" else walk(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    with zipfile.ZipFile(archive) as zf:
        return walk(json.loads(zf.read("config.json")))


def _weights(archive: Path, target: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(archive) as zf:
        target.write_bytes(zf.read("model.weights.h5"))
    arrays: dict[str, np.ndarray] = {}
    with h5py.File(target, "r") as h5:
        h5.visititems(lambda name, item: arrays.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None)
    return arrays


def test_committed_demo_model_is_what_the_script_makes(tmp_path, keras):
    rebuilt = make_demo_model.make_demo_model(tmp_path / "demo_model.keras")
    committed = resources.demo_model_path()
    assert _canonical_config(rebuilt) == _canonical_config(committed)
    new, old = _weights(rebuilt, tmp_path / "new.weights.h5"), _weights(committed, tmp_path / "old.weights.h5")
    assert sorted(new) == sorted(old) and len(old) >= 40
    for name, values in old.items():
        np.testing.assert_array_equal(new[name], values, err_msg=name)
