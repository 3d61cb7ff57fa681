"""The canvas context menu (node, collapsed block or edge) and the dialog-backed actions.

Each entry makes one ``core.surgery`` edit and hands it to the controller; dialogs only
collect parameters and dry-run the edit to say early what is wrong.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QMenu

from resect.app.editor import prompts
from resect.app.editor.selection import boundary
from resect.core.errors import ResectError
from resect.core.layout.visible import layer_of_box
from resect.core.surgery.apply import apply_edit
from resect.core.surgery.edits import Cut, DeleteLayer, Edit, InsertLayer, LayerSpec, Rename, ReplaceLayer
from resect.core.surgery.registry import MenuContext, MenuEntry, Target, menu_entries
from resect.core.tensor_ref import TensorRef


def build(editor: Any, target: Any) -> QMenu | None:
    """The menu for a canvas key (layer or collapsed block) or a tensor (edge); its edit
    entries come from the op registry (``core.surgery.registry``)."""
    menu = QMenu(editor.window)
    menu.setObjectName("editorContextMenu")
    prepared = editor.canvas.prepared
    graph = editor.edited
    if isinstance(target, TensorRef):
        menu.setTitle(str(target))
        _add_entries(editor, menu, "tensor", MenuContext(graph, tensor=str(target)))
        return menu
    key = str(target)
    box = prepared.box(key) if prepared is not None and key in prepared.index else None
    if box is not None and box.block:
        block = editor.viewer.block_named(box.block)
        menu.setTitle(box.block)
        if block is not None:
            _add_entries(editor, menu, "block", MenuContext(graph, block=block))
        _pick_entries(editor, menu, graph)
        menu.addSeparator()
        menu.addAction("Expand block", lambda: editor.window.toggle_collapse(box.block))
        menu.addAction("Pick block", lambda: editor.pick((box.block,), True))
        return menu
    shown = editor.shown_graph()
    tensor = key  # a call box's key ("enc2:1") names that call's output: entries act on that call
    key = layer_of_box(key)
    name = key.split("/", 1)[0]
    if not shown.has_layer(name):
        return None
    layer = shown.layer(name)
    if box is not None and len(layer.nodes) > 1:
        menu.setTitle(box.title)  # "enc2 (call 2 of 2)"
    if layer.is_input:
        _add_entries(editor, menu, "input", MenuContext(graph, tensor=tensor, layer=name))
        menu.addSeparator()
    on_layer = MenuContext(graph, tensor=tensor, layer=key, layer_inputs=_call_inputs(layer, tensor))
    _add_entries(editor, menu, "tensor", on_layer)
    menu.addSeparator()
    entries = [e for e in menu_entries("layer") if not layer.is_input or e.dialog == "rename"]
    _add_entries(editor, menu, entries, on_layer)
    _pick_entries(editor, menu, graph)
    menu.addSeparator()
    picked = tensor in editor.picked  # picks hold box keys: a call box is picked on its own
    menu.addAction("Unpick" if picked else "Pick (Shift+click)", lambda: editor.pick((tensor,), True))
    return menu


def _call_inputs(layer: Any, key: str) -> tuple[str, ...]:
    """The tensors the clicked call of ``layer`` reads (``key`` names the call: ``enc2:1``)."""
    node_index = TensorRef.parse(key.rsplit("/", 1)[-1]).node_index
    node = next((n for n in layer.nodes if n.index == node_index), None)
    return tuple(str(ref) for ref in node.inputs) if node is not None else ()


def _pick_entries(editor: Any, menu: QMenu, graph: Any) -> None:
    """Entries on the current pick (when there is one)."""
    if not editor.picked:
        return
    menu.addSeparator()
    names = editor.picked_layer_names()
    ctx = MenuContext(graph, boundary=boundary(graph, names), picked=tuple(names))
    _add_entries(editor, menu, "pick", ctx)


def _add_entries(editor: Any, menu: QMenu, on: Target | list[MenuEntry], ctx: MenuContext) -> None:
    """Add the registry's entries for ``on`` (or the given ones), a separator between groups."""
    entries = menu_entries(on) if isinstance(on, str) else on
    group = None
    for entry in entries:
        if entry.when is not None and not entry.when(ctx):
            continue
        if group is not None and entry.group != group:
            menu.addSeparator()
        group = entry.group
        menu.addAction(entry.label, lambda entry=entry: run_entry(editor, entry, ctx))


def run_entry(editor: Any, entry: MenuEntry, ctx: MenuContext) -> bool:
    """Do what a registry menu entry says: open its dialog, or build its edit and push it
    (a cut goes through the editor's crossing check; a refusal is shown in words)."""
    if entry.dialog is not None:
        return DIALOGS[entry.dialog](editor, ctx)
    assert entry.make is not None
    try:
        edit: Edit = entry.make(ctx)
    except ResectError as error:
        why = str(error)
        prompts.show_info(editor.window, entry.label, why)
        editor.window.statusBar().showMessage(why, 10000)
        return False
    if isinstance(edit, Cut):
        return editor.cut(list(edit.inputs), list(edit.outputs))
    return editor.apply(edit)


