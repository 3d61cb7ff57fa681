"""Activations of every tensor of ResNet50 on one 224x224 image (issue 15).

Goal: under 1 s with a warm worker, within 1.2x of the hand-written script
``keras.Model(model.inputs, [layer.output for layer in model.layers]).predict_on_batch(x)``.
Rows, all in the same run:

- the hand-written script and Resect's probe, in one child process, each warmed up
  (traced) and then timed as the best of several runs; Resect's figure includes reading
  and preprocessing the image;
- the Keras worker (``python -m core.keras_backend.service``) answering ``activations``
  requests over its pipes as the app sends them: the first request (load, build, trace)
  and warm requests, each until its last summary has arrived, and until the first
  summaries arrive (what the app can show first).

Run directly (``python bench/bench_activations.py``) to print the table.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from run import CACHE, ENV  # noqa: E402

REPEAT = 5
GOAL_SECONDS = 1.0
GOAL_RATIO = 1.2


def _inputs() -> tuple[Path, Path]:
    """ResNet50 (``weights=None``, from the test zoo) and a 224x224 PNG."""
    import numpy as np
    from PIL import Image
    from zoo import ZooCache

    model = ZooCache().path("resnet50", "keras")
    image = CACHE / "activations-224.png"
    if not image.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        Image.fromarray(rng.integers(0, 256, size=(224, 224, 3), dtype=np.uint8)).save(image)
    return model, image


def child(model_path: str, image: str) -> None:
    """In one process: the hand-written script vs Resect's probe, both warm; prints JSON."""
    import numpy as np

    from core.keras_backend.activation_run import feeds, open_probes
    from core.keras_backend.runtime import import_keras

    keras = import_keras()
    probes = open_probes(model_path)
    probe = probes.original
    model = probes.model
    x = feeds(probe, {None: image})[0]

    script = keras.Model(model.inputs, [layer.output for layer in model.layers])
    start = time.perf_counter()
    script.predict_on_batch(x)
    script_first = time.perf_counter() - start

    def by_hand() -> None:
        outputs = script.predict_on_batch(x)
        assert len(outputs) == len(model.layers)

    def resect() -> None:
        values = probe.run(feeds(probe, {None: image}), compiled=True)
        assert len(values) == len(model.layers)

    start = time.perf_counter()
    probe.run([x], compiled=True)
    resect_first = time.perf_counter() - start
    timings: dict[str, list[float]] = {"script": [], "resect": []}
    for _ in range(REPEAT):  # interleaved: both see the same load on a shared machine
        for name, fn in (("script", by_hand), ("resect", resect)):
            start = time.perf_counter()
            fn()
            timings[name].append(time.perf_counter() - start)
    values = probe.run([x], compiled=True)
    reference = script.predict_on_batch(x)
    worst = max(
        float(np.max(np.abs(values[f"{layer.name}:0:0"] - np.asarray(ref))))
        for layer, ref in zip(model.layers, reference, strict=True)
    )
    print(json.dumps({
        "script": min(timings["script"]), "resect": min(timings["resect"]),
        "script_first": script_first, "resect_first": resect_first,
        "tensors": len(probe.names), "max_diff": worst,
    }))  # fmt: skip


def _worker(model_path: Path, image: Path) -> dict[str, float]:
    """Timings of ``activations`` requests sent to the worker as the app sends them."""
    process = subprocess.Popen(
        [sys.executable, "-m", "core.keras_backend.service"],
        cwd=ROOT, env={**ENV, "PYTHONPATH": str(ROOT)}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    assert json.loads(process.stdout.readline())["event"] == "ready"
    job = {"model": str(model_path), "edits": [], "sources": {"": str(image)}, "preprocess": "auto"}

    def request(request_id: int) -> tuple[float, float]:
        start = time.perf_counter()
        first = None
        process.stdin.write(json.dumps({"id": request_id, "op": "activations", "job": job}) + "\n")
        process.stdin.flush()
        while True:
            event = json.loads(process.stdout.readline())
            if event.get("id") != request_id:
                continue
            if "data" in event and first is None:
                first = time.perf_counter() - start
            if event["event"] != "progress":
                assert event["event"] == "done", event
                total = time.perf_counter() - start
                return total, first if first is not None else total

    try:
        cold, cold_first = request(1)
        second, _ = request(2)  # the first compiled run traces
        warm = [request(3 + i) for i in range(REPEAT)]
    finally:
        process.stdin.close()
        process.wait(timeout=60)
    return {
        "cold": cold,
        "cold_first": cold_first,
        "second": second,
        "warm": min(t for t, _ in warm),
        "warm_first": min(f for _, f in warm),
    }


def run() -> list[dict]:
    model, image = _inputs()
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(model), str(image)],
        capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=1800,
    )  # fmt: skip
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1][:90]
        return [{"case": "activations: resnet50 224x224", "tool": "resect", "note": f"failed: {last}"}]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    worker = _worker(model, image)
    ratio = result["resect"] / result["script"]
    case = f"activations: resnet50, all {result['tensors']} tensors, 1 image"
    return [
        {
            "case": case,
            "tool": "hand-written keras.Model script",
            "seconds": result["script"],
            "note": f"warm, best of {REPEAT}; first call (trace) {result['script_first']:.1f} s",
        },
        {
            "case": case,
            "tool": "resect probe (in process)",
            "seconds": result["resect"],
            "note": f"warm incl. image read; {ratio:.2f}x the script (goal <= {GOAL_RATIO}x); "
            f"max diff {result['max_diff']:.1g}",
        },
        {
            "case": case,
            "tool": "resect worker, warm request",
            "seconds": worker["warm"],
            "note": f"incl. summaries over the pipe; first stats after {worker['warm_first']:.2f} s; "
            f"goal < {GOAL_SECONDS:.0f} s",
        },
        {
            "case": case,
            "tool": "resect worker, first request",
            "seconds": worker["cold"],
            "note": f"load + build + eager run; first stats after {worker['cold_first']:.1f} s; "
            f"2nd request (traces) {worker['second']:.1f} s",
        },
    ]


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        from run import format_rows

        print(format_rows(run()))
