"""Issue 13 item 1: nothing drops unsaved edits without asking (Save recipe / Discard /
Cancel) - File > Open, a recent file, a dropped file, File > Close, Quit and closing the
window - and Cancel keeps everything. The real QMessageBox is answered by clicking it."""

from __future__ import annotations

import json

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.gui.helpers import open_and_wait
from tests.gui.test_editor import click_menu, open_editor

Button = QMessageBox.StandardButton


def edited_window(qtbot, make_window, zoo):
    window, editor = open_editor(qtbot, make_window, zoo.path("small_resnet", "keras"))
    click_menu(qtbot, window, editor, "conv3_block1_out", "End model here")
    assert len(editor.doc.edits) == 1
    return window, editor


def drop(window, path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, QDragEnterEvent(QPoint(200, 200), *args))
    QApplication.sendEvent(window, QDropEvent(QPointF(200, 200), *args))


def test_cancel_keeps_the_edits_on_every_way_out(qtbot, make_window, zoo, boxes, dialog_log):
    window, editor = edited_window(qtbot, make_window, zoo)
    other = zoo.path("siamese", "keras").resolve()
    window.recent.add(str(other))
    before = (window.document.path, window.document.graph, editor.doc.edits, window.windowTitle())

    def recent_file() -> None:
        window.recent_menu.aboutToShow.emit()
        next(a for a in window.recent_menu.actions() if a.toolTip() == str(other)).trigger()

    dialog_log.save_paths.clear()
    ways = {
        "File > Open": lambda: window.open_path(other),
        "recent file": recent_file,
        "drag and drop": lambda: drop(window, other),
        "File > Close": window.close_action.trigger,
        "Quit": window.quit_action.trigger,
        "window close": window.close,
    }
    for way, do in ways.items():
        boxes.answer(Button.Cancel)
        do()
        qtbot.wait(50)
        assert len(boxes.seen) == list(ways).index(way) + 1, way
        assert "1 edit" in boxes.seen[-1] and "small_resnet" in boxes.seen[-1], boxes.seen[-1]
        after = (window.document.path, window.document.graph, editor.doc.edits, window.windowTitle())
        assert after == before, way
        assert window.isVisible() and not window.session._released, way
    assert window.runner.pending == 0 and not window.session.scene_pending


def test_discard_opens_the_other_model(qtbot, make_window, zoo, boxes):
    window, editor = edited_window(qtbot, make_window, zoo)
    boxes.answer(Button.Discard)
    open_and_wait(qtbot, window, zoo.path("siamese", "keras"))
    assert len(boxes.seen) == 1
    assert window.document.graph.name == "siamese" and not editor.doc.edits
    assert "edited" not in window.windowTitle()
    window.open_path(zoo.path("small_resnet", "keras"))  # nothing to lose now: no question
    qtbot.waitUntil(lambda: window.document.graph.name == "small_resnet", timeout=30_000)
    assert len(boxes.seen) == 1


def test_save_writes_the_recipe_then_closes_the_model(qtbot, make_window, zoo, boxes, dialog_log, tmp_path):
    window, editor = edited_window(qtbot, make_window, zoo)
    recipe = tmp_path / "kept.resect.json"
    dialog_log.save_paths.append(str(recipe))
    boxes.answer(Button.Save)
    window.close_action.trigger()
    assert json.loads(recipe.read_text())["edits"][0]["op"] == "cut"
    assert window.document.graph is None and window.canvas.prepared is None and editor.doc is None
    assert window.windowTitle() == "Resect" and editor.stack.count() == 0
    # the empty window works: open again, edit, and a Save whose file dialog is cancelled is a Cancel
    open_and_wait(qtbot, window, zoo.path("small_resnet", "keras"))
    click_menu(qtbot, window, editor, "conv3_block1_out", "End model here")
    boxes.answer(Button.Save)
    assert not window.close_model()
    assert len(editor.doc.edits) == 1 and window.document.graph is not None
    # once saved, leaving asks nothing
    dialog_log.save_paths.append(str(tmp_path / "again.resect.json"))
    editor.save_recipe_action.trigger()
    assert window.close_model() and len(boxes.seen) == 2


def test_closing_the_window_asks_and_discard_closes(qtbot, make_window, zoo, boxes, monkeypatch):
    window, _editor = edited_window(qtbot, make_window, zoo)
    saved_state = []
    monkeypatch.setattr(window.settings, "sync", lambda: saved_state.append(True))
    boxes.answer(Button.Discard)
    assert window.close()
    assert not window.isVisible() and window.session._released and saved_state
    assert len(boxes.seen) == 1
