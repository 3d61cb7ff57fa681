"""The Keras backend's loading: deep-stack runs, safe refusal before Keras reads a
file, one-line errors, and shapes / weight flags copied from the loaded model."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from resect.core.errors import ModelFileError
from resect.core.keras_backend.loading import fill_shapes, load_keras_model, load_with_shapes
from resect.core.keras_backend.runtime import import_keras, run_deep
from resect.core.reader import read_model

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from deep_model import write_deep_model  # noqa: E402


def _depth(n: int) -> int:
    return 0 if n == 0 else 1 + _depth(n - 1)


def test_run_deep_returns_and_reraises() -> None:
    limit = sys.getrecursionlimit()
    with pytest.raises(RecursionError):
        _depth(50_000)
    assert run_deep(_depth, 50_000) == 50_000
    assert sys.getrecursionlimit() == limit  # restored afterwards
    with pytest.raises(ZeroDivisionError):
        run_deep(lambda: 1 / 0)
    assert run_deep(lambda a, b=0: a + b, 2, b=3) == 5


def test_import_keras_is_idempotent_across_threads() -> None:
    found: list[object] = []
    threads = [threading.Thread(target=lambda: found.append(import_keras())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 4 and all(module is found[0] for module in found)
    assert found[0].backend.backend() == "tensorflow"


def test_lambda_is_refused_before_keras_reads_the_file(tmp_path: Path) -> None:
    keras = import_keras()
    marker = tmp_path / "ran"
    marker_name = str(marker)
    inp = keras.Input((3,), name="x")
    out = keras.layers.Lambda(lambda t: (open(marker_name, "w").close(), t)[1], name="identity")(inp)
    path = tmp_path / "lambda.keras"
    keras.Model(inp, out).save(path)
    marker.unlink()
    with pytest.raises(ModelFileError) as error:
        load_keras_model(path)
    message = str(error.value)
    assert str(path) in message and "'identity'" in message and "Lambda" in message
    assert "\n" not in message
    assert not marker.exists()


def test_unknown_class_is_named(tmp_path: Path) -> None:
    code = (
        "import keras, sys\n"
        "@keras.saving.register_keras_serializable(package='ResectTest')\n"
        "class Twice(keras.layers.Layer):\n"
        "    def call(self, x):\n"
        "        return x * 2\n"
        "i = keras.Input((2,))\n"
        "keras.Model(i, Twice(name='twice')(i)).save(sys.argv[1])\n"
    )
    path = tmp_path / "custom.keras"
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True, timeout=120)
    with pytest.raises(ModelFileError, match=r"'twice'.*Twice"):
        load_keras_model(path)


def test_file_name_need_not_match_the_format(zoo, tmp_path: Path) -> None:
    """Keras picks its loader by extension; we pick by content."""
    copy = tmp_path / "model.bin"
    shutil.copy(zoo.path("siamese", "keras"), copy)
    model = load_keras_model(copy)
    assert model.count_params() == read_model(copy).total_params == 385


def test_load_with_shapes_fills_a_legacy_file(zoo) -> None:
    graph, model = load_with_shapes(zoo.path("small_resnet", "tf2.h5"))
    assert all(shape is not None for node in graph.iter_nodes() for shape in node.output_shapes)
    assert graph.shape(graph.outputs[0]) == tuple(model.outputs[0].shape) == (None, 10)
    assert graph.node(("conv3_block1_add", 0)).input_shapes == ((None, 16, 16, 16), (None, 16, 16, 16))


def test_fill_shapes_takes_weight_names_and_flags_from_keras(zoo) -> None:
    path = zoo.path("frozen_block", "keras")
    graph = read_model(path)
    model = load_keras_model(path, graph)
    filled = fill_shapes(graph, model)
    for name in ("block1_bn", "block2_bn", "probs"):
        keras_layer = model.get_layer(name)
        ours = filled.layer(name)
        trainable = {id(w) for w in keras_layer.trainable_weights}
        assert [w.name for w in ours.weights] == [w.name for w in keras_layer.weights]
        assert [w.trainable for w in ours.weights] == [id(w) in trainable for w in keras_layer.weights]
    assert filled.layer("block1_bn").trainable_params == 0
    assert filled.layer("block2_bn").non_trainable_params == 16  # moving statistics
    assert filled.total_params == model.count_params()


def test_deep_model_loads_and_fills_in_a_deep_stack(tmp_path: Path) -> None:
    """3,001 layers: plain load_model raises RecursionError; run_deep loads it (DESIGN.md)."""
    keras = import_keras()
    path = write_deep_model(tmp_path / "deep.keras", 3001)
    with pytest.raises(RecursionError):
        keras.models.load_model(path, compile=False)
    graph, model = load_with_shapes(path)
    assert len(model.layers) == len(graph.layers) == 3001
    assert graph.total_params == model.count_params() == 1000 * 72
    assert all(shape == (None, 8) for node in graph.iter_nodes() for shape in node.output_shapes)
    assert [layer.name for layer in model.layers] == [layer.name for layer in graph.layers]
