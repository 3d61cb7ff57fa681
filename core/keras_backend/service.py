"""The Keras worker process: ``python -m resect.core.keras_backend.service``.

Why a process: importing TensorFlow and loading, building, saving or verifying a Keras
model hold Python's GIL for long stretches; in a thread of the app they froze the window
for 0.25-0.75 s. The app starts this server once (``app.keras_client``), TensorFlow
imports here while the user looks at the graph, and the app's process never imports it.

Protocol, one JSON object per line. Requests on stdin, answered in order of arrival:

- ``{"id": N, "op": "shapes", "path": P}`` -> ``{"table": ...}``: Keras loads the model
  (kept for later requests) and fills every shape; the table (``core.shape_table``) is what
  the app applies to its own reading of the file.
  For a code-defined model (KerasHub: the file records no layers) the answer also holds
  ``"layer_graph"`` (``core.layer_graph_json``): the graph Keras built, as JSON; the table
  then applies to that graph.
- ``{"id": N, "op": "input_report", "path": P, "job": B64}`` -> ``{"kept", "lost",
  "outputs"}``: Keras builds the graph at a new input shape (``job`` is a base64 pickle of
  ``(base graph, SetInputShape)`` from the app, this server's own parent).
- ``{"id": N, "op": "export", "job": {"model", "edits", "out", "format", "verify",
  "force", "options"}}`` (``options``: ``ExportOptions.to_json``, optional) -> the
  pipeline's ``ApplyResult`` as JSON, with ``progress`` events.
- ``{"id": N, "op": "activations", "job": {"model", "edits", "sources", "preprocess", "seed"}}``
  -> tensor names, inputs and kept tensors' differences; each tensor's summary arrives in
  ``progress`` events with ``data`` (``core.keras_backend.activation_jobs``), the arrays
  stay here. ``{"id": N, "op": "activation_detail", "side", "tensor"}`` -> that tensor's
  channel grid and top-k from the last run.
- ``{"id": N, "op": "layer_signature", "class_name": C}`` -> the constructor's parameters and
  Keras' defaults; ``{"id": N, "op": "validate_layer", "class_name": C, "config": {...}}`` ->
  ``{"ok", "message"}`` with Keras' whole refusal (``core.keras_backend.layer_forms``).
- Every request may carry ``"consent": {"custom_code": [...], "unsafe": bool}`` (the user's
  ``--custom-code`` / ``--unsafe``): that code is imported here, never in the app's process.
- ``{"op": "cancel", "id": N}`` cancels a request (queued, or an export between steps);
  ``{"op": "quit"}`` or stdin closing ends the server.

Replies on stdout: ``{"event": "ready"}`` once Keras is imported (or ``import_failed``
with a message), then per request ``progress`` events and one final ``done`` (with
``result``), ``failed`` (a one-line ``message``) or ``cancelled``. Anything else the
libraries print goes to stderr, so stdout carries only the protocol.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import pickle
import queue
import sys
import threading
import time
from typing import Any, NoReturn, TextIO

from resect.core.consent import NO_CONSENT, Consent
from resect.core.errors import ModelFileError, ResectError

__all__ = ["Service", "input_report", "main", "result_from_json", "result_to_json"]


def result_to_json(result: Any) -> dict[str, Any]:
    """The pipeline's ``ApplyResult`` (dataclasses all the way down) as JSON."""
    return dataclasses.asdict(result)


def result_from_json(obj: dict[str, Any]) -> Any:
    """Rebuild the pipeline's ``ApplyResult`` (its dataclasses import no TensorFlow)."""
    from resect.core.keras_backend.pipeline import ApplyResult, ParamCounts
    from resect.core.keras_backend.verify import Check, VerifyReport

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


def input_report(keras_model: Any, base: Any, edit: Any) -> dict[str, Any]:
    """Keras builds ``base`` at ``edit``'s new input shape (weights shared, nothing
    written): which layers keep their trained weights, and the outputs' shapes."""
    from resect.core.keras_backend.build import build
    from resect.core.surgery.apply import apply_edit
    from resect.core.surgery.edits import SetInputShape

    edited = apply_edit(base, SetInputShape(edit.input, edit.shape, edit.batch_size, ("*",)))
    built = build(keras_model, edited, {"*"})
    try:
        kept, lost = [], []
        for layer in edited.layers:
            if layer.weights and layer.origin is not None:
                (lost if layer.name in built.reinitialized else kept).append(layer.name)
        outputs = [
            [str(ref), [None if d is None else int(d) for d in tensor.shape]]
            for ref, tensor in zip(edited.outputs, built.model.outputs, strict=False)
        ]
    finally:
        built.restore_trainable()
    return {"kept": kept, "lost": lost, "outputs": outputs}


