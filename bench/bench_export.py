"""Export speed: ``main.py apply ... --verify`` against a hand-written Keras script.

Both run as whole processes (TensorFlow import included) on ResNet50 (``weights=None``):
the seeds' cut ``conv3_block4_out -> conv4_block6_out`` and the 128x128 input with a
new two-class head; each saves a ``.keras``, reloads it from disk and compares it with
the original's activations on random input. The goal is at most 1.3x the
script. Runs alternate between the two tools (which goes first alternates too); the
median of ``RUNS`` is reported, with CPU seconds, since the machine may be shared.

    .venv/bin/python bench/bench_export.py       # prints the rows
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from run import measure

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("RESECT_BENCH_CACHE", Path.home() / ".cache" / "resect-bench"))
PY = sys.executable
RUNS = int(os.environ.get("RESECT_BENCH_RUNS", "3"))
GOAL = 1.3

CUT_SCRIPT = """
import sys
import numpy as np
import keras

source, out = sys.argv[1], sys.argv[2]
model = keras.models.load_model(source, compile=False)
start, end = model.get_layer("conv3_block4_out").output, model.get_layer("conv4_block6_out").output
keras.Model(start, end).save(out)
reloaded = keras.models.load_model(out, compile=False)
x = np.random.default_rng(0).standard_normal((2, 224, 224, 3)).astype("float32")
a, b = keras.Model(model.inputs, [start, end])([x])
print("max abs diff", float(np.max(np.abs(np.asarray(reloaded(a)) - np.asarray(b)))))
"""

HEAD_SCRIPT = """
import sys
import numpy as np
import keras

source, out = sys.argv[1], sys.argv[2]
model = keras.models.load_model(source, compile=False)
base = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(128, 128, 3))
for layer in base.layers:
    if layer.weights:
        layer.set_weights(model.get_layer(layer.name).get_weights())
x = keras.layers.Flatten()(base.output)
x = keras.layers.Dropout(0.5)(x)
keras.Model(base.input, keras.layers.Dense(2, activation="softmax")(x)).save(out)
reloaded = keras.models.load_model(out, compile=False)
trunk = keras.Model(reloaded.inputs, reloaded.get_layer("conv5_block3_out").output)
x = np.random.default_rng(0).standard_normal((2, 128, 128, 3)).astype("float32")
print("max abs diff", float(np.max(np.abs(np.asarray(trunk([x])) - np.asarray(base([x]))))))
"""

HEAD = [
    {"class_name": "Flatten", "config": {}},
    {"class_name": "Dropout", "config": {"rate": 0.5}},
    {"class_name": "Dense", "config": {"units": 2, "activation": "softmax"}},
]

# case -> (recipe edits, what a Keras user writes for the same job: edit, save, reload, compare)
CASES = {
    "ResNet50 cut conv3_block4_out->conv4_block6_out, save .keras, reload, compare": (
        [{"op": "cut", "inputs": ["conv3_block4_out"], "outputs": ["conv4_block6_out"]}],
        CUT_SCRIPT,
    ),
    "ResNet50 input 128x128x3 + Flatten/Dropout/Dense(2) head, trained trunk kept, save, reload, compare": (
        [
            {"op": "set_input_shape", "input": "input_layer", "shape": [128, 128, 3]},
            {"op": "replace_head", "at": "conv5_block3_out", "layers": HEAD},
        ],
        HEAD_SCRIPT,
    ),
}


def _env() -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def _resnet50() -> Path:
    path = CACHE / "resnet50.keras"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        code = "import sys, keras; keras.applications.ResNet50(weights=None).save(sys.argv[1])"
        partial = path.with_name(f".resnet50.{os.getpid()}.partial.keras")
        subprocess.run([PY, "-c", code, str(partial)], check=True, env=_env(), capture_output=True)
        os.replace(partial, path)
    return path


def _run_measured(args: list[str]) -> tuple[str, float, float, float]:
    """stdout, wall seconds, peak RSS (MB) and CPU seconds of one child process alone
    (``run.measure``: none of this bench process's pages count)."""
    done = measure(args, capture_stdout=True)
    if done.returncode != 0:
        raise RuntimeError(f"{args[:3]} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return done.stdout, done.seconds, round(done.peak_mb, 1), done.cpu


def run() -> list[dict]:
    """Rows ``{case, tool, seconds, peak_mb, note}`` (median over ``RUNS`` alternating runs)."""
    model = _resnet50()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="resect-bench-") as tmp:
        for number, (case, (edits, script_text)) in enumerate(CASES.items()):
            recipe = Path(tmp) / f"case{number}.resect.json"
            recipe.write_text(json.dumps({"format": "resect-recipe/1", "edits": edits}))
            script = Path(tmp) / f"case{number}.py"
            script.write_text(script_text)
            rows.extend(_case(case, model, recipe, script, Path(tmp)))
    return rows


def _case(case: str, model: Path, recipe: Path, script: Path, tmp: Path) -> list[dict]:
    times: dict[str, list[float]] = {"resect": [], "keras": []}
    cpu: dict[str, list[float]] = {"resect": [], "keras": []}
    peaks: dict[str, list[float]] = {"resect": [], "keras": []}
    notes: dict[str, str] = {}
    for run_index in range(RUNS):
        commands = {
            "resect": [PY, str(ROOT / "main.py"), "apply", str(model), str(recipe), "-o"]
            + [str(tmp / f"{recipe.stem}-ours{run_index}.keras"), "--verify"],
            "keras": [PY, str(script), str(model), str(tmp / f"{recipe.stem}-theirs{run_index}.keras")],
        }
        order = ["resect", "keras"] if run_index % 2 == 0 else ["keras", "resect"]  # no order bias
        for tool in order:
            out, seconds, peak, cpu_seconds = _run_measured(commands[tool])
            times[tool].append(seconds)
            cpu[tool].append(cpu_seconds)
            peaks[tool].append(peak)
            lines = out.strip().splitlines()
            notes[tool] = next((line for line in lines if "diff" in line), lines[-1] if lines else "")
    wall = {tool: statistics.median(values) for tool, values in times.items()}
    cpu_median = {tool: statistics.median(values) for tool, values in cpu.items()}
    ratio = wall["resect"] / wall["keras"]
    verdict = "meets" if ratio <= GOAL else "misses"
    labels = {"resect": "resect apply --verify (whole process)", "keras": "hand-written Keras script (whole process)"}
    rows = []
    for tool in ("resect", "keras"):
        note = f"{notes[tool]}; cpu {cpu_median[tool]:.2f} s; wall runs " + ", ".join(f"{t:.2f}" for t in times[tool])
        if tool == "resect":
            cpu_ratio = cpu_median["resect"] / cpu_median["keras"]
            best = min(times["resect"]) / min(times["keras"])
            note = (
                f"{ratio:.2f}x the script's median wall time ({verdict} the {GOAL}x goal; best run {best:.2f}x), "
                f"{cpu_ratio:.2f}x its CPU; " + note
            )
        rows.append(
            {
                "case": case,
                "tool": labels[tool],
                "seconds": round(wall[tool], 2),
                "peak_mb": max(peaks[tool]),
                "note": note,
            }
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print(json.dumps(row))
