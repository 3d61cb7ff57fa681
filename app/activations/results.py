"""The app's copy of one activations run: per-tensor summaries streamed from the worker,
the details asked for, and what the overlay colours by. Plain Python (no Qt)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from resect.core.tensor_ref import TensorRef

SIDES = ("original", "edited")
STATISTICS = {  # overlay choice -> (label, how to read it from a summary)
    "mean_abs": "mean |activation|",
    "zeros": "fraction of zeros",
    "difference": "largest |difference| from the original",
}


@dataclass
class RunResults:
    """Summaries of the last run, by side then tensor name."""

    summaries: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {s: {} for s in SIDES})
    details: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    differences: dict[str, float] = field(default_factory=dict)  # edited tensor -> max |diff|
    kept: dict[str, str] = field(default_factory=dict)  # edited tensor -> original tensor
    inputs: list[Any] = field(default_factory=list)
    finished: bool = False

    def add(self, data: dict[str, Any]) -> None:
        """A streamed chunk: ``{"side", "tensors": {name: summary}}``."""
        self.summaries.setdefault(str(data["side"]), {}).update(data["tensors"])

    def finish(self, result: dict[str, Any]) -> None:
        self.differences = {k: float(v) for k, v in dict(result.get("differences", {})).items()}
        self.kept = dict(result.get("kept", {}))
        self.inputs = list(result.get("inputs", []))
        self.compiled = dict(result.get("compiled", {}))  # side -> ran through a traced call (else eagerly)
        self.finished = True

    @property
    def has_edited(self) -> bool:
        return bool(self.summaries.get("edited"))

    def tensors_of(self, side: str, layer_path: tuple[str, ...]) -> list[str]:
        """Tensor names of every call of the layer at ``layer_path`` (``outer/inner``)."""
        layer = "/".join(layer_path)
        return [name for name in self.summaries.get(side, {}) if TensorRef.parse(name).layer == layer]

    def original_of(self, side: str, name: str) -> str | None:
        """The original tensor an edited one keeps (``None``: new or changed)."""
        return name if side == "original" else self.kept.get(name)

    def layer_values(self, side: str, statistic: str) -> dict[tuple[str, ...], float]:
        """Layer path -> the statistic (largest over its calls and outputs)."""
        values: dict[tuple[str, ...], float] = {}
        for (path, _node), value in self.call_values(side, statistic).items():
            values[path] = max(values.get(path, value), value)
        return values

    def call_values(self, side: str, statistic: str) -> dict[tuple[tuple[str, ...], int], float]:
        """(layer path, node index) -> the statistic (largest over that call's outputs): a
        shared layer is drawn once per call, and each call box shows its own."""
        values: dict[tuple[tuple[str, ...], int], float] = {}
        for name, summary in self.summaries.get(side, {}).items():
            if statistic == "difference":
                if name not in self.differences:
                    continue
                value = self.differences[name]
            else:
                value = float(summary["stats"].get(statistic, math.nan))
            if not math.isfinite(value):
                continue
            ref = TensorRef.parse(name)
            call = (tuple(ref.layer.split("/")), ref.node_index)
            values[call] = max(values.get(call, value), value)
        return values
