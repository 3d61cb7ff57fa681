"""The worker's activation requests: run data through the original and the edited model,
keep the arrays here, send only what the app shows.

``run`` answers ``{"op": "activations", "job": {"model", "edits", "sources",
"preprocess", "seed"}}``: it loads (or reuses) the model, builds (or reuses) both probes,
runs the data through the original and, with edits, the same data through the edited
model (``activation_run.edited_feeds``), and streams each tensor's summary
(``core.activation_summary.summarize``) in ``progress`` events carrying ``data`` as soon
as a side is computed. Its result names the tensors, the inputs, and each kept tensor's
largest absolute difference from the original. ``detail`` answers ``{"op":
"activation_detail", "side", "tensor"}`` from the kept arrays: a channel grid and top-k.
Cancel is checked between steps and between chunks of summaries. After answering, each
probe's compiled call is traced in the background (``Probe.trace_soon``), so the first
request runs eagerly and no request waits for TensorFlow's trace.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from resect.core.consent import Consent
from resect.core.errors import ResectError

__all__ = ["ActivationJobs"]

CHUNK = 24  # summaries per progress event
FIRST_CHUNK = 8  # the first event comes sooner: 24 of ResNet50's summaries took 0.13 s here, 8 took 0.03 s
STAGES = ("loading", "building", "running", "running edited", "summarising")

Send = Callable[[dict[str, Any]], None]


class ActivationJobs:
    """The last run's arrays (original and edited) and the requests that use them."""

    def __init__(self, loaded: Callable[[str, Consent], tuple[Any, Any, Any]]) -> None:
        self._loaded = loaded  # Service.loaded: (our reading, filled graph, keras model) per path
        self.values: dict[str, dict[str, np.ndarray]] = {}  # side -> tensor -> array
        self.outputs: dict[str, set[str]] = {}  # side -> names of model outputs

    def run(self, job: dict[str, Any], request_id: int, send: Send, cancel: Any) -> dict[str, Any]:
        from resect.core.keras_backend.activation_run import edited_feeds, feeds, open_probes
        from resect.core.keras_backend.activations import kept_differences
        from resect.core.keras_backend.export import Cancelled, is_cancelled
        from resect.core.surgery.recipe import parse_recipe

        seconds: dict[str, float] = {}
        clock = [time.perf_counter()]

        def step(stage: str, done: int) -> None:
            if is_cancelled(cancel):
                raise Cancelled("cancelled")
            now = time.perf_counter()
            seconds[STAGES[max(done - 1, 0)]] = now - clock[0]
            clock[0] = now
            send({"id": request_id, "event": "progress", "stage": stage, "done": done, "total": len(STAGES)})

        edits = parse_recipe({"format": "resect-recipe/1", "edits": job.get("edits") or []})
        sources = {(None if key in ("", "*") else key): value for key, value in dict(job["sources"]).items()}
        step("loading", 0)
        graph, _filled, model = self._loaded(str(job["model"]), Consent.from_json(job.get("consent")))
        step("building", 1)
        probes = open_probes(job["model"], edits, graph=graph, model=model)
        step("running", 2)
        self.values = {}  # the previous run's arrays go before the new ones come
        original_feeds = feeds(probes.original, sources, job.get("preprocess", "auto"), int(job.get("seed", 0)))
        original = probes.original.run(original_feeds)
        self.values["original"] = original
        self.outputs["original"] = set(probes.original.outputs)
        self._stream("original", original, request_id, send, cancel)
        differences: dict[str, float] = {}
        edited_names: list[str] = []
        step("running edited", 3)
        if probes.edited is not None:
            try:
                edited_input = edited_feeds(probes.edited, original)
            except ResectError:  # an input the original cannot feed (a new input shape): the user's data
                fallback = feeds(probes.edited, sources, job.get("preprocess", "auto"), int(job.get("seed", 0)))
                edited_input = edited_feeds(probes.edited, original, fallback)
            edited = probes.edited.run(edited_input)
            self.values["edited"] = edited
            self.outputs["edited"] = set(probes.edited.outputs)
            differences = kept_differences(original, edited, probes.edited.kept)
            edited_names = list(edited)
            self._stream("edited", edited, request_id, send, cancel)
        step("summarising", 4)
        compiled = {"original": probes.original.compiled}
        for probe in (probes.original, probes.edited):
            if probe is not None:  # trace off the request path: the next request runs compiled
                probe.trace_soon()
        if probes.edited is not None:
            compiled["edited"] = probes.edited.compiled
        return {
            "inputs": [[s.name, list(s.shape), s.dtype] for s in probes.original.inputs],
            "original": list(original),
            "edited": edited_names,
            "kept": dict(probes.edited.kept) if probes.edited is not None else {},
            "differences": differences,
            "seconds": seconds,
            "compiled": compiled,  # which sides ran through a traced call (else eagerly)
        }

    def _stream(self, side: str, values: dict[str, np.ndarray], request_id: int, send: Send, cancel: Any) -> None:
        from resect.core.activation_summary import summarize
        from resect.core.keras_backend.export import Cancelled, is_cancelled

        names = list(values)
        start = 0
        while start < len(names):
            if is_cancelled(cancel):
                raise Cancelled("cancelled")
            end = start + (FIRST_CHUNK if start == 0 else CHUNK)
            chunk = {name: summarize(values[name]) for name in names[start:end]}
            send({
                "id": request_id, "event": "progress", "stage": f"summaries {side}",
                "done": min(end, len(names)), "total": len(names),
                "data": {"side": side, "tensors": chunk},
            })  # fmt: skip
            start = end

    def detail(self, request: dict[str, Any]) -> dict[str, Any]:
        """Grid and top-k of one tensor of the last run (``side``: original / edited)."""
        from resect.core.activation_summary import detail

        side, name = str(request.get("side", "original")), str(request["tensor"])
        values = self.values.get(side)
        if values is None:
            raise ResectError(f"no {side} activations: run data through the model first")
        if name not in values:
            raise ResectError(f"the last run has no {side} tensor {name!r}")
        found = detail(values[name], name in self.outputs.get(side, set()), int(request.get("k", 5)))
        found["tensor"], found["side"] = name, side
        return found
