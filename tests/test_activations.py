"""Activations: every tensor in one pass equals Keras' own ``keras.Model(inputs, [tensors])``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from resect.core.data_input import DataInputError, InputSpec, read_inputs
from resect.core.tensor_ref import TensorRef

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def keras():
    from resect.core.keras_backend.runtime import import_keras

    return import_keras()


def opened(zoo, name: str, edits=()):
    from resect.core.keras_backend.activation_run import open_probes

    return open_probes(zoo.path(name, "keras"), edits)


def random_feeds(probe, seed: int = 3) -> list[np.ndarray]:
    from resect.core.keras_backend.activation_run import feeds

    return feeds(probe, {None: "random"}, seed=seed)


def reference(keras, model, tensors: list, feed: list[np.ndarray]) -> list[np.ndarray]:
    """What a user writes by hand: a model from the inputs to the tensors, run on ``feed``."""
    values = keras.Model(model.inputs, tensors)(feed, training=False)
    return [np.asarray(v) for v in (values if isinstance(values, (list, tuple)) else [values])]


def call_output(model, layer_name: str, call: int, index: int = 0):
    """Output ``index`` of call ``call`` of a layer, as Keras' own node holds it."""
    from resect.core.keras_backend.build import model_calls

    layer = model.get_layer(layer_name)
    return model_calls(model, layer)[call].outputs[index]


def assert_close(got: np.ndarray, expected: np.ndarray, name: str) -> None:
    assert got.shape == expected.shape, name
    assert float(np.max(np.abs(got.astype(np.float64) - expected), initial=0.0)) <= TOLERANCE, name


def test_resnet50_every_layer_equals_keras(zoo, keras):
    probes = opened(zoo, "resnet50")
    model, probe = probes.model, probes.original
    expected_names = [f"{layer.name}:0:0" for layer in model.layers]
    assert sorted(probe.names) == sorted(expected_names)
    feed = random_feeds(probe)
    values = probe.run(feed)
    outputs = reference(keras, model, [layer.output for layer in model.layers], feed)
    for layer, expected in zip(model.layers, outputs, strict=True):
        assert_close(values[f"{layer.name}:0:0"], expected, layer.name)
    again = probe.run(feed, only=["conv2_block1_out:0:0", "predictions:0:0"])  # a subset model
    assert list(again) == ["conv2_block1_out:0:0", "predictions:0:0"]
    assert_close(again["predictions:0:0"], values["predictions:0:0"].astype(np.float64), "predictions")


def test_compiled_call_is_traced_once_for_any_batch_and_equals_eager(zoo, keras):
    probe = opened(zoo, "siamese").original
    feed = random_feeds(probe)
    eager = probe.run(feed)  # nothing traced yet: eager, and no trace started by a run
    assert not probe.compiled and probe._compiled is None
    probe.trace_soon()
    assert probe.wait_for_trace(120) and probe.compiled
    for batch in (1, 3, 2):  # a new batch size would retrace predict_on_batch; not this call
        values = probe.run([np.repeat(x, batch, axis=0) for x in feed])
        for name, expected in eager.items():
            assert_close(values[name][:1], expected.astype(np.float64), name)
            assert values[name].shape[0] == batch, name
    assert probe._compiled.traces == 1
    other = probe.run([x.astype(np.float64) for x in feed])  # not the signature's dtype: Keras' eager call takes it
    assert_close(other["tower_dense:1:0"], eager["tower_dense:1:0"].astype(np.float64), "tower_dense:1:0")
    assert probe._compiled.traces == 1


