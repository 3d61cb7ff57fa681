"""Drop a block at either end of the model, expressed as a ``cut`` (the recipe has no
"delete block" op): dropping the first stage of a ResNet is starting at its exit, dropping
the last is ending at its entry.

>>> first = next(b for b in find_blocks(graph) if b.name == "conv2_block1")  # doctest: +SKIP
>>> cut_for_dropping(graph, first)                                            # doctest: +SKIP
Cut(inputs=('conv2_block1_out:0:0',), outputs=(), complete=False)
"""

from __future__ import annotations

from typing import Any, Literal

from core.analysis.cutpoints import single_tensor_cut_points
from core.graph import ModelGraph
from core.surgery.edits import Cut
from core.surgery.errors import EditError
from core.surgery.graph_ops import ancestors, descendants

Side = Literal["start", "end"]


def cut_for_dropping(graph: ModelGraph, block: Any, side: Side | None = None) -> Cut:
    """The cut that removes ``block`` (anything with ``name``, ``entry``, ``exit``) and
    everything before it (``side="start"``) or after it (``"end"``); by default the side
    that keeps more of the model. Raises ``EditError`` when the needed tensor is not a
    single-tensor cut point (a branch would cross the cut)."""
    entry, exit_ = block.entry, block.exit
    if entry is None or exit_ is None:
        raise EditError(f"block {block.name} has no single entry and exit tensor")
    points = set(single_tensor_cut_points(graph))
    if side is None:
        before = len(ancestors(graph, [exit_]))  # removed when starting at the exit
        after = len(descendants(graph, [entry]))  # removed when ending at the entry
        side = "start" if before <= after else "end"
    tensor = exit_ if side == "start" else entry
    if tensor not in points:
        where = "exit" if side == "start" else "entry"
        raise EditError(f"block {block.name}: its {where} {tensor} is not a single-tensor cut point")
    if side == "start":
        if tensor in graph.outputs:
            raise EditError(f"block {block.name} ends at the model output; nothing would be left")
        return Cut(inputs=(str(tensor),))
    if tensor in graph.inputs:
        raise EditError(f"block {block.name} starts at the model input; nothing would be left")
    return Cut(outputs=(str(tensor),))
