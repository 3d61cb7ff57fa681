"""Layered (Sugiyama) layout of a model graph: a rectangle per visible item, a polyline per edge.

Why this way (measured, DESIGN.md): Graphviz ``dot`` takes 35 s at 5,000 nodes; igraph's C
``layout_sugiyama`` orders 20,000 nodes in about 0.06 s. igraph gives the layering and
the crossing-reducing order (with dummy points on long edges); this module then assigns
coordinates that respect each box's real width and read like a network diagram:

* the main path stays straight: edges between two layers pull hardest, long edges (a
  ResNet shortcut) stay straight beside it and bend only at their ends;
* each rank is packed with the least movement that keeps boxes apart (isotonic
  regression, pool-adjacent-violators), a few down/up sweeps of weighted medians.

Visible items are layers, nested models expanded into their inner layers unless their
block is collapsed, and collapsed blocks (one box each, see ``core.analysis.blocks``).

>>> lay = layout(read_model("resnet50.keras"))          # doctest: +SKIP
>>> lay.item("conv1_conv").y < lay.item("conv1_bn").y   # doctest: +SKIP
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from core.analysis.blocks import SEPARATOR, Block, find_blocks, layer_key
from core.graph import Layer, ModelGraph
from core.render import labels, style
from core.render.perf import paused_gc
from core.tensor_ref import TensorRef

Direction = Literal["TB", "LR"]
Point = tuple[float, float]

RANK_GAP_TB = 30.0  # px between ranks, top to bottom
RANK_GAP_LR = 48.0
NODE_GAP = 26.0  # px between neighbouring boxes in a rank
DUMMY_SIZE = 10.0  # cross size of a long edge passing through a rank
MARGIN = 24.0
FRAME_ROOM = 12.0  # extra gap per nested-model frame between two neighbours
# Pull of an edge segment on its ends: layer-to-layer edges hardest, long edges straight.
W_REAL, W_END, W_LONG = 4.0, 1.0, 8.0


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


# --- the visible graph -------------------------------------------------------------


@dataclass
class _Visible:
    keys: list[str]
    items: dict[str, dict]
    edges: dict[tuple[str, str], list[TensorRef]]


def _visible(graph: ModelGraph, collapsed: frozenset[str], blocks: Iterable[Block]) -> tuple[_Visible, dict]:
    atoms: dict[str, Layer] = {}
    level_of: dict[str, ModelGraph] = {}
    deep: dict[str, tuple[str, ...]] = {}

    def walk(level: ModelGraph, prefix: tuple[str, ...]) -> None:
        for layer in level.layers:
            path = prefix + (layer.name,)
            key = layer_key(path)
            if layer.subgraph is not None and key not in collapsed:
                walk(layer.subgraph, path)
            else:
                atoms[key] = layer
                level_of[key] = level
                if layer.subgraph is not None:
                    deep[key] = (key, *(layer_key(p) for p, _ in layer.subgraph.iter_layers_deep(path)))

    walk(graph, ())
    owner = {key: key for key in atoms}
    block_of: dict[str, Block] = {}
    for block in blocks:  # outermost first: an enclosing collapsed block wins
        if block.name not in collapsed or block.kind == "nested":
            continue
        members = [key for key in block.layers if owner.get(key) == key]
        if members:
            block_of[block.name] = block
            for key in members:
                owner[key] = block.name
    outputs = {layer_key((ref.layer,)) for ref in graph.outputs}
    items: dict[str, dict] = {}
    for key, layer in atoms.items():
        rep = owner[key]
        if rep in items:
            items[rep]["is_output"] |= key in outputs
            continue
        if rep in block_of:
            block = block_of[rep]
            params = sum(atoms[k].params for k in block.layers if k in atoms)
            items[rep] = dict(
                kind="block",
                layers=block.layers,
                title=rep,
                subtitle=labels.block_subtitle(graph, block.kind, len(block.layers), block.exit),
                badge=labels.format_count(params) if params else "",
                class_name=block.kind,
                is_output=key in outputs,
            )
        else:
            items[rep] = dict(
                kind="layer",
                layers=deep.get(key, (key,)),
                title=layer.name,
                subtitle=labels.layer_subtitle(layer, level_of[key]),
                badge=labels.layer_badge(layer),
                class_name=layer.class_name,
                is_output=key in outputs,
            )
    edges: dict[tuple[str, str], list[TensorRef]] = {}

    def source_of(level: ModelGraph, prefix: tuple[str, ...], ref: TensorRef) -> str | None:
        if not level.has_layer(ref.layer):
            return None
        layer = level.layer(ref.layer)
        key = layer_key(prefix + (layer.name,))
        if key in atoms or layer.subgraph is None or not layer.subgraph.outputs:
            return key
        outs = layer.subgraph.outputs
        return source_of(layer.subgraph, prefix + (layer.name,), outs[min(ref.tensor_index, len(outs) - 1)])

    def target_of(layer: Layer, prefix: tuple[str, ...], position: int) -> str | None:
        key = layer_key(prefix + (layer.name,))
        if key in atoms or layer.subgraph is None:
            return key
        ins = layer.subgraph.inputs
        if not ins or not layer.subgraph.has_layer(ins[min(position, len(ins) - 1)].layer):
            return None
        inner = layer.subgraph.layer(ins[min(position, len(ins) - 1)].layer)
        return target_of(inner, prefix + (layer.name,), 0)

    def connect(level: ModelGraph, prefix: tuple[str, ...]) -> None:
        for layer in level.layers:
            for node in layer.nodes:
                for position, ref in enumerate(node.inputs):
                    src, tgt = source_of(level, prefix, ref), target_of(layer, prefix, position)
                    if src is None or tgt is None or owner.get(src) is None or owner.get(tgt) is None:
                        continue
                    pair = (owner[src], owner[tgt])
                    if pair[0] == pair[1]:
                        continue
                    tensor = TensorRef(layer_key(prefix + (ref.layer,)), ref.node_index, ref.tensor_index)
                    found = edges.setdefault(pair, [])
                    if tensor not in found:
                        found.append(tensor)
            path = prefix + (layer.name,)
            if layer.subgraph is not None and layer_key(path) not in atoms:
                connect(layer.subgraph, path)

    connect(graph, ())
    return _Visible(list(items), items, edges), owner


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


def _weighted_median(values: list[tuple[float, float]]) -> float:
    values.sort()
    half = sum(w for _, w in values) / 2
    acc = 0.0
    for i, (v, w) in enumerate(values):
        acc += w
        if acc > half + 1e-9:
            return v
        if abs(acc - half) <= 1e-9:
            return (v + values[i + 1][0]) / 2
    return values[-1][0]


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
    visible, owner = _visible(graph, collapsed, blocks)
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

    # Slots: the items, then one dummy per rank crossed by a long edge.
    unit = 1.0  # igraph gives the order; the first packing makes each rank as tight as the boxes allow
    slot_rank = list(rank)
    slot_pos = [c[0] * unit for c in coords]
    slot_size = list(cross)
    chains: list[list[int]] = []
    for e, (a, b) in enumerate(down):
        chain = [a]
        for px, py in sorted(routing[e], key=lambda p: p[1]) if e < len(routing) else ():
            r = int(round(py))
            if rank[a] < r < rank[b]:
                slot_rank.append(r)
                slot_pos.append(px * unit)
                slot_size.append(DUMMY_SIZE)
                chain.append(len(slot_rank) - 1)
        chain.append(b)
        chains.append(chain)
    nesting = [key.split(SEPARATOR)[:-1] for key in keys]  # nested-model path of each item
    frame_room = FRAME_ROOM if direction == "TB" else FRAME_ROOM + style.GROUP_TITLE_SIZE + 8
    slot_pos = _cross_positions(n, slot_rank, slot_pos, slot_size, chains, sweeps, nesting, frame_room)
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

    layout_edges = _route(
        items, chains, slot_pos, slot_rank, flow_center, gap_of, shift, pairs, flipped, visible, direction
    )
    far_cross = max((slot_pos[s] + slot_size[s] / 2 + shift for s in range(total)), default=0.0) + MARGIN
    far_flow = offset - gaps[-1] + MARGIN if ranks_count else 2 * MARGIN
    width, height_total = (far_cross, far_flow) if direction == "TB" else (far_flow, far_cross)
    drawn_by = {key: item.key for item in items for key in item.layers}
    return Layout(tuple(items), tuple(layout_edges), width, height_total, direction, drawn_by)


def _cross_positions(
    n: int,
    slot_rank: list[int],
    slot_pos: list[float],
    slot_size: list[float],
    chains: list[list[int]],
    sweeps: int | None,
    nesting: list[list[str]] | None = None,
    frame_room: float = 0.0,
) -> list[float]:
    """Positions across the flow for items (slots ``0..n-1``) and dummies (the rest).

    1. *Alignment* (after Brandes and Köpf): each slot is paired with at most one
       neighbour above and one below, without crossings, preferring long edges, then
       layer-to-layer edges on the longest path of real layers (the main path), then
       the ends of long edges. Pairs form columns that are drawn straight.
    2. *Packing*: columns are placed as far left as the boxes allow (longest path
       over the "left of" constraints between columns sharing a rank), which keeps the
       picture compact.
    3. *Balancing*: a few passes move each column, within the room its neighbours
       leave, to the weighted median of what it connects to (a branch towards its fork
       and join, a shortcut right beside the main path).
    """
    total = len(slot_rank)
    pos = list(slot_pos)
    ranks_count = max(slot_rank, default=-1) + 1
    rows: list[list[int]] = [[] for _ in range(ranks_count)]
    for s in sorted(range(total), key=lambda s: (slot_rank[s], pos[s])):
        rows[slot_rank[s]].append(s)
    order = [0] * total
    for row in rows:
        for i, s in enumerate(row):
            order[s] = i
    ups: list[list[int]] = [[] for _ in range(total)]
    downs: list[list[int]] = [[] for _ in range(total)]
    for chain in chains:
        for u, v in zip(chain, chain[1:], strict=False):
            downs[u].append(v)
            ups[v].append(u)
    real = [1 if s < n else 0 for s in range(total)]
    depth = [0] * total  # real layers on the longest path from an input, this slot included
    for row in rows:
        for s in row:
            depth[s] = max((depth[u] for u in ups[s]), default=0) + real[s]
    height = [0] * total  # ... and to an output
    for row in reversed(rows):
        for s in row:
            height[s] = max((height[v] for v in downs[s]), default=0) + real[s]

    def priority(u: int, v: int) -> tuple[int, int]:
        kind = 3 if not (real[u] or real[v]) else 2 if real[u] and real[v] else 1
        return (kind, depth[u] + height[v])

    segments = [(u, v) for u in range(total) for v in downs[u]]
    segments.sort(key=lambda uv: priority(*uv), reverse=True)
    below = [-1] * total
    above = [-1] * total
    taken: dict[int, list[tuple[int, int]]] = {}
    for u, v in segments:
        if below[u] != -1 or above[v] != -1:
            continue
        pairs = taken.setdefault(slot_rank[u], [])
        ou, ov = order[u], order[v]
        if any((ou < a) != (ov < b) for a, b in pairs):
            continue
        pairs.append((ou, ov))
        below[u], above[v] = v, u
    columns: list[list[int]] = []
    col = [-1] * total
    for s in range(total):
        if above[s] == -1:  # a column starts here
            members, t = [], s
            while t != -1:
                col[t] = len(columns)
                members.append(t)
                t = below[t]
            columns.append(members)
    count = len(columns)
    # Separation constraints between columns that are neighbours in some rank.
    left_of: list[list[tuple[int, float]]] = [[] for _ in range(count)]
    right_of: list[list[tuple[int, float]]] = [[] for _ in range(count)]
    for row in rows:
        for u, v in zip(row, row[1:], strict=False):
            sep = (slot_size[u] + slot_size[v]) / 2 + NODE_GAP
            if nesting is not None:  # room for the frames of expanded nested models
                sep += frame_room * _frames_between(nesting, u, v)
            left_of[col[v]].append((col[u], sep))
            right_of[col[u]].append((col[v], sep))
    # Leftmost packing (longest path over the constraint DAG), then balance.
    x = [0.0] * count
    indeg = [len(left) for left in left_of]
    queue = [c for c in range(count) if indeg[c] == 0]
    topo: list[int] = []
    while queue:
        c = queue.pop()
        topo.append(c)
        for o, sep in right_of[c]:
            x[o] = max(x[o], x[c] + sep)
            indeg[o] -= 1
            if indeg[o] == 0:
                queue.append(o)
    external = [
        [(t, _pull(real[m], real[t])) for m in members for t in ups[m] + downs[m] if col[t] != c]
        for c, members in enumerate(columns)
    ]
    if sweeps is None:
        sweeps = 8 if total < 4000 else 4 if total < 20000 else 2
    for sweep in range(sweeps):
        for c in topo if sweep % 2 == 0 else reversed(topo):
            if not external[c]:
                continue
            wanted = _weighted_median([(x[col[t]], w) for t, w in external[c]])
            low = max((x[o] + sep for o, sep in left_of[c]), default=-math.inf)
            high = min((x[o] - sep for o, sep in right_of[c]), default=math.inf)
            if low <= high:
                x[c] = min(max(wanted, low), high)
    return [x[col[s]] for s in range(total)]


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


def _frames_between(nesting: list[list[str]], u: int, v: int) -> int:
    """How many nested-model frames separate slots ``u`` and ``v`` (dummies are outside all)."""
    a = nesting[u] if u < len(nesting) else []
    b = nesting[v] if v < len(nesting) else []
    if a == b:
        return 0
    common = 0
    while common < min(len(a), len(b)) and a[common] == b[common]:
        common += 1
    return len(a) + len(b) - 2 * common


def _pull(real_u: int, real_v: int) -> float:
    if real_u and real_v:
        return W_REAL
    return W_END if real_u or real_v else W_LONG


def _route(
    items: list[LayoutItem],
    chains: list[list[int]],
    slot_pos: list[float],
    slot_rank: list[int],
    flow_center,
    gap_of,
    shift: float,
    pairs: list[tuple[str, str]],
    flipped: set[int],
    visible: _Visible,
    direction: Direction,
) -> list[LayoutEdge]:
    """Orthogonal polylines: from the middle of the source's far side, through the dummy
    points of long edges, into the target's near side. Sideways moves happen in the gap
    between ranks (never across a box): near the source for a fork, so its edges share
    one trunk, near the target otherwise. Several edges into one box get spread-out
    ports, shifted towards where each comes from."""
    outgoing: dict[int, int] = {}
    incoming: dict[int, list[int]] = {}
    for e, chain in enumerate(chains):
        outgoing[chain[0]] = outgoing.get(chain[0], 0) + 1
        incoming.setdefault(chain[-1], []).append(e)

    def cross_of(slot: int) -> float:
        return slot_pos[slot] + shift

    in_ports: dict[int, float] = {}
    for v, es in incoming.items():
        size = items[v].w if direction == "TB" else items[v].h
        room = max(0.0, size / 2 - style.CORNER_RADIUS - 2)
        centre = cross_of(v)
        if len(es) == 1:
            in_ports[es[0]] = centre
            continue
        deltas = {e: cross_of(chains[e][-2]) - centre for e in es}
        es = sorted(es, key=deltas.__getitem__)
        straight = min(range(len(es)), key=lambda i: abs(deltas[es[i]]))  # enters at the centre
        step = min(12.0, room / max(straight, len(es) - 1 - straight))
        for i, e in enumerate(es):
            in_ports[e] = centre + (i - straight) * step

    result: list[LayoutEdge] = []
    for e, chain in enumerate(chains):
        a, b = chain[0], chain[-1]
        ia, ib = items[a], items[b]
        crosses = [cross_of(a), *(cross_of(s) for s in chain[1:-1]), in_ports[e]]
        if direction == "TB":
            flows = [ia.y + ia.h, *(flow_center(slot_rank[s]) for s in chain[1:-1]), ib.y]
        else:
            flows = [ia.x + ia.w, *(flow_center(slot_rank[s]) for s in chain[1:-1]), ib.x]
        path = [(crosses[0], flows[0])]
        last = len(chain) - 2
        if last == 0 and abs(crosses[1] - crosses[0]) <= 0.5:  # the common case: straight down
            path.append((crosses[1], flows[1]))
        for k in range(len(chain) - 1) if len(path) == 1 else ():
            if abs(crosses[k + 1] - crosses[k]) > 0.5:
                low, high = gap_of(slot_rank[chain[k]])
                t = 0.35 if k == 0 and outgoing[a] > 1 else 0.65 if k == last else 0.5
                middle = low + t * (high - low)
                path += [(crosses[k], middle), (crosses[k + 1], middle)]
            path.append((crosses[k + 1], flows[k + 1]))
        if len(path) > 2:
            path = _simplify(path)
        points = tuple(path) if direction == "TB" else tuple((f, c) for c, f in path)
        src, tgt = pairs[e]
        if e in flipped:  # drawn against the flow: from the real source to the real target
            points = tuple(reversed(points))
        result.append(LayoutEdge(f"{src}->{tgt}", src, tgt, points, tuple(visible.edges[(src, tgt)])))
    return result


def _simplify(path: list[Point]) -> list[Point]:
    """Drop points in the middle of straight runs."""
    out = [path[0]]
    for i in range(1, len(path) - 1):
        (px, py), (x, y), (nx, ny) = out[-1], path[i], path[i + 1]
        if (abs(px - x) < 1e-6 and abs(x - nx) < 1e-6) or (abs(py - y) < 1e-6 and abs(y - ny) < 1e-6):
            continue
        out.append(path[i])
    out.append(path[-1])
    return out