def test_siamese_calls_of_the_shared_tower_are_separate_tensors(zoo, keras):
    probes = opened(zoo, "siamese")
    model, probe = probes.model, probes.original
    shared = [f"tower_{part}:{call}:0" for part in ("conv", "pool", "dense") for call in (0, 1)]
    assert set(shared) <= set(probe.names)
    feed = random_feeds(probe)
    values = probe.run(feed)
    refs = [TensorRef.parse(name) for name in probe.names]
    tensors = [call_output(model, ref.layer, ref.node_index, ref.tensor_index) for ref in refs]
    for name, expected in zip(probe.names, reference(keras, model, tensors, feed), strict=True):
        assert_close(values[name], expected, name)
    assert not np.allclose(values["tower_dense:0:0"], values["tower_dense:1:0"])  # left and right differ


def test_nested_models_inner_tensors_per_call(zoo, keras):
    probes = opened(zoo, "nested")
    model, probe = probes.model, probes.original
    inner = {n for n in probe.names if "/" in n}
    assert inner == {
        "seq_block/seq_dense:0:0",
        "seq_block/seq_bn:0:0",
        *(f"func_block/{layer}:{call}:0" for layer in ("inner_skip", "inner_dense", "inner_add") for call in (0, 1)),
    }
    feed = random_feeds(probe)
    values = probe.run(feed)
    top = [n for n in probe.names if "/" not in n]
    tensors = [call_output(model, r.layer, r.node_index, r.tensor_index) for r in map(TensorRef.parse, top)]
    for name, expected in zip(top, reference(keras, model, tensors, feed), strict=True):
        assert_close(values[name], expected, name)
    # An inner tensor is the nested model's own graph run on that call's input.
    head = model.get_layer("func_block")
    hidden = keras.Model(head.inputs[0], head.get_layer("inner_dense").output)
    for call, source in ((0, "seq_block:0:0"), (1, "side:0:0")):
        expected = np.asarray(hidden(values[source], training=False))
        assert_close(values[f"func_block/inner_dense:{call}:0"], expected, f"inner_dense call {call}")
        assert_close(values[f"func_block/inner_add:{call}:0"], values[f"func_block:{call}:0"], "inner output")
    assert not np.allclose(values["func_block/inner_dense:0:0"], values["func_block/inner_dense:1:0"])
    block = model.get_layer("seq_block")
    expected = np.asarray(keras.Model(block.inputs[0], block.get_layer("seq_dense").output)(values["stem:0:0"]))
    assert_close(values["seq_block/seq_dense:0:0"], expected, "seq_dense")


def test_multi_input_multi_output(zoo, keras):
    probes = opened(zoo, "multi_io")
    model, probe = probes.model, probes.original
    assert [s.name for s in probe.inputs] == ["tokens", "numbers"]
    assert probe.int_high == {"tokens": 50}
    feed = random_feeds(probe)
    assert feed[0].dtype == np.int32 and feed[0].max() < 50
    values = probe.run(feed)
    assert {"label:0:0", "value:0:0", "attention:0:0", "tokens:0:0"} <= set(values)
    tensors = [call_output(model, r.layer, r.node_index, r.tensor_index) for r in map(TensorRef.parse, probe.names)]
    for name, expected in zip(probe.names, reference(keras, model, tensors, feed), strict=True):
        assert_close(values[name], expected, name)


def test_kept_tensors_of_a_cut_differ_by_zero(zoo):
    from resect.core.keras_backend.activation_run import edited_feeds
    from resect.core.keras_backend.activations import kept_differences
    from resect.core.surgery.recipe import parse_recipe

    edits = parse_recipe(
        {
            "format": "resect-recipe/1",
            "edits": [{"op": "cut", "inputs": ["conv2_block2_out"], "outputs": ["conv3_block2_out"]}],
        }
    )
    probes = opened(zoo, "small_resnet", edits)
    original, edited = probes.original, probes.edited
    assert edited is not None and edited is not original
    assert "conv1_conv:0:0" in original.names and "conv1_conv:0:0" not in edited.names
    values = original.run(random_feeds(original))
    cut_values = edited.run(edited_feeds(edited, values))
    differences = kept_differences(values, cut_values, edited.kept)
    assert "conv3_block2_out:0:0" in differences and "conv3_block1_1_conv:0:0" in differences
    assert len(differences) == len(edited.names)  # a pure cut keeps every tensor it has
    assert max(differences.values()) == 0.0
    # the same model object and recipe again: the cached probes, not a new build
    from resect.core.keras_backend.activation_run import open_probes

    again = open_probes(zoo.path("small_resnet", "keras"), edits, graph=probes.graph, model=probes.model)
    assert again.edited is edited and again.original is original


