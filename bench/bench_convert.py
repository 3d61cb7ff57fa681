"""Keras 2 -> 3 conversion speed (issue 12), whole processes, TensorFlow import included.

A tf.keras 2 ResNet50 (``weights=None``, written once by ``tf_keras`` in its own
process) as ``.h5`` and as a SavedModel folder:
- ``convert --verify`` of the ``.h5`` vs the hand-written Keras 3 script that loads it,
  saves a ``.keras``, reloads it and compares (the one case Keras 3 can do alone; it does
  not compare with tf.keras 2, ``convert --verify`` does, in a second process);
- ``convert --verify`` of the SavedModel vs ``tf_keras.models.load_model`` of that folder
  and one prediction (the only other way to read it; it gives no Keras 3 model);
- ``inspect --fast`` of the SavedModel (no TensorFlow).

    .venv/bin/python bench/bench_convert.py       # prints the rows
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_export import _run_measured

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("RESECT_BENCH_CACHE", Path.home() / ".cache" / "resect-bench"))
PY = sys.executable
RUNS = int(os.environ.get("RESECT_BENCH_RUNS", "3"))

WRITE = """
import sys, warnings
warnings.filterwarnings("ignore")
import tf_keras
model = tf_keras.applications.ResNet50(weights=None)
model.save(sys.argv[1], save_format="h5")
model.save(sys.argv[2], save_format="tf")
"""

KERAS3_SCRIPT = """
import sys
import numpy as np
import keras

source, out = sys.argv[1], sys.argv[2]
model = keras.models.load_model(source, compile=False)
model.save(out)
reloaded = keras.models.load_model(out, compile=False)
x = np.random.default_rng(0).standard_normal((2, 224, 224, 3)).astype("float32")
print("max abs diff", float(np.max(np.abs(np.asarray(reloaded(x)) - np.asarray(model(x))))))
"""

TF_KERAS_SCRIPT = """
import sys, warnings
warnings.filterwarnings("ignore")
import numpy as np
import tf_keras

model = tf_keras.models.load_model(sys.argv[1], compile=False)
x = np.random.default_rng(0).standard_normal((2, 224, 224, 3)).astype("float32")
print("predicted", np.asarray(model(x, training=False)).shape)
"""


def _models() -> tuple[Path, Path]:
    h5, saved = CACHE / "tf2_resnet50.h5", CACHE / "tf2_resnet50_savedmodel"
    if not (h5.exists() and (saved / "keras_metadata.pb").exists()):
        CACHE.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        subprocess.run([PY, "-c", WRITE, str(h5), str(saved)], check=True, env=env, capture_output=True)
    return h5, saved


def _median(command_for_run, runs: int = RUNS) -> tuple[float, float, float, str]:
    walls, cpus, peaks, note = [], [], [], ""
    for index in range(runs):
        out, wall, peak, cpu = _run_measured(command_for_run(index))
        walls.append(wall)
        cpus.append(cpu)
        peaks.append(peak)
        lines = [line for line in out.strip().splitlines() if line.strip()]
        note = next((line for line in lines if "diff" in line or "predicted" in line), lines[-1] if lines else "")
    return (
        statistics.median(walls),
        statistics.median(cpus),
        max(peaks),
        f"{note.strip()}; wall runs " + ", ".join(f"{w:.2f}" for w in walls),
    )


def run() -> list[dict]:
    h5, saved = _models()
    rows: list[dict] = []
    main = str(ROOT / "main.py")
    with tempfile.TemporaryDirectory(prefix="resect-bench-convert-") as tmp:
        cases = [
            (
                "tf.keras 2 ResNet50 .h5 -> Keras 3 .keras, verified",
                ("resect convert --verify (vs tf.keras 2)", lambda i: [PY, main, "convert", str(h5), "-o", f"{tmp}/h5-{i}.keras", "--verify"]),
                ("hand-written Keras 3 load/save/reload/compare", lambda i: [PY, "-c", KERAS3_SCRIPT, str(h5), f"{tmp}/k3-{i}.keras"]),
            ),
            (
                "tf.keras 2 ResNet50 SavedModel -> Keras 3 .keras, verified",
                ("resect convert --verify (vs tf.keras 2)", lambda i: [PY, main, "convert", str(saved), "-o", f"{tmp}/sm-{i}.keras", "--verify"]),
                ("tf_keras.models.load_model + predict (no Keras 3 model)", lambda i: [PY, "-c", TF_KERAS_SCRIPT, str(saved)]),
            ),
        ]  # fmt: skip
        for case, *tools in cases:
            for label, command in tools:
                wall, cpu, peak, note = _median(command)
                rows.append(
                    {
                        "case": case,
                        "tool": label,
                        "seconds": round(wall, 2),
                        "peak_mb": peak,
                        "note": f"cpu {cpu:.2f} s; {note}",
                    }
                )
        wall, cpu, peak, _ = _median(lambda i: [PY, main, "inspect", "--fast", str(saved)])
        rows.append(
            {"case": "tf.keras 2 ResNet50 SavedModel opened", "tool": "resect inspect --fast (no TensorFlow)", "seconds": round(wall, 2), "peak_mb": peak, "note": f"cpu {cpu:.2f} s"}
        )  # fmt: skip
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    for row in run():
        print(json.dumps(row))
