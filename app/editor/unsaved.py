"""The unsaved-edits question asked before anything replaces or drops the current edits
(File > Open, a recent file, a dropped file, File > Close, Quit, closing the window).

Edits live only in memory until saved as a recipe, so every path that would drop them asks
first, the way desktop editors do: Save recipe / Discard / Cancel. Cancel (or Escape)
leaves everything as it was; Save that is itself cancelled counts as Cancel. A successful
export of the edited model counts as saving, until the next edit."""

from __future__ import annotations

import os
from typing import Any

from resect.app.editor import prompts


def has_unsaved_edits(editor: Any) -> bool:
    """Edits exist and differ from what was last saved (the undo stack's clean state)."""
    return editor.doc is not None and bool(editor.doc.edits) and not editor.stack.isClean()


def saved_by_export(editor: Any, model_path: str, edits: list[Any]) -> None:
    """A successful export of ``edits`` to the model at ``model_path`` saves the work, as
    saving a recipe does: the undo stack is clean if the window still shows that model
    with exactly those edits (an edit made while the export ran keeps the question)."""
    if editor.doc is not None and editor.viewer.path == model_path and list(editor.doc.edits) == list(edits):
        editor.stack.setClean()


def confirm_discard(editor: Any, action: str) -> bool:
    """``True`` when ``action`` (``"open another model"``, ``"close"``, ``"quit"``) may go on."""
    if not has_unsaved_edits(editor):
        return True
    count = len(editor.doc.edits)
    name = os.path.basename(editor.viewer.path) or "this model"
    answer = prompts.ask_save_discard_cancel(
        editor.window,
        "Unsaved edits",
        f"Save the {count} edit{'s' if count != 1 else ''} to {name} as a recipe before you {action}?",
        "Edits not saved as a recipe are lost.",
    )
    if answer == "save":
        return editor.save_recipe()
    return answer == "discard"