def test_a_new_head_is_not_a_kept_tensor(zoo):
    from resect.core.keras_backend.activation_run import edited_feeds
    from resect.core.keras_backend.activations import kept_differences
    from resect.core.surgery.recipe import parse_recipe

    head = [{"class_name": "GlobalAveragePooling2D", "config": {}}, {"class_name": "Dense", "config": {"units": 2}}]
    edits = parse_recipe(
        {"format": "resect-recipe/1", "edits": [{"op": "replace_head", "at": "conv3_block2_out", "layers": head}]}
    )
    probes = opened(zoo, "small_resnet", edits)
    values = probes.original.run(random_feeds(probes.original))
    differences = kept_differences(values, probes.edited.run(edited_feeds(probes.edited, values)), probes.edited.kept)
    assert differences["conv3_block2_out:0:0"] == 0.0
    new = [n for n in probes.edited.names if n not in probes.edited.kept]
    assert len(new) == 2 and not any(n in differences for n in new)


# --- bad input: one line naming the input and the shape it expects --------------------------
IMAGE = InputSpec("input_layer", (None, 224, 224, 3), "float32")
TOKENS = InputSpec("tokens", (None, 10), "int32")
NUMBERS = InputSpec("numbers", (None, 4), "float32")


def one_line(error: pytest.ExceptionInfo) -> str:
    text = str(error.value)
    assert "\n" not in text
    return text


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from PIL import Image

    folder = tmp_path_factory.mktemp("data")
    Image.fromarray((np.arange(300 * 260 * 3) % 256).astype(np.uint8).reshape(300, 260, 3)).save(folder / "cat.png")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    np.save(folder / "short.npy", np.zeros((1, 100, 3), np.float32))
    np.savez(folder / "only_numbers.npz", numbers=np.zeros((2, 4), np.float32))
    np.savez(folder / "float_tokens.npz", numbers=np.zeros((2, 4), np.float32), tokens=np.zeros((2, 10), np.float32))
    np.savez(folder / "good.npz", numbers=np.ones((2, 4), np.float64), tokens=np.ones((2, 10), np.int64))
    return folder


def test_an_image_is_resized_and_preprocessed(files, keras):
    from resect.core.keras_backend.activations import family_preprocess

    plain = read_inputs({None: str(files / "cat.png")}, [IMAGE])[0]
    assert plain.shape == (1, 224, 224, 3) and plain.dtype == np.float32 and plain.max() > 200
    caffe = family_preprocess("resnet50")
    done = read_inputs({None: str(files / "cat.png")}, [IMAGE], caffe)[0]
    np.testing.assert_allclose(done, keras.applications.resnet50.preprocess_input(plain.copy()), atol=1e-5)
    assert family_preprocess("small_resnet") is None


