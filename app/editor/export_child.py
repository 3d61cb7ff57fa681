"""The export run in its own process: ``python -m app.editor.export_child``.

Why a process: building, saving and verifying a Keras model holds Python's GIL for long
stretches (TensorFlow tracing, h5py writes); in a thread of the app that froze the window
for up to 0.75 s (bench/bench_editor.py). In a child the UI thread never waits.

Protocol (JSON lines): stdin's first line is the job ``{"model", "edits", "out", "format",
"verify", "force"}``; any later line (or stdin closing) cancels. stdout carries
``{"event": "progress", "stage", "done", "total"}`` and one final ``done`` (with the
result), ``failed`` (one-line message) or ``cancelled``. The pipeline writes atomically,
so a cancel or a failure leaves no file behind.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import threading
from typing import Any


def _send(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def result_to_json(result: Any) -> dict[str, Any]:
    return dataclasses.asdict(result)


def result_from_json(obj: dict[str, Any]) -> Any:
    """Rebuild the pipeline's ``ApplyResult`` (its dataclasses import no TensorFlow)."""
    from core.keras_backend.pipeline import ApplyResult, ParamCounts
    from core.keras_backend.verify import Check, VerifyReport

    verify = obj.get("verify")
    report = None
    if verify is not None:
        report = VerifyReport([Check(**c) for c in verify["checks"]], list(verify["unchecked_outputs"]))
    return ApplyResult(
        out=obj["out"],
        format=obj["format"],
        params_before=ParamCounts(**obj["params_before"]),
        params_after=ParamCounts(**obj["params_after"]),
        file_size=obj["file_size"],
        verify=report,
        reinitialized=dict(obj.get("reinitialized", {})),
        seconds=dict(obj.get("seconds", {})),
    )


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    job = json.loads(sys.stdin.readline())
    cancel = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.readline()  # a "cancel" line, or EOF when the app goes away
        cancel.set()

    threading.Thread(target=watch_stdin, daemon=True).start()

    from core.errors import ResectError
    from core.keras_backend.export import Cancelled
    from core.keras_backend.pipeline import run_apply
    from core.surgery.recipe import parse_recipe

    try:
        result = run_apply(
            job["model"],
            parse_recipe(job["edits"]),
            job["out"],
            fmt=job["format"],
            verify=job["verify"],
            force=job["force"],
            progress=lambda stage, done, total: _send(
                {"event": "progress", "stage": stage, "done": done, "total": total}
            ),
            cancel=cancel,
        )
    except Cancelled:
        _send({"event": "cancelled"})
        return 0
    except ResectError as error:
        _send({"event": "failed", "message": str(error).splitlines()[0]})
        return 0
    except Exception as error:  # noqa: BLE001 - a Keras failure: one line for the user
        _send({"event": "failed", "message": f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"})
        return 0
    _send({"event": "done", "result": result_to_json(result)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
