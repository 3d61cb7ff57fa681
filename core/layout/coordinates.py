"""Coordinates of the layered layout: places the ranks along the flow and the slots across
it (respecting each box's real width), then hands the edges to ``core.layout.routing``.

The main path (the longest chain of layers) is one straight column, long edges (a ResNet
shortcut) run straight beside it and bend only at their ends; columns are packed as
tight as the boxes allow, then balanced toward what they connect (``columns``).
"""

from __future__ import annotations

from resect.core.analysis.blocks import SEPARATOR, Block, find_blocks
from resect.core.graph import ModelGraph
from resect.core.layout.columns import cross_positions
from resect.core.layout.items import Direction, Layout, LayoutItem
from resect.core.layout.layering import layering
from resect.core.layout.routing import EdgeRoute, RouteRequest, route_edges
from resect.core.layout.visible import visible_graph
from resect.core.perf import paused_gc
from resect.core.render import labels, style

RANK_GAP_TB = 30.0  # px between ranks, top to bottom
RANK_GAP_LR = 48.0
DUMMY_SIZE = 10.0  # cross size of a long edge passing through a rank
MARGIN = 24.0
FRAME_ROOM = 12.0  # extra gap per nested-model frame between two neighbours


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
    layers = layering(n, [(index[a], index[b]) for a, b in pairs])
    rank, slot_rank, chains = layers.rank, layers.slot_rank, layers.chains

    infos = [visible.items[k] for k in keys]
    widths = [labels.box_width(info.title, info.subtitle, info.badge) for info in infos]
    height = style.BOX_HEIGHT
    cross = widths if direction == "TB" else [height] * n  # size across the rank
    along = [height] * n if direction == "TB" else widths  # size along the flow

    # igraph's x only gives the order inside a rank; cross_positions computes the real
    # coordinates (the items' sizes, then one dummy per rank crossed by a long edge).
    total = len(slot_rank)
    slot_size = cross + [DUMMY_SIZE] * (total - n)
    nesting = [key.split(SEPARATOR)[:-1] for key in keys]  # nested-model path of each item
    frame_room = FRAME_ROOM if direction == "TB" else FRAME_ROOM + style.GROUP_TITLE_SIZE + 8
    slot_pos = cross_positions(n, slot_rank, list(layers.slot_order), slot_size, chains, sweeps, nesting, frame_room)
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
    rank_center = [start[r] + (extent[r] or DUMMY_SIZE) / 2 for r in range(ranks_count)]
    rank_end = [start[r] + (extent[r] or DUMMY_SIZE) for r in range(ranks_count)]
    rank_gap = [(rank_end[r], start[r + 1] if r + 1 < ranks_count else rank_end[r] + gap) for r in range(ranks_count)]
    slot_cross = [p + shift for p in slot_pos]

    items: list[LayoutItem] = []
    for i, key in enumerate(keys):
        c, f = slot_cross[i], rank_center[rank[i]]
        if direction == "TB":
            x, y, w, h = c - widths[i] / 2, f - height / 2, widths[i], height
        else:
            x, y, w, h = f - widths[i] / 2, c - height / 2, widths[i], height
        items.append(LayoutItem.placed(key, infos[i], x, y, w, h, rank[i]))

    flipped = layers.flipped
    routes = [EdgeRoute(chains[e], a, b, e in flipped, tuple(visible.edges[(a, b)])) for e, (a, b) in enumerate(pairs)]
    layout_edges = route_edges(RouteRequest(items, routes, slot_cross, slot_rank, rank_center, rank_gap, direction))
    far_cross = max((slot_cross[s] + slot_size[s] / 2 for s in range(total)), default=0.0) + MARGIN
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
