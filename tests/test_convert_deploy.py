"""``convert`` to the deployment formats, and feeding ONNX / TFLite files by input name.

A tf.keras 2 ``.h5`` converted straight to ``.onnx`` / ``.tflite`` with ``--verify``: the
written file, run here in its own runtime (onnxruntime, the LiteRT interpreter, called
directly), gives tf.keras 2's outputs on the file's reference input to 1e-4. A model whose
input names sort differently from their order (one of them no valid TensorFlow signature
name) is fed by name: a feed sent to the wrong input changes the numbers, so matching
Keras proves the mapping.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from zoo_keras2 import Keras2Zoo

ATOL = 1e-4


@pytest.fixture(scope="module")
def keras2() -> Keras2Zoo:
    return Keras2Zoo()


def _main(capsys, *argv: str) -> tuple[int, str, str]:
    from resect.cli.main import main

    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _onnx_outputs(path: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _tflite_outputs(path: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner()
    outputs = runner(**feeds)
    return [outputs[f"output_{i}"] for i in range(len(outputs))]


RUNTIMES = {"onnx": ("onnxruntime", _onnx_outputs), "tflite": ("LiteRT interpreter", _tflite_outputs)}


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_convert_keras2_h5_to_a_deployment_format_matches_tf_keras_in_its_runtime(keras2, capsys, tmp_path, fmt):
    name = "multi_io"  # two inputs (int tokens, float numbers), two outputs
    out = tmp_path / f"{name}.{fmt}"
    code, stdout, stderr = _main(capsys, "convert", str(keras2.path(name, "h5")), "-o", str(out), "--verify")
    assert code == 0, stderr
    runtime, run = RUNTIMES[fmt]
    assert "against the original run by tf_keras 2." in stdout, stdout
    assert f"(OUT run in {runtime})" in stdout
    assert "label:0:0:" in stdout and "value:0:0:" in stdout
    assert "NOT VERIFIED" not in stdout

    reference = np.load(keras2.reference(name))
    got = run(out, {"tokens": reference["x0"], "numbers": reference["x1"]})
    assert len(got) == 2
    for i, value in enumerate(got):
        assert value.shape == reference[f"y{i}"].shape
        assert np.max(np.abs(value - reference[f"y{i}"])) <= ATOL, (fmt, i)


def test_convert_takes_apply_options_fixed_batch_onnx_opset(keras2, capsys, tmp_path):
    import onnx

    out = tmp_path / "convs.onnx"
    code, stdout, stderr = _main(
        capsys,
        "convert",
        str(keras2.path("convs", "h5")),
        "-o",
        str(out),
        "--verify",
        "--batch-size",
        "3",
        "--opset",
        "13",
    )
    assert code == 0, stderr
    written = onnx.load(str(out))
    assert [op.version for op in written.opset_import if op.domain in ("", "ai.onnx")] == [13]
    dims = written.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [3, 16, 16, 3]
    assert "(OUT run in onnxruntime)" in stdout


def test_convert_float16_tflite_stores_float16_weights_and_states_its_looser_tolerance(keras2, capsys, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    half = tmp_path / "half.tflite"
    code, stdout, stderr = _main(
        capsys, "convert", str(keras2.path("convs", "savedmodel")), "-o", str(half), "--verify", "--float16"
    )
    assert code == 0, stderr
    tolerance = float(stdout.split("head:0:0:")[1].split("tolerance ")[1].split(")")[0])
    assert tolerance >= 1e-2  # float16 weights: 1e-2 x max(1, largest |value|)
    dtypes = {d["dtype"] for d in Interpreter(model_path=str(half)).get_tensor_details()}
    assert np.float16 in dtypes


def test_convert_keras3_model_to_tflite_verifies_in_litert_as_apply_does(zoo, capsys, tmp_path):
    out = tmp_path / "siamese.tflite"
    code, stdout, stderr = _main(capsys, "convert", str(zoo.path("siamese", "keras")), "-o", str(out), "--verify")
    assert code == 0, stderr
    assert "no Keras 2 -> 3 rewrite needed" in stdout
    assert "(tolerance 0.0001, run in LiteRT interpreter)" in stdout
    assert "  score:0:0  vs original score:0:0:" in stdout
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
    y = np.random.default_rng(1).normal(size=(2, 32, 32, 3)).astype("float32")
    from resect.core.keras_backend.runtime import import_keras

    model = import_keras().models.load_model(zoo.path("siamese", "keras"), compile=False)
    (got,) = _tflite_outputs(out, {"left": x, "right": y})
    assert np.max(np.abs(got - np.asarray(model([x, y])))) <= ATOL


def test_convert_refuses_an_option_its_format_does_not_take(keras2, capsys, tmp_path):
    out = tmp_path / "m.tflite"
    code, stdout, stderr = _main(capsys, "convert", str(keras2.path("convs", "h5")), "-o", str(out), "--opset", "13")
    assert code == 2
    assert stderr.strip().splitlines() == [f"resect: {out}: --opset applies to onnx output only, not tflite"]
    assert not out.exists()


# --- inputs fed by name ----------------------------------------------------------------

NAMES = ["zeta", "in put", "alpha"]  # not sorted; "in put" is no valid signature argument


@pytest.fixture(scope="module")
def named_inputs(tmp_path_factory) -> Path:
    """Three same-shaped inputs through different Dense layers: swapping two feeds changes
    every output."""
    from resect.core.keras_backend.runtime import import_keras

    keras = import_keras()
    layers = keras.layers
    keras.utils.set_random_seed(3)
    inputs = [keras.Input((4,), name=name) for name in NAMES]
    branches = [layers.Dense(3, name=f"d{i}")(x) for i, x in enumerate(inputs)]
    joined = layers.Concatenate(name="join")(branches)
    outputs = [layers.Dense(2, name="first")(joined), layers.Dense(1, name="second")(joined)]
    path = tmp_path_factory.mktemp("named") / "named.keras"
    keras.Model(inputs, outputs, name="named").save(path)
    return path


def _keras_outputs(path: Path, feeds: list[np.ndarray]) -> list[np.ndarray]:
    from resect.core.keras_backend.runtime import import_keras

    model = import_keras().models.load_model(path, compile=False)
    return [np.asarray(y) for y in model(feeds, training=False)]


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_inputs_whose_names_sort_differently_are_fed_by_name(named_inputs, tmp_path, fmt):
    from resect.core.keras_backend.formats import FORMATS, ExportOptions
    from resect.core.keras_backend.formats.converted import signature_names
    from resect.core.keras_backend.pipeline import run_apply

    out = tmp_path / f"named.{fmt}"
    result = run_apply(named_inputs, [], out, verify=True, options=ExportOptions(batch_size=2))
    assert sorted(c.tensor for c in result.verify.checks) == ["first:0:0", "second:0:0"]
    assert all(c.ok for c in result.verify.checks)

    rng = np.random.default_rng(0)
    feeds = [rng.standard_normal((5, 4)).astype("float32") for _ in NAMES]  # 5: padded into batches of 2
    expected = _keras_outputs(named_inputs, feeds)
    got = FORMATS[fmt].run(str(out), feeds, NAMES)
    for value, reference in zip(got, expected, strict=True):
        assert np.max(np.abs(value - reference)) <= ATOL
    swapped = FORMATS[fmt].run(str(out), [feeds[2], feeds[1], feeds[0]], NAMES)
    assert np.max(np.abs(swapped[0] - expected[0])) > 1e-2  # the test can tell a wrong mapping

    keys = signature_names(NAMES)
    assert keys == {"zeta": "zeta", "in put": "in_put", "alpha": "alpha"}
    if fmt == "tflite":  # the interpreter renames its tensors; the signature keeps our keys
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(out))
        assert sorted(interpreter.get_signature_list()["serving_default"]["inputs"]) == sorted(keys.values())
        assert {d["name"] for d in interpreter.get_input_details()} == {
            f"serving_default_{key}:0" for key in keys.values()
        }
    else:  # tf2onnx keeps the Keras names as they are
        import onnxruntime

        session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        assert sorted(i.name for i in session.get_inputs()) == sorted(NAMES)


def test_signature_names_are_valid_unique_and_leave_valid_names_alone():
    from resect.core.keras_backend.formats.converted import signature_names

    names = ["x-y", "x_y", "1st", "ok", "x y"]
    keys = signature_names(names)
    assert keys["ok"] == "ok" and keys["x_y"] == "x_y"
    assert len(set(keys.values())) == len(names)
    assert all(k[0].isalpha() and k.replace("_", "").isalnum() for k in keys.values())
