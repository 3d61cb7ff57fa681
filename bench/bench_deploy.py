"""Deployment exports: ``main.py apply ... -o X.onnx|X.tflite --verify`` against the
converter script a user writes by hand, in the same run, with the file sizes.

The job: ResNet50 (``weights=None``) cut ``conv3_block4_out -> conv4_block6_out``,
converted and run in the serving runtime against Keras on random input. The script does
what the docs show: a Keras sub-model, ``model.export(format="onnx")`` then onnxruntime,
or ``tf.lite.TFLiteConverter.from_keras_model`` then the LiteRT interpreter. Whole
processes (TensorFlow import included), alternating which tool goes first; the median of
``RESECT_BENCH_RUNS`` (default 3) is reported with CPU seconds, since the machine may be
shared.

    .venv/bin/python bench/run.py deploy      # prints the rows
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
from bench_export import RUNS, _resnet50, _run_measured  # noqa: E402

CUT = [{"op": "cut", "inputs": ["conv3_block4_out"], "outputs": ["conv4_block6_out"]}]

_COMMON = """
import sys, os
import numpy as np
import keras

source, out = sys.argv[1], sys.argv[2]
model = keras.models.load_model(source, compile=False)
start, end = model.get_layer("conv3_block4_out").output, model.get_layer("conv4_block6_out").output
sub = keras.Model(start, end)
x = np.random.default_rng(0).standard_normal((2, 224, 224, 3)).astype("float32")
a, b = keras.Model(model.inputs, [start, end])([x])
a, b = np.asarray(a), np.asarray(b)
"""

SCRIPTS = {
    "onnx": _COMMON
    + """
import onnxruntime
sub.export(out, format="onnx", verbose=False, input_signature=[keras.InputSpec(shape=(None, 28, 28, 512), dtype="float32")])
session = onnxruntime.InferenceSession(out, providers=["CPUExecutionProvider"])
got = session.run(None, {session.get_inputs()[0].name: a})[0]
print("max abs diff", float(np.max(np.abs(got - b))), "size", os.path.getsize(out))
""",
    "tflite": _COMMON
    + """
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
with open(out, "wb") as f:
    f.write(tf.lite.TFLiteConverter.from_keras_model(sub).convert())
interpreter = Interpreter(model_path=out)
detail = interpreter.get_input_details()[0]
interpreter.resize_tensor_input(detail["index"], a.shape)
interpreter.allocate_tensors()
interpreter.set_tensor(detail["index"], a)
interpreter.invoke()
got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
print("max abs diff", float(np.max(np.abs(got - b))), "size", os.path.getsize(out))
""",
}


def run() -> list[dict]:
    """Rows ``{case, tool, seconds, peak_mb, note}`` per format (median of ``RUNS``)."""
    model = _resnet50()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="resect-bench-deploy-") as tmp:
        recipe = Path(tmp) / "cut.resect.json"
        recipe.write_text(json.dumps({"format": "resect-recipe/1", "edits": CUT}))
        for fmt, text in SCRIPTS.items():
            script = Path(tmp) / f"convert_{fmt}.py"
            script.write_text(text)
            rows.extend(_case(fmt, model, recipe, script, Path(tmp)))
    return rows


def _case(fmt: str, model: Path, recipe: Path, script: Path, tmp: Path) -> list[dict]:
    wall: dict[str, list[float]] = {"resect": [], "script": []}
    cpu: dict[str, list[float]] = {"resect": [], "script": []}
    peak: dict[str, list[float]] = {"resect": [], "script": []}
    notes: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for index in range(RUNS):
        ours, theirs = tmp / f"ours{index}.{fmt}", tmp / f"theirs{index}.{fmt}"
        commands = {
            "resect": [sys.executable, str(ROOT / "main.py"), "apply", str(model), str(recipe), "-o", str(ours)]
            + ["--verify"],
            "script": [sys.executable, str(script), str(model), str(theirs)],
        }
        for tool in ["resect", "script"] if index % 2 == 0 else ["script", "resect"]:
            out, seconds, peak_mb, cpu_seconds = _run_measured(commands[tool])
            wall[tool].append(seconds)
            cpu[tool].append(cpu_seconds)
            peak[tool].append(peak_mb)
            notes[tool] = next((line.strip() for line in out.splitlines() if "diff" in line), "")
        sizes = {"resect": ours.stat().st_size, "script": theirs.stat().st_size}
    labels = {
        "resect": f"resect apply -o .{fmt} --verify (whole process)",
        "script": f"hand-written {fmt} converter script (whole process)",
    }
    case = f"ResNet50 cut conv3_block4_out->conv4_block6_out to .{fmt}, run in its runtime, compare"
    median = {tool: statistics.median(values) for tool, values in wall.items()}
    rows = []
    for tool in ("resect", "script"):
        note = (
            f"{notes[tool]}; file {sizes[tool] / 1e6:.1f} MB; cpu {statistics.median(cpu[tool]):.2f} s; "
            f"wall runs " + ", ".join(f"{t:.2f}" for t in wall[tool])
        )
        if tool == "resect":
            note = f"{median['resect'] / median['script']:.2f}x the script's median wall time; " + note
        rows.append(
            {
                "case": case,
                "tool": labels[tool],
                "seconds": round(median[tool], 2),
                "peak_mb": max(peak[tool]),
                "note": note,
            }
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print(json.dumps(row))