class Service:
    """Reads requests on one thread, runs them one at a time on another (see module doc)."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._write_lock = threading.Lock()
        self._requests: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._cancelled: set[int] = set()
        self._cancel_events: dict[int, threading.Event] = {}
        self._lock = threading.Lock()
        self._closing = False
        self._models: dict[
            str, tuple[tuple[float, int, Consent], Any, Any, Any]
        ] = {}  # path -> (stamp, read, filled, model)
        self._activation_jobs: Any = None  # activation_jobs.ActivationJobs, made on first use

    def send(self, obj: dict[str, Any]) -> None:
        line = json.dumps(obj)
        with self._write_lock:
            self._out.write(line + "\n")
            self._out.flush()

    # --- the two threads -------------------------------------------------------------
    def read_requests(self, stream: TextIO) -> None:
        """Route each line: cancels act at once, everything else waits its turn."""
        for line in stream:
            try:
                request = json.loads(line)
            except ValueError:
                continue
            op = request.get("op")
            if op == "quit":
                break
            if op == "cancel":
                self._cancel(int(request.get("id", -1)))
            else:
                self._requests.put(request)
        with self._lock:  # the app is going: stop a running export between steps, skip the rest
            self._closing = True
            events = list(self._cancel_events.values())
        for event in events:
            event.set()
        self._requests.put(None)

    def serve(self) -> None:
        """Import Keras first (the point of starting early), then answer requests."""
        try:
            from resect.core.keras_backend.runtime import import_keras

            import_keras()
            self.send({"event": "ready"})
        except Exception as error:  # noqa: BLE001 - every request will say so too
            self.send({"event": "import_failed", "message": _one_line(error)})
        while (request := self._requests.get()) is not None:
            self._answer(request)

    # --- requests ----------------------------------------------------------------------
    def _cancel(self, request_id: int) -> None:
        with self._lock:
            self._cancelled.add(request_id)
            event = self._cancel_events.get(request_id)
        if event is not None:
            event.set()

    def _answer(self, request: dict[str, Any]) -> None:
        from resect.core.keras_backend.export import Cancelled

        request_id = int(request.get("id", -1))
        event = threading.Event()
        with self._lock:
            if request_id in self._cancelled or self._closing:
                event.set()
            self._cancel_events[request_id] = event
        try:
            if event.is_set():
                raise Cancelled("cancelled before it started")
            handler = {
                "shapes": self._shapes,
                "input_report": self._input_report,
                "export": self._export,
                "activations": self._activations,
                "activation_detail": self._activation_detail,
                "layer_answers": self._layer_answers,
                "layer_signature": self._layer_form,
                "validate_layer": self._layer_form,
            }.get(str(request.get("op")))
            if handler is None:
                raise ResectError(f"unknown request {request.get('op')!r}")
            result = handler(request, request_id, event)
        except Cancelled:
            self.send({"id": request_id, "event": "cancelled"})
        except ResectError as error:
            self.send({"id": request_id, "event": "failed", "message": str(error).splitlines()[0]})
        except Exception as error:  # noqa: BLE001 - a Keras failure: one line for the user
            self.send({"id": request_id, "event": "failed", "message": f"{type(error).__name__}: {_one_line(error)}"})
        else:
            self.send({"id": request_id, "event": "done", "result": result})
        finally:
            with self._lock:
                self._cancel_events.pop(request_id, None)
                self._cancelled.discard(request_id)

    def loaded(self, path: str, consent: Consent = NO_CONSENT) -> tuple[Any, Any, Any]:
        """``(our reading, filled graph, Keras model)`` for ``path``, once per file version
        and consent. The consent's code is imported here, in this worker process."""
        from resect.core.keras_backend.loading import fill_shapes, load_keras_model
        from resect.core.reader import read_model

        if not os.path.exists(path):  # a file, or a SavedModel / KerasHub preset directory
            raise ModelFileError(path, "no such file (moved or deleted since it was opened?)")
        stat = os.stat(path)
        stamp = (stat.st_mtime, stat.st_size, consent)
        cached = self._models.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1:]
        self._models = {}  # one model at a time: they can be large
        graph = read_model(path)
        model = load_keras_model(path, graph, consent)
        filled = fill_shapes(graph, model)
        self._models = {path: (stamp, graph, filled, model)}
        return graph, filled, model

    def _shapes(self, request: dict[str, Any], _id: int, _cancel: threading.Event) -> dict[str, Any]:
        from resect.core.shape_table import shape_table

        started = time.perf_counter()
        graph, filled, model = self.loaded(str(request["path"]), Consent.from_json(request.get("consent")))
        if graph.code_defined is not None and not graph.layers and filled.layers:  # KerasHub: send the graph
            from resect.core.keras_backend.code_defined import functional_config
            from resect.core.keras_backend.runtime import run_deep
            from resect.core.layer_graph_json import graph_from_layer_json, layer_graph_json

            layer_graph = layer_graph_json(run_deep(functional_config, model), filled)
            expanded = run_deep(graph_from_layer_json, graph, layer_graph)
            table = shape_table(expanded, filled)
            return {"layer_graph": layer_graph, "table": table, "seconds": time.perf_counter() - started}
        return {"table": shape_table(graph, filled), "seconds": time.perf_counter() - started}

    def _input_report(self, request: dict[str, Any], _id: int, _cancel: threading.Event) -> dict[str, Any]:
        base, edit = pickle.loads(base64.b64decode(request["job"]))  # noqa: S301 - from our own parent
        _graph, _filled, model = self.loaded(str(request["path"]), Consent.from_json(request.get("consent")))
        return input_report(model, base, edit)

    def _layer_answers(self, request: dict[str, Any], _id: int, _cancel: threading.Event) -> dict[str, Any]:
        """Keras' output and weight shapes for new layers (the preview's exact numbers)."""
        from resect.core.keras_backend.layer_answers import keras_layer_answers

        return {"answers": keras_layer_answers(request["jobs"])}

    def _layer_form(self, request: dict[str, Any], _id: int, _cancel: threading.Event) -> dict[str, Any]:
        from resect.core.keras_backend.layer_forms import layer_signature, validate_layer

        if request["op"] == "layer_signature":
            return layer_signature(str(request["class_name"]))
        return validate_layer(str(request["class_name"]), dict(request["config"]))

    def _export(self, request: dict[str, Any], request_id: int, cancel: threading.Event) -> dict[str, Any]:
        from resect.core.keras_backend.formats import ExportOptions
        from resect.core.keras_backend.pipeline import run_apply
        from resect.core.surgery.recipe import parse_recipe

        job = request["job"]

        def progress(stage: str, done: int, total: int) -> None:
            self.send({"id": request_id, "event": "progress", "stage": stage, "done": done, "total": total})

        result = run_apply(
            job["model"], parse_recipe(job["edits"]), job["out"], fmt=job["format"], verify=job["verify"],
            force=job["force"], progress=progress, cancel=cancel, options=ExportOptions.from_json(job.get("options")),
            consent=Consent.from_json(job.get("consent", request.get("consent"))),
        )  # fmt: skip
        return result_to_json(result)

    def _jobs(self) -> Any:
        if self._activation_jobs is None:
            from resect.core.keras_backend.activation_jobs import ActivationJobs

            self._activation_jobs = ActivationJobs(self.loaded)
        return self._activation_jobs

    def _activations(self, request: dict[str, Any], request_id: int, cancel: threading.Event) -> dict[str, Any]:
        job = {"consent": request.get("consent"), **request["job"]}  # the client's consent, per request
        return self._jobs().run(job, request_id, self.send, cancel)

    def _activation_detail(self, request: dict[str, Any], _id: int, _cancel: threading.Event) -> dict[str, Any]:
        return self._jobs().detail(request)


