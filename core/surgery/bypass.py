"""The ``bypass`` edit: remove a stretch from the middle of a model.

Every reader of tensor ``to`` (and the model outputs) reads tensor ``from`` instead;
the calls that then reach no output are dropped (``prune``). Kept layers keep their
objects and weights, so the Keras backend rebuilds the result like any other edit.

Calls: a ``to`` written without a call index (``"t2"``, not ``"t2:1"``) whose layer is
called several times (a shared tower, or a nested model's layer after inlining) is
bypassed in every call, call k of ``to`` reading call k of ``from``; an explicit index
bypasses that call only.

>>> bypass(graph, Bypass("conv4_block1_out", "conv4_block3_out"))  # doctest: +SKIP
"""

from __future__ import annotations

from resect.core.graph import ModelGraph
from resect.core.surgery.building import infer_shape, prune
from resect.core.surgery.cut import resolve_all
from resect.core.surgery.edits import Bypass
from resect.core.surgery.errors import EditError
from resect.core.surgery.graph_ops import ancestors, rewrite
from resect.core.tensor_ref import TensorRef


def _names_call(text: str) -> bool:
    """Whether a tensor name gives a call index (``LAYER:NODE``)."""
    return TensorRef.parse(text) != TensorRef(text)


def _pairs(graph: ModelGraph, edit: Bypass, start: TensorRef, end: TensorRef) -> list[tuple[TensorRef, TensorRef]]:
    """(to, from) per bypassed call."""
    calls = len(graph.layer(end.layer).nodes)
    if _names_call(edit.to) or calls == 1:
        return [(end, start)]
    from_calls = len(graph.layer(start.layer).nodes)
    if from_calls != calls:
        raise EditError(
            f"{edit.to} is computed in {calls} calls but {edit.from_} in {from_calls}; "
            "name the calls to bypass (LAYER:NODE)"
        )
    return [
        (TensorRef(end.layer, k, end.tensor_index), TensorRef(start.layer, k, start.tensor_index)) for k in range(calls)
    ]


def bypass(graph: ModelGraph, edit: Bypass) -> ModelGraph:
    graph, (start, end) = resolve_all(graph, [edit.from_, edit.to])
    if start == end:
        raise EditError(f"from and to are the same tensor {start}; nothing to bypass")
    reroute: dict[TensorRef, TensorRef] = {}
    for to_ref, from_ref in _pairs(graph, edit, start, end):
        if to_ref.node_key in ancestors(graph, [from_ref]):
            raise EditError(f"{from_ref} is computed from {to_ref}: 'from' must come before 'to'")
        before, after = infer_shape(graph, from_ref), infer_shape(graph, to_ref)
        if before is not None and after is not None and tuple(before) != tuple(after):
            raise EditError(
                f"shapes differ: {edit.from_} is {_fmt(before)} but {edit.to} is {_fmt(after)}; "
                "a bypass needs equal shapes"
            )
        reroute[to_ref] = from_ref

    def fn(ref: TensorRef) -> TensorRef:
        return reroute.get(ref, ref)

    return prune(rewrite(graph, fn))


def _fmt(shape: tuple) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