# --- dialog-backed actions ---------------------------------------------------------------


def _selected_tensor(editor: Any) -> str | None:
    selection = editor.viewer.selection
    if selection.tensor is not None:
        return str(selection.tensor)
    if selection.layer_path:
        layer = editor.viewer.selected_layer
        call = selection.call  # a shared layer's call box: that call's output, not call 0's
        if layer is not None and call is not None and call < len(layer.nodes):
            return f"{'/'.join(selection.layer_path)}:{layer.nodes[call].index}"
        return "/".join(selection.layer_path)
    return None


def on_selected(editor: Any, what: str) -> bool:
    """Delete (Del) or rename (F2) the layer selected in the tree or on the canvas."""
    path = editor.viewer.selection.layer_path
    if editor.doc is None or not path:
        editor.window.statusBar().showMessage("Select a layer first", 5000)
        return False
    key = "/".join(path)
    return editor.apply(DeleteLayer(key)) if what == "delete" else rename(editor, key)


def head_from_selection(editor: Any) -> bool:
    tensor = _selected_tensor(editor)
    if tensor is None:
        editor.window.statusBar().showMessage("Select the layer the new head starts from", 5000)
        return False
    return replace_head(editor, tensor)


def _run_edit_dialog(editor: Any, dialog: Any) -> bool:
    """Show an edit dialog; on OK push its edit. The dialog is released either way."""
    try:
        if not prompts.run_dialog(dialog):
            return False
        return editor.apply(dialog.edit())
    finally:
        dialog.deleteLater()


def replace_head(editor: Any, tensor: str) -> bool:
    from resect.app.editor.head_dialog import HeadDialog

    try:
        dialog = HeadDialog(editor.edited, tensor, editor.window)
    except ResectError as error:
        editor.show_error("Cannot replace the head here", str(error))
        return False
    return _run_edit_dialog(editor, dialog)


def change_input(editor: Any, name: str | None) -> bool:
    from resect.app.editor.input_dialog import InputDialog

    doc = editor.document()
    dialog = InputDialog(
        doc.original, doc.edited, editor.window.runner, editor.session.keras_model, editor.window, name
    )
    return _run_edit_dialog(editor, dialog)


def _layer_dialog(editor: Any, title: str, make: Any, spec: LayerSpec | None = None) -> bool:
    from resect.app.editor.layer_dialog import LayerDialog

    graph = editor.edited
    keras = editor.session.keras if editor.session.use_keras else None  # the form and check come from Keras
    dialog = LayerDialog(title, make, lambda edit: apply_edit(graph, edit), spec, editor.window, keras=keras)
    return _run_edit_dialog(editor, dialog)


def insert_layer(editor: Any, tensor: str) -> bool:
    return _layer_dialog(editor, f"Insert layer after {tensor}", lambda spec: InsertLayer(tensor, spec))


def replace_layer(editor: Any, name: str) -> bool:
    graph = editor.edited
    top = name.split("/", 1)[0]
    spec = None
    if graph.has_layer(top) and "/" not in name:
        layer = graph.layer(top)
        config = {k: v for k, v in dict(layer.config).items() if k not in ("name", "trainable", "dtype")}
        spec = LayerSpec(layer.class_name, config)
    return _layer_dialog(editor, f"Replace layer {name}", lambda s: ReplaceLayer(name, s), spec)


def rename(editor: Any, name: str) -> bool:
    new = prompts.ask_text(editor.window, "Rename layer", f"New name for {name}:", name.rsplit("/", 1)[-1])
    if not new or new == name:
        return False
    return editor.apply(Rename(name, new.strip()))


def remove_block(editor: Any, block_name: str) -> bool:
    """ "Remove block": the registry's entry run on the named block."""
    block = editor.viewer.block_named(block_name)
    entry = next(e for e in menu_entries("block") if e.label == "Remove block")
    if block is None:
        editor.window.statusBar().showMessage(f"{block_name} is not a block of the model", 10000)
        return False
    return run_entry(editor, entry, MenuContext(editor.edited, block=block))


DIALOGS = {
    "head": lambda editor, ctx: replace_head(editor, str(ctx.tensor)),
    "insert": lambda editor, ctx: insert_layer(editor, str(ctx.tensor)),
    "replace": lambda editor, ctx: replace_layer(editor, str(ctx.layer)),
    "rename": lambda editor, ctx: rename(editor, str(ctx.layer)),
    "input": lambda editor, ctx: change_input(editor, ctx.layer),
}


__all__ = ["Cut", "build", "change_input", "head_from_selection", "remove_block"]
