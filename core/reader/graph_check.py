"""Check a parsed graph once, before anything uses it: unique layer names, every tensor a
call reads exists (its layer, its call, its output index within real sizes), no call
feeds itself and the calls form no cycle. Each level of nested models is checked.

Problems come back as one line each; the reader raises the first (and counts the rest),
so a hostile config ends as one clear line instead of a hang or a traceback later.
"""

from __future__ import annotations

from collections import deque

from resect.core.graph import ModelGraph
from resect.core.tensor_ref import TensorRef

MAX_OUTPUTS_PER_CALL = 1024  # a layer call's output index beyond this is refused by the parser


def graph_problems(graph: ModelGraph, limit: int = 20) -> list[str]:
    """Up to ``limit`` problems of ``graph`` and its nested models, one line each."""
    problems: list[str] = []
    levels: list[tuple[str, ModelGraph]] = [("", graph)]
    while levels and len(problems) < limit:
        prefix, level = levels.pop()
        problems.extend(_level_problems(level, prefix, limit - len(problems)))
        for layer in level.layers:
            if layer.subgraph is not None:
                levels.append((f"{prefix}{layer.name}/", layer.subgraph))
    return problems[:limit]


def _level_problems(graph: ModelGraph, prefix: str, limit: int) -> list[str]:
    problems: list[str] = []
    # name -> (position, calls, outputs per call): one table, one lookup per input read
    table: dict[str, tuple[int, int, int]] = {}
    for at, layer in enumerate(graph.layers):
        if layer.name in table:
            problems.append(f"two layers are named {prefix + layer.name!r}")
        outputs = len(layer.subgraph.outputs) if layer.subgraph is not None else MAX_OUTPUTS_PER_CALL
        table[layer.name] = (at, len(layer.nodes), outputs)
    if problems:
        return problems[:limit]

    def check(ref: TensorRef, reader: str) -> None:
        known = table.get(ref.layer)
        if known is None:
            problems.append(f"{reader} reads a tensor of {prefix + ref.layer!r}, which is not a layer of the model")
        elif not 0 <= ref.node_index < known[1]:
            problems.append(
                f"{reader} reads call {ref.node_index} of layer {prefix + ref.layer!r}, which is called {known[1]} time(s)"
            )
        elif ref.tensor_index >= known[2]:
            problems.append(f"{reader} reads output {ref.tensor_index} of {prefix + ref.layer!r}, which has fewer")

    # the common case costs one lookup and a few comparisons per input; words only on a
    # problem. ``in_order``: every call reads only calls earlier in (layer, call) order,
    # so the calls cannot form a cycle and Kahn's method need not run.
    in_order = True
    get = table.get
    for at, layer in enumerate(graph.layers):
        name = layer.name
        for node in layer.nodes:
            index = node.index
            for ref in node.inputs:
                known = get(ref.layer)
                call = ref.node_index
                if known is None or not 0 <= call < known[1] or ref.tensor_index >= known[2]:
                    check(ref, f"layer {prefix + name!r} (call {index})")
                elif known[0] > at or (known[0] == at and call >= index):
                    if known[0] == at and call == index:
                        problems.append(f"layer {prefix + name!r} (call {index}) feeds itself")
                    else:
                        in_order = False
        if len(problems) >= limit:
            return problems[:limit]
    for ref in graph.inputs:
        check(ref, "the model's inputs")
    for ref in graph.outputs:
        check(ref, "the model's outputs")
    if not problems and not in_order:
        cycle = _cycle_member(graph)
        if cycle is not None:
            problems.append(f"the calls form a cycle through layer {prefix + cycle!r}")
    return problems[:limit]


def _cycle_member(graph: ModelGraph) -> str | None:
    """A layer on a cycle of calls, or ``None`` when they can be ordered (Kahn's method;
    only run when the file's own layer order is not already a valid order)."""
    pending: dict[tuple[str, int], int] = {}
    readers: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for layer in graph.layers:
        for node in layer.nodes:
            sources = {(ref.layer, ref.node_index) for ref in node.inputs}
            pending[node.key] = len(sources)
            for source in sources:
                readers.setdefault(source, []).append(node.key)
    ready = deque(key for key, count in pending.items() if count == 0)
    while ready:
        key = ready.popleft()
        for reader in readers.get(key, ()):
            pending[reader] -= 1
            if pending[reader] == 0:
                ready.append(reader)
    stuck = [key for key, count in pending.items() if count > 0]
    return stuck[0][0] if stuck else None
