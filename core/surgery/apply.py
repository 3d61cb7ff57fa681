"""Apply edits to a graph: each edit turns one immutable ``ModelGraph`` into a new one.

The edited graph keeps provenance so the Keras backend can rebuild it from the original
layer objects: kept layers keep ``origin`` (their path in the original file), kept calls
keep ``origin_index``, new layers have ``origin=None`` and a Keras config, and every
``InputLayer`` made by a cut has ``source_tensor`` (the original tensor it stands for;
``outer/inner`` layer path for a tensor inside a nested model). Errors are ``EditError``
lines naming the edit (index and op) and the layer or tensor at fault.

>>> edited = apply_edits(graph, [Cut(inputs=("conv3_block4_out",))])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable

from resect.core.errors import ResectError
from resect.core.graph import ModelGraph
from resect.core.perf import paused_gc
from resect.core.surgery.edits import Edit
from resect.core.surgery.errors import EditError
from resect.core.surgery.registry import spec_of

__all__ = ["EditError", "apply_edit", "apply_edits"]


def apply_edit(graph: ModelGraph, edit: Edit, index: int = 0) -> ModelGraph:
    """Apply one edit; ``index`` is its position in the recipe, for the error message."""
    spec = spec_of(edit)
    if spec is None:
        raise EditError(f"edit {index}: not an edit: {edit!r}")
    try:
        with paused_gc():
            return spec.apply(graph, edit)
    except ResectError as error:
        raise EditError(f"edit {index} ({edit.op}): {_strip(error)}") from None
    except (KeyError, IndexError, TypeError, ValueError) as error:
        # Input no check foresaw: still one line naming the edit, never a traceback.
        raise EditError(
            f"edit {index} ({edit.op}): cannot be applied ({type(error).__name__}: {_strip(error)})"
        ) from None


def apply_edits(graph: ModelGraph, edits: Iterable[Edit]) -> ModelGraph:
    """Apply edits in order to the original graph."""
    for index, edit in enumerate(edits):
        graph = apply_edit(graph, edit, index)
    return graph


def _strip(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
