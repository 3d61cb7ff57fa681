"""What the upgrader did (``Rewrite``) or could not do (``UpgradeError``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from resect.core.errors import ResectError


@dataclass(frozen=True)
class Rewrite:
    """One named rewrite applied to one layer: ``rule`` is the rewrite's name,
    ``detail`` what it changed (the same text for every layer it changed alike)."""

    rule: str
    layer: str
    class_name: str
    detail: str

    def __str__(self) -> str:
        return f"{self.layer} ({self.class_name}): {self.detail}"


class UpgradeError(ResectError):
    """A Keras 2 config holds something no rewrite can express in Keras 3; names the layer."""

    def __init__(self, layer: str, message: str) -> None:
        self.layer = layer
        super().__init__(f"layer {layer!r}: {message}")


def summarize(rewrites: Iterable[Rewrite]) -> list[str]:
    """One line per (class, change), counted: ``"13 DepthwiseConv2D: dropped groups=1"``."""
    counts: dict[tuple[str, str], int] = {}
    for rewrite in rewrites:
        key = (rewrite.class_name, rewrite.detail)
        counts[key] = counts.get(key, 0) + 1
    return [f"{n} {class_name}: {detail}" for (class_name, detail), n in counts.items()]
