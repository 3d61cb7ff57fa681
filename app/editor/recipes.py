"""Edits to and from files: save / open a recipe, the export dialog, and the window an
exported model opens in. Each takes the ``EditorController``; none edits a graph."""

from __future__ import annotations

import os
import time
from typing import Any

from PySide6.QtCore import Qt

import resect.app.dialogs
from resect.app.editor import prompts, unsaved
from resect.app.editor.commands import ResetCommand
from resect.core.errors import ResectError


def save_recipe(editor: Any, path: str | None = None) -> bool:
    """Write the edits as a ``*.resect.json`` recipe; the undo stack is clean afterwards."""
    from resect.core.surgery.recipe import save_recipe as write

    if editor.doc is None:
        return False
    if path is None:
        base = os.path.splitext(editor.viewer.path)[0] if editor.viewer.path else "model"
        path = resect.app.dialogs.ask_save_path(
            editor.window, "Save edits as a recipe", base + ".resect.json", "Resect recipe (*.resect.json *.json)"
        )
    if not path:
        return False
    try:
        write(path, editor.doc.edits)
    except OSError as error:
        editor.show_error("Cannot save the recipe", f"{path}: {error.strerror or error}")
        return False
    editor.stack.setClean()
    editor.window.statusBar().showMessage(f"Saved {len(editor.doc.edits)} edit(s) to {path}", 6000)
    return True


def open_recipe(editor: Any, path: str | None = None) -> bool:
    """Replace the edit list by a recipe file's (one undoable step); a bad recipe changes nothing."""
    from resect.core.surgery.apply import apply_edits
    from resect.core.surgery.recipe import load_recipe

    if editor.doc is None:
        return False
    path = path or prompts.ask_open_recipe(editor.window, os.path.dirname(editor.viewer.path))
    if not path:
        return False
    try:
        edits = load_recipe(path)
        apply_edits(editor.doc.original, edits)
    except ResectError as error:
        editor.show_error("Cannot open the recipe", str(error))
        return False
    editor._started = time.perf_counter()
    editor.stack.push(ResetCommand(editor.document, edits, f"Recipe {os.path.basename(path)} ({len(edits)} edits)"))
    return True


def export(editor: Any) -> Any:
    """Open the export dialog for the current edits (non-modal)."""
    from resect.app.editor.export_dialog import ExportDialog

    if editor.doc is None or not editor.viewer.path:
        return None
    dialog = ExportDialog(editor.viewer.path, list(editor.doc.edits), editor.window, client=editor.session.keras)
    dialog.open_requested.connect(editor.open_in_new_window)
    dialog.work_saved.connect(lambda edits, d=dialog: unsaved.saved_by_export(editor, d.model_path, edits))
    dialogs = editor.export_dialogs
    dialog.finished.connect(lambda _=0, d=dialog: dialogs.remove(d) if d in dialogs else None)
    dialogs.append(dialog)
    dialog.show()
    return dialog


def open_in_new_window(editor: Any, path: str) -> Any:
    """An exported model, in a window of its own (with its own editor)."""
    from resect.app.editor import install_editor
    from resect.app.main_window import MainWindow

    window = MainWindow(settings=editor.window.settings, use_keras=editor.session.use_keras)
    install_editor(window)
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    window.show()
    window.open_path(path.rstrip("/"))
    windows = editor.windows
    windows.append(window)
    window.destroyed.connect(lambda _=None, w=window: windows.remove(w) if w in windows else None)
    return window
