"""The editor: turns the viewer into a surgery bench (issue 5).

Every user action becomes one ``core.surgery.edits`` object, pushed through a thin
``QUndoCommand`` adapter (``commands``) onto a ``QUndoStack``; the core ``Document``
applies it, emits an event, and the canvas, tree, preview strip and history re-render
from ``document.edited``. Nothing here edits a graph itself.

``install_editor(window)`` adds the editor to a viewer ``MainWindow``.
"""

from __future__ import annotations

from typing import Any


def install_editor(window: Any) -> Any:
    """Attach an ``EditorController`` (menus, docks, canvas hooks) to a viewer window."""
    from resect.app.editor.controller import EditorController

    editor = EditorController(window)
    window.editor = editor
    return editor
