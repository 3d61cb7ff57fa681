"""The editor driven as a user on real models (no export here; see test_editor_export.py):
context menus, rubber-band picking, dialogs, undo / redo, recipes, impossible edits."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

import resect.app.editor.prompts as prompts
from resect.app.editor import install_editor
from resect.core.reader import read_model
from resect.core.tensor_ref import TensorRef
from tests.gui.helpers import open_and_wait


# --- driving helpers (shared with test_editor_export.py) ----------------------------------
def open_editor(qtbot, make_window, path, use_keras: bool = False):
    window = make_window(use_keras=use_keras)
    editor = install_editor(window)
    open_and_wait(qtbot, window, path)
    assert editor.doc is not None and editor.doc.original is window.document.graph
    return window, editor


def wait_shown(qtbot, window) -> None:
    """Until the canvas paints the graph the viewer document holds."""
    qtbot.waitUntil(
        lambda: (
            not window.session.scene_pending
            and window.canvas.prepared is not None
            and window.document.scene is window.canvas.prepared.scene
        ),
        timeout=30_000,
    )


def menu_action(editor, target, text: str):
    menu = editor.context_menu(target)
    assert menu is not None, target
    found = {a.text(): a for a in menu.actions() if a.text()}
    assert text in found, f"{text!r} not in {list(found)}"
    return found[text]


def click_menu(qtbot, window, editor, target, text: str) -> None:
    """Right-click ``target`` (a box key or a TensorRef of an edge) and choose ``text``."""
    menu_action(editor, target, text).trigger()
    wait_shown(qtbot, window)


def edge_with(window, tensor: str) -> TensorRef:
    """The tensor of a drawn edge (what a right-click on that edge hands the editor)."""
    ref = TensorRef.parse(tensor)
    edges = [e for e in window.canvas.prepared.scene.edges if ref in (e.tensors or (e.tensor,))]
    assert edges, f"no edge carries {tensor}"
    return edges[0].tensor


def send_mouse(widget, kind, pos: QPointF, buttons, modifiers, button=Qt.MouseButton.LeftButton) -> None:
    global_pos = QPointF(widget.mapToGlobal(pos.toPoint()))
    event = QMouseEvent(kind, pos, global_pos, button, buttons, modifiers)
    QApplication.sendEvent(widget, event)


def shift_drag(qtbot, canvas, scene_rect, additive: bool = False) -> None:
    """A real Shift(+Ctrl)+drag of the mouse over ``scene_rect`` (scene units) on the canvas."""
    viewport = canvas.view.viewport()
    start = QPointF(canvas.scene_point_to_widget(scene_rect.left(), scene_rect.top()))
    end = QPointF(canvas.scene_point_to_widget(scene_rect.right(), scene_rect.bottom()))
    mods = Qt.KeyboardModifier.ShiftModifier | (
        Qt.KeyboardModifier.ControlModifier if additive else Qt.KeyboardModifier.NoModifier
    )
    left = Qt.MouseButton.LeftButton
    send_mouse(viewport, QEvent.Type.MouseMove, start, Qt.MouseButton.NoButton, mods)
    send_mouse(viewport, QEvent.Type.MouseButtonPress, start, left, mods)
    for step in range(1, 11):
        point = start + (end - start) * (step / 10)
        send_mouse(viewport, QEvent.Type.MouseMove, point, left, mods, Qt.MouseButton.NoButton)
        qtbot.wait(5)
    send_mouse(viewport, QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton, mods)
    qtbot.wait(20)


def band_around(canvas, *keys: str):
    """Zoom to ``keys`` (as a user scrolls there) and return a band just around them."""
    canvas.zoom_to_keys(keys)
    rect = None
    for key in keys:
        r = canvas.prepared.rect_of(key)
        rect = r if rect is None else rect.united(r)
    return rect.adjusted(-4, -4, 4, 4)


@pytest.fixture
def accept_dialogs(monkeypatch):
    """``accept_dialogs.append(fn)``: the next dialog is handed to ``fn`` (which fills it like a
    user) and accepted; questions are answered from ``answers``."""

    class Script(list):
        answers: list[bool] = []
        texts: list[str] = []
        infos: list[str] = []

    script = Script()

    def run_dialog(dialog) -> bool:
        fill = script.pop(0)
        fill(dialog)
        return dialog.ok_button.isEnabled() if hasattr(dialog, "ok_button") else True

    monkeypatch.setattr(prompts, "run_dialog", run_dialog)
    monkeypatch.setattr(prompts, "ask_yes_no", lambda parent, title, text: script.answers.pop(0))
    monkeypatch.setattr(prompts, "ask_text", lambda parent, title, label, text="": script.texts.pop(0))
    monkeypatch.setattr(prompts, "show_info", lambda parent, title, text: script.infos.append(text))
    return script


# --- tests -------------------------------------------------------------------------------------
def test_start_and_end_here_on_small_resnet(qtbot, make_window, zoo, dialog_log):
    path = zoo.path("small_resnet", "keras")
    window, editor = open_editor(qtbot, make_window, path)
    click_menu(qtbot, window, editor, "conv2_block2_out", "Start model at its output")
    click_menu(qtbot, window, editor, "conv3_block2_out", "End model here")
    edited = editor.doc.edited
    assert [str(r) for r in edited.outputs] == ["conv3_block2_out:0:0"]
    assert editor.doc.preview.inputs[0].source == TensorRef("conv2_block2_out")
    # the canvas, tree and strip show the edited graph
    assert window.document.graph is edited
    assert "conv1_conv" not in window.canvas.prepared.index
    assert "from_conv2_block2_out" in window.canvas.prepared.index
    assert f"{editor.doc.preview.total_params:,}" in editor.strip.text
    assert editor.stack.count() == 2 and editor.history.view.stack() is editor.stack
    assert not dialog_log.errors
    # new input marked, picks cleared
    assert editor.overlays.keys["io"] == ("from_conv2_block2_out", "conv3_block2_out")


def test_branch_cut_shows_crossing_and_completes(qtbot, make_window, zoo, accept_dialogs):
    path = zoo.path("small_resnet", "keras")
    window, editor = open_editor(qtbot, make_window, path)
    # inside the branch of conv3_block1: its 0_conv shortcut bypasses conv3_block1_1_conv
    accept_dialogs.answers.append(False)  # first: look at it, decline
    click_menu(qtbot, window, editor, "conv3_block1_1_conv", "Start model at its output")
    assert editor.stack.count() == 0
    assert editor.crossing == (TensorRef("conv3_block1_0_bn"),)
    assert editor.overlays.items["crossing"].path().elementCount() > 0
    accept_dialogs.answers.append(True)  # then: complete it
    click_menu(qtbot, window, editor, "conv3_block1_1_conv", "Start model at its output")
    assert editor.stack.count() == 1
    names = [r.layer for r in editor.doc.edited.inputs]
    assert len(names) == 2 and editor.doc.edits[0].complete


def test_impossible_edit_shows_error_and_changes_nothing(qtbot, make_window, zoo, dialog_log, accept_dialogs):
    path = zoo.path("small_resnet", "keras")
    window, editor = open_editor(qtbot, make_window, path)
    click_menu(qtbot, window, editor, "conv2_block1_out", "Freeze this and everything before it")
    before = (editor.doc.edits, editor.doc.edited, editor.stack.count(), editor.strip.text, window.document.graph)
    # conv1_conv changes the shape (3 -> 8 channels): it cannot be deleted
    menu_action(editor, "conv1_conv", "Delete layer").trigger()
    accept_dialogs.texts.append("conv1_bn")  # a name that exists
    menu_action(editor, "conv1_conv", "Rename…").trigger()
    assert len(dialog_log.errors) == 2
    assert "conv1_conv" in dialog_log.errors[0][1] and "delete_layer" in dialog_log.errors[0][1]
    assert "conv1_bn" in dialog_log.errors[1][1]
    after = (editor.doc.edits, editor.doc.edited, editor.stack.count(), editor.strip.text, window.document.graph)
    assert after == before


def test_undo_back_to_original_with_keys(qtbot, make_window, zoo, accept_dialogs):
    path = zoo.path("small_resnet", "keras")
    graph = read_model(path)
    window, editor = open_editor(qtbot, make_window, path)
    click_menu(qtbot, window, editor, "conv2_block2_out", "Freeze this and everything before it")
    click_menu(qtbot, window, editor, "conv3_block1_out", "End model here")
    accept_dialogs.texts.append("features")
    click_menu(qtbot, window, editor, "conv3_block1_out", "Rename…")
    assert editor.stack.count() == 3 and editor.doc.preview.total_params < graph.total_params
    for _ in range(3):
        qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        wait_shown(qtbot, window)
    assert not editor.doc.edits and editor.stack.index() == 0
    preview = editor.doc.preview
    assert (preview.total_params, preview.trainable_params) == (graph.total_params, graph.trainable_params)
    assert f"{graph.total_params:,} (±0)" in editor.strip.text
    assert window.document.graph is editor.doc.original
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    wait_shown(qtbot, window)
    assert len(editor.doc.edits) == 1 and not editor.doc.edited.layer("conv1_conv").trainable


def test_rubber_band_picks_three_outputs(qtbot, make_window, zoo):
    path = zoo.path("small_resnet", "keras")
    window, editor = open_editor(qtbot, make_window, path)
    canvas = window.canvas
    keys = ("conv2_block1_out", "conv2_block2_out", "conv3_block2_out")
    shift_drag(qtbot, canvas, band_around(canvas, keys[0]))
    for key in keys[1:]:
        shift_drag(qtbot, canvas, band_around(canvas, key), additive=True)
    assert editor.picked == keys
    assert editor.overlays.keys["picked"] == keys
    assert editor.overlays.keys["cutpoints"]  # valid cut points shown while picking
    assert editor.picked_as_outputs()
    wait_shown(qtbot, window)
    assert [str(r) for r in editor.doc.edited.outputs] == [f"{k}:0:0" for k in keys]
    assert len(editor.doc.preview.outputs) == 3


def test_extract_picked_region_as_model(qtbot, make_window, zoo):
    path = zoo.path("small_resnet", "keras")
    window, editor = open_editor(qtbot, make_window, path)
    canvas = window.canvas
    members = [k for k in canvas.prepared.keys if k.startswith("conv2_block2_")]
    shift_drag(qtbot, canvas, band_around(canvas, *members))
    assert set(members) <= set(editor.picked_layer_names())
    editor.picked = tuple(members)  # keep exactly the block (the band may touch a neighbour)
    qtbot.keyClick(window, Qt.Key.Key_X)
    wait_shown(qtbot, window)
    edited = editor.doc.edited
    assert [info.source for info in editor.doc.preview.inputs] == [TensorRef("conv2_block1_out")]
    assert [str(r) for r in edited.outputs] == ["conv2_block2_out:0:0"]
    assert {layer.name for layer in edited.layers if not layer.is_input} == set(members)


def test_head_dialog_counts_as_you_type(qtbot, make_window, zoo, accept_dialogs):
    path = zoo.path("small_resnet", "keras")
    window, editor = open_editor(qtbot, make_window, path)
    seen = {}

    def fill(dialog):
        seen["start"] = dialog.params.text()
        dialog.units.setValue(5)  # typing: the count follows
        seen["five"] = dialog.params.text()
        dialog.apply_preset("Binary (sigmoid)")
        seen["binary"] = (dialog.units.value(), dialog.activation.currentText(), dialog.params.text())
        dialog.dropout.setValue(0.3)
        dialog.units.setValue(2)
        dialog.activation.setCurrentText("softmax")

    accept_dialogs.append(fill)
    click_menu(qtbot, window, editor, "conv3_block2_out", "Replace head from here…")
    assert "<b>34</b>" in seen["start"]  # GAP(16) -> Dense(2): 16*2 + 2
    assert "<b>85</b>" in seen["five"]
    assert seen["binary"][:2] == (1, "sigmoid") and "<b>17</b>" in seen["binary"][2]
    classes = [layer.class_name for layer in editor.doc.edited.layers if layer.origin is None]
    assert classes == ["GlobalAveragePooling2D", "Dropout", "Dense"]
    assert editor.doc.preview.outputs[0].shape == (None, 2)
    assert set(editor.overlays.keys["new"]) | set(editor.overlays.keys["io"]) >= {"dense"}


def test_recipe_save_and_open(qtbot, make_window, zoo, tmp_path, dialog_log):
    path = zoo.path("small_resnet", "keras")
    window, editor = open_editor(qtbot, make_window, path)
    click_menu(qtbot, window, editor, "conv2_block2_out", "Start model at its output")
    click_menu(qtbot, window, editor, "conv3_block1_out", "Freeze this and everything before it")
    recipe = tmp_path / "cut.resect.json"
    dialog_log.save_paths.append(str(recipe))
    window.editor.save_recipe_action.trigger()
    saved = json.loads(recipe.read_text())
    assert saved["format"] == "resect-recipe/1" and [e["op"] for e in saved["edits"]] == ["cut", "set_trainable"]
    edited = editor.doc.edited
    editor.stack.setIndex(0)
    wait_shown(qtbot, window)
    assert not editor.doc.edits
    assert editor.open_recipe(str(recipe))
    wait_shown(qtbot, window)
    assert [e.to_json() for e in editor.doc.edits] == saved["edits"]
    assert [layer.name for layer in editor.doc.edited.layers] == [layer.name for layer in edited.layers]
    bad = tmp_path / "bad.resect.json"
    bad.write_text(json.dumps({"format": "resect-recipe/1", "edits": [{"op": "cut", "outputs": ["nope"]}]}))
    assert not editor.open_recipe(str(bad))
    assert "nope" in dialog_log.errors[-1][1] and len(editor.doc.edits) == 2
    editor.stack.undo()  # the recipe load itself is one undoable step
    wait_shown(qtbot, window)
    assert not editor.doc.edits


def test_remove_block_explains_or_reconnects(qtbot, make_window, zoo, accept_dialogs):
    path = zoo.path("small_resnet", "keras")
    window, editor = open_editor(qtbot, make_window, path)
    for block in ("conv2_block2", "conv3_block1"):
        window.toggle_collapse(block)
    wait_shown(qtbot, window)
    click_menu(qtbot, window, editor, "conv3_block1", "Remove block")
    assert "changes the tensor shape" in accept_dialogs.infos[-1] and "16" in accept_dialogs.infos[-1]
    assert editor.stack.count() == 0
    click_menu(qtbot, window, editor, "conv2_block2", "Remove block")  # a middle block: a bypass
    assert [e.to_json() for e in editor.doc.edits] == [
        {"op": "bypass", "from": "conv2_block1_out", "to": "conv2_block2_out"}
    ]
    assert not any(layer.name.startswith("conv2_block2_") for layer in editor.doc.edited.layers)
    assert editor.doc.preview.delta_total < 0
    editor.stack.undo()
    wait_shown(qtbot, window)
    assert editor.stack.count() == 1 and not editor.doc.edits
    click_menu(qtbot, window, editor, "conv2_block2", "Start model after this block")
    assert editor.doc.preview.inputs[0].source == TensorRef("conv2_block2_out")


def test_original_view_greys_removed_parts(qtbot, make_window, zoo):
    path = zoo.path("small_resnet", "keras")
    window, editor = open_editor(qtbot, make_window, path)
    click_menu(qtbot, window, editor, "conv2_block2_out", "Start model at its output")
    click_menu(qtbot, window, editor, "conv3_block1_out", "Freeze this and everything before it")
    assert "conv1_conv" not in window.canvas.prepared.index
    window.editor.original_action.trigger()
    wait_shown(qtbot, window)
    assert window.document.graph is editor.doc.original
    removed = set(editor.overlays.keys["removed"])
    assert {"conv1_conv", "conv2_block1_1_conv", "conv2_block2_out"} <= removed
    assert "conv3_block1_1_conv" not in removed
    assert "conv2_block2_out" in editor.overlays.keys["io"]  # where the new input comes from
    window.editor.original_action.trigger()
    wait_shown(qtbot, window)
    assert window.document.graph is editor.doc.edited and not editor.overlays.keys["removed"]


def test_insert_replace_delete_and_keyboard(qtbot, make_window, zoo, accept_dialogs, dialog_log):
    path = zoo.path("small_resnet", "keras")
    window, editor = open_editor(qtbot, make_window, path)

    def dropout(dialog):
        dialog.class_box.setCurrentText("Dropout")
        dialog.config_edit.setPlainText('{"rate": 0.2}')
        assert dialog.ok_button.isEnabled()

    accept_dialogs.append(dropout)
    click_menu(qtbot, window, editor, "conv1_relu", "Insert layer after…")
    (new,) = [layer for layer in editor.doc.edited.layers if layer.origin is None]
    assert new.class_name == "Dropout"
    assert editor.doc.edited.consumers(TensorRef("conv1_relu")) == [(new.name, 0)]  # everything reads the dropout
    assert new.name in editor.overlays.keys["new"]

    def three_classes(dialog):
        assert dialog.class_box.currentText() == "Dense"  # prefilled from the layer
        dialog.config_edit.setPlainText('{"units": "many"}')
        assert not dialog.ok_button.isEnabled()  # the dry run refuses it, with the reason shown
        dialog.config_edit.setPlainText('{"units": 3, "activation": "softmax"}')

    accept_dialogs.append(three_classes)
    click_menu(qtbot, window, editor, "predictions", "Replace layer…")
    assert editor.doc.preview.outputs[0].shape == (None, 3)
    assert editor.doc.preview.total_params == read_model(path).total_params - 170 + 51

    window.document.select_layer(new.name)  # select in the tree, press Del
    qtbot.keyClick(window, Qt.Key.Key_Delete)
    wait_shown(qtbot, window)
    assert not editor.doc.edited.has_layer(new.name) and len(editor.doc.edits) == 3
    window.document.select_layer("avg_pool")
    accept_dialogs.texts.append("pooled")
    qtbot.keyClick(window, Qt.Key.Key_F2)
    wait_shown(qtbot, window)
    assert editor.doc.edited.has_layer("pooled") and "(edited: 4)" in window.windowTitle()
    assert not dialog_log.errors


def test_nested_model_cut_inside_and_engine_failure_is_contained(qtbot, make_window, zoo, dialog_log):
    path = zoo.path("nested", "keras")
    window, editor = open_editor(qtbot, make_window, path)
    inner = [k for k in window.canvas.prepared.keys if k.startswith("seq_block/")]
    assert "seq_block/seq_dense" in inner  # small nested models open expanded
    click_menu(qtbot, window, editor, "seq_block/seq_dense", "End model here")
    assert not dialog_log.errors
    assert [layer.name for layer in editor.doc.edited.layers][-1] == "seq_dense"  # inlined from the nested model
    assert editor.doc.preview.outputs[0].shape == (None, 12)
    # An inner InputLayer carries the tensor fed to the nested model (the stem's output), so
    # ending the model there is a valid cut: features -> stem. The new edit replaces the undone
    # one (Qt drops the redo history).
    editor.stack.undo()
    wait_shown(qtbot, window)
    undone = editor.doc.edits
    inner_input = next(k for k in window.canvas.prepared.keys if k.startswith("seq_block/input"))
    menu_action(editor, inner_input, "End model here").trigger()
    wait_shown(qtbot, window)
    assert not dialog_log.errors
    assert editor.stack.index() == 1 and editor.doc.edits != undone
    assert [layer.name for layer in editor.doc.edited.layers] == ["features", "stem"]
    assert [(o.ref, o.shape) for o in editor.doc.preview.outputs] == [(TensorRef("stem"), (None, 16))]


def test_first_preview_is_computed_off_the_ui_thread(qtbot, make_window, zoo, monkeypatch):
    """The unedited model's preview (1.2 s at 20,000 layers once) comes from a worker after
    the first paint, and equals Keras' own parameter counts."""
    import threading

    import resect.core.surgery.preview as preview_module
    from tests.zoo import build

    threads: list[str] = []
    real = preview_module.preview

    def recording(original, edited):  # noqa: ANN001, ANN202 - the real function, noting its thread
        threads.append(threading.current_thread().name)
        return real(original, edited)

    monkeypatch.setattr(preview_module, "preview", recording)
    window, editor = open_editor(qtbot, make_window, zoo.path("small_resnet", "keras"))
    qtbot.waitUntil(lambda: editor.strip.preview is not None, timeout=30_000)
    assert threads and threading.main_thread().name not in threads
    model = build("small_resnet")
    assert editor.strip.preview.total_params == model.count_params()
    assert f"{model.count_params():,}" in editor.strip.text
