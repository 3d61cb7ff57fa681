"""Layered (Sugiyama) layout of a model graph: a rectangle per visible item, a polyline per edge.

One module per step, each with typed values (``items``): ``visible`` (what is drawn: layers,
expanded nested models, collapsed blocks), ``layering`` (ranks, order inside a rank,
dummy slots of long edges), ``columns`` and ``coordinates`` (where each rank and slot
goes), ``routing`` (orthogonal edges that bend only between ranks). Nothing here imports
the renderers; ``core.render.scene`` draws a ``Layout``.

>>> lay = layout(read_model("resnet50.keras"))          # doctest: +SKIP
>>> lay.item("conv1_conv").y < lay.item("conv1_bn").y   # doctest: +SKIP
True
"""

from __future__ import annotations

from resect.core.layout.coordinates import layout
from resect.core.layout.items import Direction, ItemInfo, Layout, LayoutEdge, LayoutItem, Point

__all__ = ["Direction", "ItemInfo", "Layout", "LayoutEdge", "LayoutItem", "Point", "layout"]
