"""Layered (Sugiyama) layout of a model graph: a rectangle per visible item, a polyline per edge.

Why this way (measured, DESIGN.md): Graphviz ``dot`` takes 35 s at 5,000 nodes; igraph's C
``layout_sugiyama`` orders 20,000 nodes in about 0.06 s. igraph gives the layering and
the crossing-reducing order (with dummy points on long edges); this module then assigns
coordinates that respect each box's real width and read like a network diagram:

* the main path (the longest chain of layers) is one straight column, long edges (a
  ResNet shortcut) run straight beside it and bend only at their ends;
* columns are packed as tight as the boxes allow, then balanced toward what they
  connect (``core.render.columns``); edges are orthogonal and bend only between
  ranks (``core.render.routing``).

Visible items are layers, nested models expanded into their inner layers unless their
block is collapsed, and collapsed blocks (one box each, see ``core.analysis.blocks``).

>>> lay = layout(read_model("resnet50.keras"))          # doctest: +SKIP
>>> lay.item("conv1_conv").y < lay.item("conv1_bn").y   # doctest: +SKIP
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from core.analysis.blocks import SEPARATOR, Block, find_blocks
from core.graph import ModelGraph
from core.perf import paused_gc
from core.render import labels, style
from core.render.columns import cross_positions
from core.render.routing import route_edges
from core.render.visible import visible_graph
from core.tensor_ref import TensorRef

Direction = Literal["TB", "LR"]
Point = tuple[float, float]

RANK_GAP_TB = 30.0  # px between ranks, top to bottom
RANK_GAP_LR = 48.0
DUMMY_SIZE = 10.0  # cross size of a long edge passing through a rank
MARGIN = 24.0
FRAME_ROOM = 12.0  # extra gap per nested-model frame between two neighbours


@dataclass(frozen=True)
class LayoutItem:
    """One box: a layer (``kind="layer"``) or a collapsed block (``kind="block"``).

    ``x, y`` is the top-left corner; ``layers`` the layer keys it draws.
    """

    key: str
    kind: Literal["layer", "block"]
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


# --- ranks -------------------------------------------------------------------------


def _ranks(n: int, edges: list[tuple[int, int]]) -> tuple[list[int], set[int]]:
    """Longest-path ranks (Kahn); edges in a cycle are reversed (returned by index).
    Inputs are then pulled down to just above their first consumer."""
    reversed_edges: set[int] = set()
    for attempt in range(3):
        indeg = [0] * n
        succ: list[list[int]] = [[] for _ in range(n)]
        for i, (a, b) in enumerate(edges):
            if i in reversed_edges:
                a, b = b, a
            succ[a].append(b)
            indeg[b] += 1
        rank = [0] * n
        queue = [v for v in range(n) if indeg[v] == 0]
        seen = 0
        while queue:
            v = queue.pop()
            seen += 1
            for w in succ[v]:
                rank[w] = max(rank[w], rank[v] + 1)
                indeg[w] -= 1
                if indeg[w] == 0:
                    queue.append(w)
        if seen == n:
            break
        if attempt == 0:  # reverse an (approximately) minimal feedback arc set
            import igraph

            reversed_edges = set(igraph.Graph(n=n, edges=edges, directed=True).feedback_arc_set(method="eades"))
        else:  # cannot happen after a feedback arc set; file order is acyclic by construction
            reversed_edges = {i for i, (a, b) in enumerate(edges) if a > b}
    has_pred = [False] * n
    for i, (a, b) in enumerate(edges):
        has_pred[a if i in reversed_edges else b] = True
    for v in range(n):
        if not has_pred[v] and succ[v]:
            rank[v] = min(rank[w] for w in succ[v]) - 1
    return rank, reversed_edges


# --- coordinates -------------------------------------------------------------------


def layout(
    graph: ModelGraph,
    collapsed: frozenset[str] = frozenset(),
    direction: Direction = "TB",
    blocks: list[Block] | None = None,
    sweeps: int | None = None,
) -> Layout:
    """Place every visible item of ``graph``; ``collapsed`` names blocks drawn as one box.

    ``blocks`` may pass ``find_blocks(graph)`` when the caller has it already.
    """
    with paused_gc():
        return _layout(graph, collapsed, direction, blocks, sweeps)


def _layout(
    graph: ModelGraph,
    collapsed: frozenset[str],
    direction: Direction,
    blocks: list[Block] | None,
    sweeps: int | None,
) -> Layout:
    import igraph

    if direction not in ("TB", "LR"):
        raise ValueError(f"direction must be 'TB' or 'LR', not {direction!r}")
    collapsed = frozenset(collapsed)
    if blocks is None:
        blocks = find_blocks(graph) if collapsed else []
    visible, _ = visible_graph(graph, collapsed, blocks)
    keys = visible.keys
    index = {key: i for i, key in enumerate(keys)}
    n = len(keys)
    pairs = list(visible.edges)
    edges = [(index[a], index[b]) for a, b in pairs]
    rank, flipped = _ranks(n, edges)
    low = min(rank, default=0)
    rank = [r - low for r in rank]
    down = [(b, a) if i in flipped else (a, b) for i, (a, b) in enumerate(edges)]

    widths = [
        labels.box_width(visible.items[k]["title"], visible.items[k]["subtitle"], visible.items[k]["badge"])
        for k in keys
    ]
    height = style.BOX_HEIGHT
    cross = widths if direction == "TB" else [height] * n  # size across the rank
    along = [height] * n if direction == "TB" else widths  # size along the flow

    if n:
        ig = igraph.Graph(n=n, edges=down, directed=True)
        ig_layout = ig.layout_sugiyama(layers=rank, maxiter=100 if n < 5000 else 20)
        coords = ig_layout.coords
        routing = ig_layout.edge_routing
    else:
        coords, routing = [], []

    # Slots: the items, then one dummy per rank crossed by a long edge. igraph's x only
    # gives the order inside a rank; cross_positions computes the real coordinates.
    slot_rank = list(rank)
    slot_pos = [c[0] for c in coords]
    slot_size = list(cross)
    chains: list[list[int]] = []
    for e, (a, b) in enumerate(down):
        chain = [a]
        for px, py in sorted(routing[e], key=lambda p: p[1]) if e < len(routing) else ():
            r = int(round(py))
            if rank[a] < r < rank[b]:
                slot_rank.append(r)
                slot_pos.append(px)
                slot_size.append(DUMMY_SIZE)
                chain.append(len(slot_rank) - 1)
        chain.append(b)
        chains.append(chain)
    nesting = [key.split(SEPARATOR)[:-1] for key in keys]  # nested-model path of each item
    frame_room = FRAME_ROOM if direction == "TB" else FRAME_ROOM + style.GROUP_TITLE_SIZE + 8
    slot_pos = cross_positions(n, slot_rank, slot_pos, slot_size, chains, sweeps, nesting, frame_room)
    total = len(slot_rank)
    ranks_count = max(slot_rank, default=-1) + 1

    # Rank offsets along the flow.
    extent = [0.0] * ranks_count
    for i in range(n):
        extent[rank[i]] = max(extent[rank[i]], along[i])
    gap = RANK_GAP_TB if direction == "TB" else RANK_GAP_LR
    gaps = _frame_gaps(nesting, rank, ranks_count, gap, direction)
    start = [0.0] * ranks_count
    offset = MARGIN
    for r in range(ranks_count):
        start[r] = offset
        offset += (extent[r] or DUMMY_SIZE) + gaps[r]
    low_cross = min((slot_pos[s] - slot_size[s] / 2 for s in range(total)), default=0.0)
    shift = MARGIN - low_cross

    def flow_center(r: int) -> float:
        return start[r] + (extent[r] or DUMMY_SIZE) / 2

    items: list[LayoutItem] = []
    for i, key in enumerate(keys):
        c = slot_pos[i] + shift
        f = flow_center(rank[i])
        if direction == "TB":
            x, y, w, h = c - widths[i] / 2, f - height / 2, widths[i], height
        else:
            x, y, w, h = f - widths[i] / 2, c - height / 2, widths[i], height
        info = visible.items[key]
        items.append(LayoutItem(key=key, x=x, y=y, w=w, h=h, rank=rank[i], **info))

    def gap_of(r: int) -> tuple[float, float]:
        low = start[r] + (extent[r] or DUMMY_SIZE)
        return low, (start[r + 1] if r + 1 < ranks_count else low + gap)

    layout_edges = route_edges(
        items, chains, slot_pos, slot_rank, flow_center, gap_of, shift, pairs, flipped, visible, direction
    )
    far_cross = max((slot_pos[s] + slot_size[s] / 2 + shift for s in range(total)), default=0.0) + MARGIN
    far_flow = offset - gaps[-1] + MARGIN if ranks_count else 2 * MARGIN
    width, height_total = (far_cross, far_flow) if direction == "TB" else (far_flow, far_cross)
    drawn_by = {key: item.key for item in items for key in item.layers}
    return Layout(tuple(items), tuple(layout_edges), width, height_total, direction, drawn_by)


def _frame_gaps(
    nesting: list[list[str]], rank: list[int], ranks_count: int, gap: float, direction: Direction
) -> list[float]:
    """The gap after each rank, widened where nested-model frames end or begin (a frame's
    top holds its title in a top-to-bottom drawing)."""
    gaps = [gap] * ranks_count
    spans: dict[tuple[str, ...], list[int]] = {}
    for i, path in enumerate(nesting):
        for depth in range(1, len(path) + 1):
            span = spans.setdefault(tuple(path[:depth]), [rank[i], rank[i]])
            span[0], span[1] = min(span[0], rank[i]), max(span[1], rank[i])
    opening = style.GROUP_PAD + style.GROUP_TITLE_SIZE + 8 if direction == "TB" else style.GROUP_PAD + 4
    for first, last in spans.values():
        gaps[last] += style.GROUP_PAD + 4
        if first > 0:
            gaps[first - 1] += opening
    return gaps
