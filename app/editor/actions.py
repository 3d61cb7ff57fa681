"""The editor's actions, its Edit menu and its toolbar (built once per window)."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from resect.app.editor import menus
from resect.app.qactions import make_action


def make_actions(editor: Any) -> None:
    """Create the editor's ``QAction``s as attributes of ``editor`` and place them."""
    w = editor.window
    editor.undo_action = editor.stack.createUndoAction(w, "&Undo")
    editor.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
    editor.redo_action = editor.stack.createRedoAction(w, "&Redo")
    editor.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    for action in (editor.undo_action, editor.redo_action):
        w.addAction(action)

    def act(text: str, slot: Any, shortcut: str | None = None, checkable: bool = False) -> QAction:
        return make_action(w, text, slot, shortcut, checkable=checkable)

    editor.extract_action = act("E&xtract picked layers as model", editor.extract_picked, "X")
    editor.outputs_action = act("End model at &picked layers (outputs)", editor.picked_as_outputs, "Ctrl+Shift+P")
    editor.clear_pick_action = act("Clear pick", editor.clear_pick, "Esc")
    editor.cut_points_action = act("Show single-tensor &cut points", editor.toggle_cut_points, "K", True)
    editor.original_action = act("Show &original (removed parts greyed)", editor.set_mode, "O", True)
    editor.delete_action = act("&Delete selected layer", lambda: menus.on_selected(editor, "delete"), "Del")
    editor.rename_action = act("Re&name selected layer…", lambda: menus.on_selected(editor, "rename"), "F2")
    editor.input_action = act("Change &input shape…", lambda: menus.change_input(editor, None))
    editor.head_action = act("Replace &head from selection…", lambda: menus.head_from_selection(editor))
    editor.save_recipe_action = act("&Save recipe (edits)…", lambda: editor.save_recipe(), "Ctrl+S")
    editor.open_recipe_action = act("Open r&ecipe…", lambda: editor.open_recipe(), "Ctrl+R")
    editor.export_action = w.export_model_action  # File > Export model (Ctrl+E): the window's, enabled here
    w.exporter = editor.export
    editor.history_dock.toggleViewAction().setText("&History")
    # files live under File (they were under Edit): recipes beside Open, export with the exports
    w.file_menu.insertAction(w.file_recipes_anchor, editor.open_recipe_action)
    w.file_menu.insertAction(w.file_recipes_anchor, editor.save_recipe_action)

    bar = w.menuBar()
    menu = QMenu("&Edit", w)
    for item in (editor.undo_action, editor.redo_action, None, editor.extract_action, editor.outputs_action,
                 editor.clear_pick_action, None, editor.delete_action, editor.rename_action, editor.input_action, editor.head_action, None,
                 editor.cut_points_action, editor.original_action, None,
                 editor.history_dock.toggleViewAction()):  # fmt: skip
        menu.addSeparator() if item is None else menu.addAction(item)
    actions = bar.actions()
    bar.insertMenu(actions[1] if len(actions) > 1 else None, menu)
    editor.edit_menu = menu
    toolbar = w.addToolBar("Edit")
    toolbar.setObjectName("editToolbar")
    toolbar.setMovable(False)
    short = {editor.extract_action: "Extract", editor.original_action: "Original"}
    for action, text in short.items():
        action.setIconText(text)
        action.setToolTip(action.text().replace("&", ""))
    # the stack's own undo / redo actions carry the edit's name (long): short twins for the toolbar
    undo = act("Undo", editor.undo)
    redo = act("Redo", editor.redo)
    undo.setShortcut(QKeySequence())
    redo.setShortcut(QKeySequence())
    undo.setEnabled(False)
    redo.setEnabled(False)
    editor.stack.canUndoChanged.connect(undo.setEnabled)
    editor.stack.canRedoChanged.connect(redo.setEnabled)
    for action in (undo, redo, editor.extract_action, editor.original_action):
        toolbar.addAction(action)
    editor.toolbar = toolbar
