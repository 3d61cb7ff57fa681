"""The canvas context menu (node, collapsed block or edge) and the dialog-backed actions.

Each entry makes one ``core.surgery`` edit and hands it to the controller; dialogs only
collect parameters and dry-run the edit to say early what is wrong.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QMenu

from app.editor import prompts
from core.errors import ResectError
from core.render.visible import layer_of_box
from core.surgery.apply import apply_edit
from core.surgery.edits import (
    AddOutputs,
    Cut,
    DeleteLayer,
    InsertLayer,
    LayerSpec,
    Rename,
    ReplaceLayer,
    SetTrainable,
)
from core.tensor_ref import TensorRef


def build(editor: Any, target: Any) -> QMenu | None:
    """The menu for a canvas key (layer or collapsed block) or a tensor (edge)."""
    menu = QMenu(editor.window)
    menu.setObjectName("editorContextMenu")
    prepared = editor.canvas.prepared
    if isinstance(target, TensorRef):
        menu.setTitle(str(target))
        _tensor_entries(editor, menu, str(target))
        return menu
    key = str(target)
    box = prepared.box(key) if prepared is not None and key in prepared.index else None
    if box is not None and box.block:
        _block_entries(editor, menu, box.block)
        return menu
    graph = editor.shown_graph()
    tensor = key  # a call box's key ("enc2:1") names that call's output: entries act on that call
    key = layer_of_box(key)
    name = key.split("/", 1)[0]
    if not graph.has_layer(name):
        return None
    layer = graph.layer(name)
    if box is not None and len(layer.nodes) > 1:
        menu.setTitle(box.title)
    if layer.is_input:
        menu.addAction("Change input shape…", lambda: change_input(editor, name))
        menu.addSeparator()
    _tensor_entries(editor, menu, tensor, layer_inputs=_call_inputs(layer, tensor))
    menu.addSeparator()
    if not layer.is_input:
        menu.addAction("Delete layer", lambda: editor.apply(DeleteLayer(key)))
        menu.addAction("Replace layer…", lambda: replace_layer(editor, key))
    menu.addAction("Rename…", lambda: rename(editor, key))
    menu.addSeparator()
    picked = key in editor.picked
    menu.addAction("Unpick" if picked else "Pick (Shift+click)", lambda: editor.pick((key,), True))
    return menu


def _call_inputs(layer: Any, key: str) -> list[str]:
    """The tensors the clicked call of ``layer`` reads (``key`` names the call: ``enc2:1``)."""
    node_index = TensorRef.parse(key.rsplit("/", 1)[-1]).node_index
    node = next((n for n in layer.nodes if n.index == node_index), None)
    return [str(ref) for ref in node.inputs] if node is not None else []


def _tensor_entries(editor: Any, menu: QMenu, tensor: str, layer_inputs: list[str] | None = None) -> None:
    """Entries about a tensor; on a layer (``layer_inputs`` given) the words say which side."""
    if layer_inputs is None:  # an edge: one tensor, no sides
        menu.addAction("Start model here", lambda: editor.cut([tensor], []))
    else:  # a layer: keep it (start at what it reads) or drop it (start at what it makes)
        if layer_inputs:
            menu.addAction("Start model at this layer's input", lambda: editor.cut(list(layer_inputs), []))
        menu.addAction("Start model at its output", lambda: editor.cut([tensor], []))
    menu.addAction("End model here", lambda: editor.cut([], [tensor]))
    menu.addAction("Add as output", lambda: editor.apply(AddOutputs((tensor,))))
    menu.addSeparator()
    menu.addAction("Freeze this and everything before it", lambda: editor.apply(SetTrainable(False, below=tensor)))
    menu.addAction("Unfreeze everything after it", lambda: editor.apply(SetTrainable(True, above=tensor)))
    menu.addSeparator()
    menu.addAction("Replace head from here…", lambda: replace_head(editor, tensor))
    menu.addAction("Insert layer after…", lambda: insert_layer(editor, tensor))


def _block_entries(editor: Any, menu: QMenu, block_name: str) -> None:
    block = editor.viewer.block_named(block_name)
    menu.setTitle(block_name)
    if block is not None and block.exit is not None:
        exit_ = str(block.exit)
        menu.addAction("Start model after this block", lambda: editor.cut([exit_], []))
        menu.addAction("End model after this block", lambda: editor.cut([], [exit_]))
        menu.addAction("Add block output as output", lambda: editor.apply(AddOutputs((exit_,))))
        menu.addAction(
            "Freeze this block and everything before it", lambda: editor.apply(SetTrainable(False, below=exit_))
        )
    menu.addAction("Remove block", lambda: remove_block(editor, block_name))
    menu.addSeparator()
    menu.addAction("Expand block", lambda: editor.window.toggle_collapse(block_name))
    menu.addAction("Pick block", lambda: editor.pick((block_name,), True))


# --- dialog-backed actions ---------------------------------------------------------------


def _selected_tensor(editor: Any) -> str | None:
    selection = editor.viewer.selection
    if selection.tensor is not None:
        return str(selection.tensor)
    if selection.layer_path:
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
    from app.editor.head_dialog import HeadDialog

    try:
        dialog = HeadDialog(editor.edited, tensor, editor.window)
    except ResectError as error:
        editor.show_error("Cannot replace the head here", str(error))
        return False
    return _run_edit_dialog(editor, dialog)


def change_input(editor: Any, name: str | None) -> bool:
    from app.editor.input_dialog import InputDialog

    doc = editor.document()
    dialog = InputDialog(
        doc.original, doc.edited, editor.window.runner, editor.session.keras_model, editor.window, name
    )
    return _run_edit_dialog(editor, dialog)


def _layer_dialog(editor: Any, title: str, make: Any, spec: LayerSpec | None = None) -> bool:
    from app.editor.layer_dialog import LayerDialog

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
    """Reconnect around a block when shapes allow; say why not otherwise.

    Possible here with the engine's cut: a block at the start (its entry is a model
    input) or at the end (its exit is a model output) of the model."""
    graph = editor.edited
    block = editor.viewer.block_named(block_name)
    why = None
    if block is None or block.entry is None or block.exit is None:
        why = f"{block_name} has no single entry and exit tensor, so nothing can be reconnected around it."
    else:
        try:
            entry, exit_ = graph.resolve(block.entry), graph.resolve(block.exit)
        except ResectError:
            why = f"{block_name} is not part of the edited model any more."
        else:
            before, after = graph.shape(entry), graph.shape(exit_)
            if before != after:
                why = (
                    f"{block_name} changes the tensor shape ({_dims(before)} → {_dims(after)}): the layers after it "
                    "cannot read its input, so it cannot be bypassed."
                )
            elif graph.layer(entry.layer).is_input and entry in graph.inputs:
                return editor.cut([str(exit_)], [])
            elif exit_ in graph.outputs:
                return editor.cut([], [str(entry)])
            else:
                why = (
                    f"{block_name} keeps the shape ({_dims(before)}), but it sits in the middle of the model and "
                    "the surgery engine has no edit that reconnects its consumers to its input yet. "
                    "Use 'Start model after this block' / 'End model after this block' to drop leading or "
                    "trailing blocks."
                )
    prompts.show_info(editor.window, "Remove block", why)
    editor.window.statusBar().showMessage(why, 10000)
    return False


def _dims(shape: Any) -> str:
    return "?" if shape is None else "×".join("?" if d is None else str(d) for d in shape[1:])


__all__ = ["Cut", "build", "change_input", "head_from_selection", "remove_block"]