def test_bad_inputs_name_the_input_and_its_shape(files):
    with pytest.raises(DataInputError) as error:
        read_inputs({None: str(files / "cat.png")}, [NUMBERS])
    assert one_line(error) == (
        f"input 'numbers' (expects shape (None, 4) float32): {files / 'cat.png'} is an image, "
        "but this input does not take images"
    )
    with pytest.raises(DataInputError) as error:
        read_inputs({None: str(files / "corrupt.png")}, [IMAGE])
    assert one_line(error).startswith(
        f"input 'input_layer' (expects shape (None, 224, 224, 3) float32): {files / 'corrupt.png'} is not a readable"
    )
    with pytest.raises(DataInputError) as error:
        read_inputs({None: str(files / "short.npy")}, [IMAGE])
    assert one_line(error).endswith("short.npy has shape (1, 1, 100, 3)")
    with pytest.raises(DataInputError) as error:
        read_inputs({None: str(files / "only_numbers.npz")}, [TOKENS, NUMBERS])
    assert one_line(error).startswith("input 'tokens' (expects shape (None, 10) int32): ")
    assert one_line(error).endswith("only_numbers.npz has no array named 'tokens' (it has: numbers)")
    with pytest.raises(DataInputError) as error:
        read_inputs({None: str(files / "float_tokens.npz")}, [TOKENS, NUMBERS])
    assert one_line(error).endswith("float_tokens.npz[tokens] has dtype float32")
    with pytest.raises(DataInputError) as error:
        read_inputs({None: str(files / "short.npy")}, [TOKENS, NUMBERS])
    assert "use an .npz keyed by input name" in one_line(error)
    with pytest.raises(DataInputError) as error:
        read_inputs({"nope": "random"}, [TOKENS, NUMBERS])
    assert "has no input 'nope'" in one_line(error)
    tokens, numbers = read_inputs({None: str(files / "good.npz")}, [TOKENS, NUMBERS])
    assert tokens.dtype == np.int32 and numbers.dtype == np.float32 and numbers.shape == (2, 4)


# --- the CLI ------------------------------------------------------------------------------
def activations(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "activations", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
    )


def test_cli_writes_named_tensors_and_stats(zoo, tmp_path, files):
    model = zoo.path("nested", "keras")
    out = tmp_path / "acts.npz"
    done = activations(model, "--input", "random", "-o", out, "--layers", "func_block/inner_dense:1,classes", "--stats")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"wrote {out} (2 tensors, batch 1)"
    assert lines[2].startswith("func_block/inner_dense:1:0  (1, 8)") and lines[3].startswith("classes:0:0 ")
    with np.load(out) as written:
        assert written.files == ["func_block/inner_dense:1:0", "classes:0:0"]
        np.testing.assert_allclose(written["classes:0:0"].sum(), 1.0, rtol=1e-5)
        first = written["classes:0:0"].copy()

    again = activations(model, "--input", "random", "-o", out)
    assert again.returncode == 2 and again.stderr.strip() == f"resect: {out}: already exists; use --force to replace it"

    bad = activations(model, "--input", files / "cat.png", "-o", out, "--force")
    assert bad.returncode == 2 and bad.stdout == "" and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [
        f"resect: input 'features' (expects shape (None, 16) float32): {files / 'cat.png'} is an image, "
        "but this input does not take images"
    ]
    with np.load(out) as unchanged:  # nothing written on a failure
        np.testing.assert_array_equal(unchanged["classes:0:0"], first)


def test_cli_with_a_recipe_writes_every_edited_tensor(zoo, tmp_path):
    recipe = tmp_path / "cut.resect.json"
    recipe.write_text(
        json.dumps({"format": "resect-recipe/1", "edits": [{"op": "cut", "outputs": ["conv2_block1_out"]}]})
    )
    out = tmp_path / "cut.npz"
    done = activations(zoo.path("small_resnet", "keras"), recipe, "--input", "random", "-o", out)
    assert done.returncode == 0, done.stderr
    with np.load(out) as written:
        assert "conv2_block1_out:0:0" in written.files and "predictions:0:0" not in written.files
        assert written["conv2_block1_out:0:0"].shape == (1, 32, 32, 8)
    missing = activations(
        zoo.path("small_resnet", "keras"), "--input", "random", "-o", tmp_path / "x.npz", "--layers", "nope"
    )
    assert missing.returncode == 2
    assert missing.stderr.strip() == "resect: model 'small_resnet' has no tensor 'nope:0:0'"
    assert not (tmp_path / "x.npz").exists()
