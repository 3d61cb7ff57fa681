"""The layout's typed values: what an item draws (``ItemInfo``), where it goes
(``LayoutItem``), the edges between items, and the finished ``Layout``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, NamedTuple

from resect.core.tensor_ref import TensorRef

Direction = Literal["TB", "LR"]
Point = tuple[float, float]
ItemKind = Literal["layer", "block"]


class ItemInfo(NamedTuple):
    """What one visible item draws, before it has a place (a tuple: thousands are made
    per layout)."""

    kind: ItemKind
    layers: tuple[str, ...]  # the layer keys it draws
    title: str
    subtitle: str
    badge: str
    class_name: str  # the layer's class, or the block kind ("residual", "nested", ...)
    is_output: bool = False


@dataclass(frozen=True)
class LayoutItem:
    """One box: a layer (``kind="layer"``) or a collapsed block (``kind="block"``).

    ``x, y`` is the top-left corner; ``layers`` the layer keys it draws.
    """

    key: str
    kind: ItemKind
    layers: tuple[str, ...]
    x: float
    y: float
    w: float
    h: float
    rank: int
    title: str
    subtitle: str
    badge: str
    class_name: str  # the layer's class, or the block kind ("residual", "nested", ...)
    is_output: bool = False

    @classmethod
    def placed(cls, key: str, info: ItemInfo, x: float, y: float, w: float, h: float, rank: int) -> LayoutItem:
        return cls(
            key, info.kind, info.layers, x, y, w, h, rank, info.title, info.subtitle, info.badge, info.class_name,
            info.is_output,
        )  # fmt: skip

    @property
    def center(self) -> Point:
        return (self.x + self.w / 2, self.y + self.h / 2)


@dataclass(frozen=True)
class LayoutEdge:
    """A drawn connection between two items; ``tensors`` are the model tensors it carries."""

    key: str
    source: str
    target: str
    points: tuple[Point, ...]
    tensors: tuple[TensorRef, ...]


@dataclass(frozen=True)
class Layout:
    items: tuple[LayoutItem, ...]
    edges: tuple[LayoutEdge, ...]
    width: float
    height: float
    direction: Direction = "TB"
    owner: dict[str, str] = field(default_factory=dict)  # layer key -> key of the item drawing it

    @cached_property
    def _index(self) -> dict[str, LayoutItem]:
        return {item.key: item for item in self.items}

    def item(self, key: str) -> LayoutItem:
        return self._index[key]

    def item_of_layer(self, layer: str) -> LayoutItem:
        """The item that draws layer ``layer`` (the layer itself or its collapsed block)."""
        return self._index[self.owner[layer]]
