"""The editing document: an original graph plus a list of edits, with undo / redo.

Undo is exact because every state is the original graph with the first N edits applied
(cached, so undo and redo cost nothing). Pure Python: the GUI wraps ``push`` / ``undo``
in a ``QUndoCommand`` and re-renders on the events this class emits.

>>> doc = Document(read_model("resnet50.keras"))      # doctest: +SKIP
>>> doc.subscribe(lambda event: print(event))          # doctest: +SKIP
>>> doc.push(Cut(outputs=("conv4_block6_out",)))       # doctest: +SKIP
pushed
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from resect.core.graph import ModelGraph
from resect.core.surgery.apply import apply_edit
from resect.core.surgery.edits import Edit
from resect.core.surgery.preview import Preview, preview
from resect.core.surgery.recipe import dump_recipe, parse_recipe

# Events: "pushed", "undone", "redone", "reset" (edit list replaced by a recipe),
# "refreshed" (the same edits re-applied after Keras answered for new layers).
Listener = Callable[[str], None]


class Document:
    """Original graph + edits; ``edited`` and ``preview`` follow every change."""

    def __init__(self, original: ModelGraph) -> None:
        self.original = original
        self._edits: list[Edit] = []
        self._states: list[ModelGraph] = [original]
        self._previews: dict[int, Preview] = {}
        self._redo: list[tuple[Edit, ModelGraph]] = []
        self._listeners: list[Listener] = []

    # --- state ---------------------------------------------------------------
    @property
    def edits(self) -> tuple[Edit, ...]:
        return tuple(self._edits)

    @property
    def edited(self) -> ModelGraph:
        return self._states[-1]

    @property
    def preview(self) -> Preview:
        key = len(self._edits)
        if key not in self._previews:
            self._previews[key] = preview(self.original, self.edited)
        return self._previews[key]

    @property
    def can_undo(self) -> bool:
        return bool(self._edits)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    # --- changes -------------------------------------------------------------
    def push(self, edit: Edit) -> ModelGraph:
        """Apply ``edit`` on the current state; on ``EditError`` nothing changes."""
        graph = apply_edit(self.edited, edit, len(self._edits))
        self._append(edit, graph)
        self._redo.clear()
        self._emit("pushed")
        return graph

    def undo(self) -> Edit | None:
        """Drop the last edit (kept for redo); returns it, or ``None`` when there is none."""
        if not self._edits:
            return None
        edit = self._edits.pop()
        graph = self._states.pop()
        self._previews.pop(len(self._edits) + 1, None)
        self._redo.append((edit, graph))
        self._emit("undone")
        return edit

    def redo(self) -> Edit | None:
        if not self._redo:
            return None
        edit, graph = self._redo.pop()
        self._append(edit, graph)
        self._emit("redone")
        return edit

    def set_edits(self, edits: Iterable[Edit]) -> None:
        """Replace the whole edit list (all or nothing: on an error nothing changes)."""
        edits = list(edits)
        states = [self.original]
        for index, edit in enumerate(edits):
            states.append(apply_edit(states[-1], edit, index))
        self._edits = edits
        self._states = states
        self._previews.clear()
        self._redo.clear()
        self._emit("reset")

    def refresh(self) -> None:
        """Re-apply the edits (Keras' answers for new layers arrived: see
        ``core.surgery.exact``), so shapes and counts become exact; the redo list stays."""
        states = [self.original]
        for index, edit in enumerate(self._edits):
            states.append(apply_edit(states[-1], edit, index))
        self._states = states
        self._previews.clear()
        self._emit("refreshed")

    # --- recipes -------------------------------------------------------------
    def to_recipe(self) -> dict[str, Any]:
        return dump_recipe(self._edits)

    def from_recipe(self, recipe: Any) -> None:
        """Load a recipe object (or a list of edits) as the document's edit list."""
        if isinstance(recipe, list) and all(isinstance(e, Edit) for e in recipe):
            self.set_edits(recipe)
        else:
            self.set_edits(parse_recipe(recipe))

    # --- observers -----------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` after every change; returns a function that unsubscribes."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _append(self, edit: Edit, graph: ModelGraph) -> None:
        self._edits.append(edit)
        self._states.append(graph)

    def _emit(self, event: str) -> None:
        for listener in list(self._listeners):
            listener(event)