def encode_input_job(base: Any, edit: Any) -> str:
    """The ``job`` of an ``input_report`` request (pickle: both ends are this program)."""
    return base64.b64encode(pickle.dumps((base, edit), protocol=pickle.HIGHEST_PROTOCOL)).decode("ascii")


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


WORKER_NICENESS = 10  # below the app: on two cores, TensorFlow's threads must not starve the UI thread


def main() -> NoReturn:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # Everything this process does is background work for a window that must stay
    # responsive: Keras loading 20,000 layers or TensorFlow's thread pools took the CPU the
    # app's UI thread needed when an answer arrived (a 197 ms stall with 49 ms of UI work).
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(WORKER_NICENESS)
    # the protocol gets its own copy of stdout; fd 1 then points at stderr so that
    # anything TensorFlow or Keras prints cannot break a reply line
    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    service = Service(out)
    worker = threading.Thread(target=service.serve, name="resect-keras-service", daemon=True)
    worker.start()
    service.read_requests(sys.stdin)
    worker.join(timeout=4.0)  # let a running request finish its step; an export cleans up after itself
    # Leave at once: interpreter shutdown would wait for (or tear down, aborting in TensorFlow's
    # C++) a thread still inside TensorFlow, such as a probe's background trace (activation_call).
    out.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
