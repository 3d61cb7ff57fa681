"""Positions across the flow: straight columns, packed left, then balanced.

Part of the layered layout (``core.layout``): igraph has fixed the ranks and the order
inside each rank, with dummy slots where long edges cross a rank; this module gives
every slot its coordinate across the flow (x in a top-to-bottom drawing).
"""

from __future__ import annotations

import math

NODE_GAP = 26.0  # px between neighbouring boxes in a rank
# Pull of an edge segment on its ends: layer-to-layer edges hardest, long edges straight.
W_REAL, W_END, W_LONG = 4.0, 1.0, 8.0


def cross_positions(
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
