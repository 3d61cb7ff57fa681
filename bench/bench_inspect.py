"""``resect inspect --fast --json`` against ``keras.models.load_model`` (whole processes).

Cases: ResNet50 and EfficientNetB7 (``keras.applications``, ``weights=None``) and
generated deep models of 5,000 and 20,000 layers (bench/deep_model.py), all built once
into a cache folder outside the repository. Goals (issue 2): ResNet50 in at most a
tenth of Keras' time; 20,000 layers under 2 s; peak memory under 150 MB.
"""

from __future__ import annotations

import sys
from pathlib import Path

import deep_model  # noqa: E402  (bench/ is on sys.path)
from run import CACHE, ROOT, cached_model, measure, measure_median, tool_row

PY = sys.executable
KERAS_DEEP_TIMEOUT = 1200  # Keras took 85 s for 5,000 layers here; 20,000 may take far longer
APPLICATIONS = {"resnet50": "ResNet50", "efficientnet_b7": "EfficientNetB7"}
DEEP = {"deep_5000": 5000, "deep_20000": 20000}
KERAS_LOAD = "import sys, keras; keras.models.load_model(sys.argv[1], compile=False)"
KERAS_LOAD_DEEP = (
    "import sys; sys.path.insert(0, '.'); from resect.core.keras_backend.runtime import import_keras, run_deep; "
    "keras = import_keras(); run_deep(keras.models.load_model, sys.argv[1], compile=False)"
)


def model_path(case: str) -> Path:
    """Build the case's model once (atomically) into the cache folder."""
    if case in DEEP:
        target = CACHE / f"{case}.keras"
        if not target.exists():
            CACHE.mkdir(parents=True, exist_ok=True)
            print(f"  building {case} (once) ...", file=sys.stderr, flush=True)
            deep_model.write_deep_model(target, DEEP[case])
        return target
    return cached_model(
        case, f"import sys, keras; keras.applications.{APPLICATIONS[case]}(weights=None).save(sys.argv[1])"
    )


def run() -> list[dict]:
    rows: list[dict] = []
    for case in [*APPLICATIONS, *DEEP]:
        path = str(model_path(case))
        fast, walls = measure_median([PY, str(ROOT / "main.py"), "inspect", path, "--fast", "--json"])
        note = f"median of 3 ({', '.join(f'{w:.2f}' for w in walls)})"
        rows.append(tool_row(case, "resect inspect --fast --json", fast, note))
        keras = measure([PY, "-c", KERAS_LOAD, path])
        if keras.returncode == 0:
            ratio = fast.seconds / keras.seconds
            rows.append({"case": case, "tool": "python -c 'keras load_model'", "seconds": keras.seconds,
                         "peak_mb": keras.peak_mb,
                         "note": f"1 run; cpu {keras.cpu:.2f} s; resect/keras = {ratio:.3f}"})  # fmt: skip
            continue
        rows.append({"case": case, "tool": "python -c 'keras load_model'", "seconds": None, "peak_mb": None,
                     "note": f"fails: {keras.last_error}"})  # fmt: skip
        deep = measure([PY, "-c", KERAS_LOAD_DEEP, path], timeout=KERAS_DEEP_TIMEOUT)
        note = f"1 run; cpu {deep.cpu:.2f} s; resect/keras = {fast.seconds / deep.seconds:.3f}"
        if deep.returncode == -9:
            note = f"killed after {KERAS_DEEP_TIMEOUT} s"
        elif deep.returncode != 0:
            note = f"fails: {deep.last_error}"
        rows.append({"case": case, "tool": "keras load_model in run_deep", "seconds": deep.seconds,
                     "peak_mb": deep.peak_mb, "note": note})  # fmt: skip
    return rows
