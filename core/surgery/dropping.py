"""Removing a block: the one set of rules the GUI's "Remove block" / "Remove picked
stretch" and the tests use.

``edit_for_removing`` removes just the block: a ``bypass`` when its entry and exit
tensors have equal shapes (a residual block, a transformer layer), else a ``cut`` when
it sits at an end of the model (starting at its exit, ending at its entry), else one
line naming both shapes. ``cut_for_dropping`` removes the block and everything before
it or after it.

>>> first = next(b for b in find_blocks(graph) if b.name == "conv2_block1")  # doctest: +SKIP
>>> cut_for_dropping(graph, first)                                            # doctest: +SKIP
Cut(inputs=('conv2_block1_out:0:0',), outputs=(), complete=False)
"""

from __future__ import annotations

from typing import Any, Literal

from resect.core.analysis.cutpoints import single_tensor_cut_points
from resect.core.errors import ResectError
from resect.core.graph import ModelGraph
from resect.core.surgery.cut import resolve_all
from resect.core.surgery.edits import Bypass, Cut, Edit
from resect.core.surgery.errors import EditError
from resect.core.surgery.graph_ops import ancestors, descendants
from resect.core.tensor_ref import TensorRef

Side = Literal["start", "end"]


def _ends(graph: ModelGraph, block: Any) -> tuple[TensorRef, TensorRef]:
    """The block's entry and exit in ``graph`` (``EditError`` when it has no single one)."""
    entry, exit_ = getattr(block, "entry", None), getattr(block, "exit", None)
    if entry is None or exit_ is None:
        raise EditError(f"{block.name} has no single entry and exit tensor, so nothing can be reconnected around it")
    try:
        return graph.resolve(entry), graph.resolve(exit_)
    except ResectError:
        raise EditError(f"{block.name} is not part of the edited model any more") from None


def _text(ref: TensorRef) -> str:
    """A tensor's recipe name; call 0, output 0 is the bare layer name, so a bypass of a
    shared stretch applies to every call."""
    return ref.layer if (ref.node_index, ref.tensor_index) == (0, 0) else str(ref)


def edit_for_removing(graph: ModelGraph, block: Any) -> Edit:
    """The edit that removes ``block`` (anything with ``name``, ``entry``, ``exit``; a
    block inside a nested model names ``outer/inner`` tensors) and keeps the rest (see
    module docstring); raises ``EditError`` saying why not."""
    entry, exit_ = getattr(block, "entry", None), getattr(block, "exit", None)
    if entry is None or exit_ is None:
        raise EditError(f"{block.name} has no single entry and exit tensor, so nothing can be reconnected around it")
    try:
        inlined, (inner_entry, inner_exit) = resolve_all(graph, [_text(entry), _text(exit_)])
    except ResectError:
        raise EditError(f"{block.name} is not part of the edited model any more") from None
    before, after = inlined.shape(inner_entry), inlined.shape(inner_exit)
    if before is None or after is None or tuple(before) == tuple(after):
        return Bypass(_text(entry), _text(exit_))
    if entry in graph.inputs and exit_ not in graph.outputs:
        return Cut(inputs=(str(exit_),))
    if exit_ in graph.outputs and entry not in graph.inputs:
        return Cut(outputs=(str(entry),))
    raise EditError(
        f"{block.name} changes the tensor shape {_dims(before)} -> {_dims(after)}: the layers after it "
        "cannot read its input, so it cannot be bypassed"
    )


def edit_for_stretch(graph: ModelGraph, inputs: tuple[TensorRef, ...], outputs: tuple[TensorRef, ...]) -> Edit:
    """The edit that removes a picked stretch whose boundary is ``inputs`` -> ``outputs``
    (the tensors it reads from and gives to the rest of the model)."""
    if len(inputs) != 1 or len(outputs) != 1:
        raise EditError(
            f"the pick reads {len(inputs)} tensor(s) and gives {len(outputs)} to the rest of the model; "
            "only a stretch with one entry and one exit tensor can be removed"
        )
    return edit_for_removing(graph, _Stretch("the picked stretch", inputs[0], outputs[0]))


class _Stretch:
    def __init__(self, name: str, entry: TensorRef, exit_: TensorRef) -> None:
        self.name, self.entry, self.exit = name, entry, exit_


def _dims(shape: Any) -> str:
    return "?" if shape is None else "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def cut_for_dropping(graph: ModelGraph, block: Any, side: Side | None = None) -> Cut:
    """The cut that removes ``block`` (anything with ``name``, ``entry``, ``exit``) and
    everything before it (``side="start"``) or after it (``"end"``); by default the side
    that keeps more of the model. Raises ``EditError`` when the needed tensor is not a
    single-tensor cut point (a branch would cross the cut)."""
    entry, exit_ = _ends(graph, block)
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
