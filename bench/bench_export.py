"""Export speed: ``main.py apply ... --verify`` against a hand-written Keras script.

Both run as whole processes (TensorFlow import included) on ResNet50 (``weights=None``):
cut ``conv3_block4_out -> conv4_block6_out``, save as ``.keras``, reload from disk and
compare with the original's activations on random input. The goal is at most 1.3x the
script. Runs alternate between the two tools; the median of ``RUNS`` is reported.

    .venv/bin/python bench/bench_export.py       # prints the rows
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("RESECT_BENCH_CACHE", Path.home() / ".cache" / "resect-bench"))
PY = sys.executable
RUNS = int(os.environ.get("RESECT_BENCH_RUNS", "3"))
GOAL = 1.3

CUT = {
    "format": "resect-recipe/1",
    "edits": [{"op": "cut", "inputs": ["conv3_block4_out"], "outputs": ["conv4_block6_out"]}],
}

# What a Keras user writes for the same job: cut, save, reload, compare.
KERAS_SCRIPT = """
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
    """stdout, wall seconds, peak RSS (MB) and CPU seconds of one child process
    (``wait4`` gives that child's own rusage)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(args, cwd=ROOT, env=_env(), stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise RuntimeError(f"{args[:3]} exited {child.returncode}: {err.read().strip()[-500:]}")
        return out.read(), wall, round(usage.ru_maxrss / 1024, 1), usage.ru_utime + usage.ru_stime


def run() -> list[dict]:
    """Rows ``{case, tool, seconds, peak_mb, note}`` (median over ``RUNS`` alternating runs)."""
    model = _resnet50()
    case = "ResNet50 cut conv3_block4_out->conv4_block6_out, save .keras, reload, compare"
    times: dict[str, list[float]] = {"resect": [], "keras": []}
    cpu: dict[str, list[float]] = {"resect": [], "keras": []}
    peaks: dict[str, list[float]] = {"resect": [], "keras": []}
    notes: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="resect-bench-") as tmp:
        recipe = Path(tmp) / "cut.resect.json"
        recipe.write_text(json.dumps(CUT))
        script = Path(tmp) / "keras_cut.py"
        script.write_text(KERAS_SCRIPT)
        for run_index in range(RUNS):
            commands = {
                "resect": [PY, str(ROOT / "main.py"), "apply", str(model), str(recipe), "-o"]
                + [str(Path(tmp) / f"ours{run_index}.keras"), "--verify"],
                "keras": [PY, str(script), str(model), str(Path(tmp) / f"theirs{run_index}.keras")],
            }
            for tool, command in commands.items():
                out, seconds, peak, cpu_seconds = _run_measured(command)
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
            note = (
                f"{ratio:.2f}x the script's wall time ({verdict} the {GOAL}x goal), {cpu_ratio:.2f}x its CPU; " + note
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
