"""Edge routes of the layered layout: orthogonal polylines that bend only between ranks.

The coordinates step hands over one ``RouteRequest`` (plain values, no callbacks): the
placed items, each edge's chain of slots (its source, the dummy points of a long edge,
its target), where each slot sits across the flow and where each rank and the gap after
it sit along the flow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from resect.core.layout.items import Direction, LayoutEdge, LayoutItem, Point
from resect.core.render import style
from resect.core.tensor_ref import TensorRef


class EdgeRoute(NamedTuple):
    """One edge to route: its chain of slots, drawn from ``source`` to ``target`` (item
    keys); ``flipped`` when it runs against the flow (a cycle's reversed edge)."""

    chain: list[int]
    source: str
    target: str
    flipped: bool
    tensors: tuple[TensorRef, ...]


@dataclass(frozen=True)
class RouteRequest:
    """What ``route_edges`` needs: items are slots ``0..len(items)-1``, dummy points follow.

    ``slot_cross[s]`` is slot ``s``'s centre across the flow, ``slot_rank[s]`` its rank;
    ``rank_center[r]`` is rank ``r``'s centre along the flow and ``rank_gap[r]`` the
    (start, end) of the free gap after it."""

    items: list[LayoutItem]
    edges: list[EdgeRoute]
    slot_cross: list[float]
    slot_rank: list[int]
    rank_center: list[float]
    rank_gap: list[tuple[float, float]]
    direction: Direction


def route_edges(request: RouteRequest) -> list[LayoutEdge]:
    """Orthogonal polylines: from the middle of the source's far side, through the dummy
    points of long edges, into the target's near side. Sideways moves happen in the gap
    between ranks (never across a box): near the source for a fork, so its edges share
    one trunk, near the target otherwise. Several edges into one box get spread-out
    ports, shifted towards where each comes from."""
    items, direction = request.items, request.direction
    slot_cross, slot_rank = request.slot_cross, request.slot_rank
    rank_center, rank_gap = request.rank_center, request.rank_gap
    chains = [edge.chain for edge in request.edges]
    outgoing: dict[int, int] = {}
    incoming: dict[int, list[int]] = {}
    for e, chain in enumerate(chains):
        outgoing[chain[0]] = outgoing.get(chain[0], 0) + 1
        incoming.setdefault(chain[-1], []).append(e)

    cross_of = slot_cross.__getitem__

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
            flows = [ia.y + ia.h, *(rank_center[slot_rank[s]] for s in chain[1:-1]), ib.y]
        else:
            flows = [ia.x + ia.w, *(rank_center[slot_rank[s]] for s in chain[1:-1]), ib.x]
        path = [(crosses[0], flows[0])]
        last = len(chain) - 2
        if last == 0 and abs(crosses[1] - crosses[0]) <= 0.5:  # the common case: straight down
            path.append((crosses[1], flows[1]))
        for k in range(len(chain) - 1) if len(path) == 1 else ():
            if abs(crosses[k + 1] - crosses[k]) > 0.5:
                low, high = rank_gap[slot_rank[chain[k]]]
                t = 0.35 if k == 0 and outgoing[a] > 1 else 0.65 if k == last else 0.5
                middle = low + t * (high - low)
                path += [(crosses[k], middle), (crosses[k + 1], middle)]
            path.append((crosses[k + 1], flows[k + 1]))
        if len(path) > 2:
            path = _simplify(path)
        points = tuple(path) if direction == "TB" else tuple((f, c) for c, f in path)
        edge = request.edges[e]
        if edge.flipped:  # drawn against the flow: from the real source to the real target
            points = tuple(reversed(points))
        src, tgt = edge.source, edge.target
        result.append(LayoutEdge(f"{src}->{tgt}", src, tgt, points, edge.tensors))
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
