"""Issue 13 items 13-15: usable at 1024x640, a properties panel that reads cleanly, and
menus where desktop users look (File > Export model / Close / recipes, recent files with
paths, an empty window that says what to do, a Lambda flagged on the canvas too)."""

from __future__ import annotations

from PySide6.QtWidgets import QToolBar, QToolButton

from resect.app.editor import install_editor
from resect.core.render import style
from tests.gui import test_editor_export
from tests.gui.helpers import open_and_wait
from tests.gui.test_editor import click_menu, open_editor

keras = test_editor_export.keras  # the same fixture: Keras imported once


def overflowed(toolbar: QToolBar) -> list[str]:
    """Actions hidden behind the toolbar's » button."""
    return [a.text() for a in toolbar.actions() if not a.isSeparator() and not toolbar.widgetForAction(a).isVisible()]


def test_usable_at_1024_by_640(qtbot, make_window, zoo):
    window, editor = open_editor(qtbot, make_window, zoo.path("small_resnet", "keras"))
    click_menu(qtbot, window, editor, "conv3_block1_out", "End model here")
    window.resize(1024, 640)
    qtbot.waitUntil(lambda: window.width() == 1024, timeout=5_000)
    qtbot.wait(100)
    assert window.canvas.width() >= 0.45 * window.width(), (window.canvas.width(), window.tree_dock.width())
    for toolbar in window.findChildren(QToolBar):
        extension = toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
        assert extension is None or not extension.isVisible(), overflowed(toolbar)
        assert not overflowed(toolbar)
    strip = editor.strip
    legend = strip.legend
    assert legend.geometry().top() >= strip.io_label.geometry().bottom()  # a line of its own
    assert legend.heightForWidth(legend.width()) <= legend.height()  # wrapped whole, not cut


def test_properties_panel_reads_cleanly(qtbot, make_window, zoo):
    window = make_window()
    open_and_wait(qtbot, window, zoo.path("nested", "keras"))
    properties = window.properties
    window.document.select_layer("func_block", "inner_dense")
    assert "func_block / inner_dense<br>Params" in properties.header.text()  # not run together
    weights = properties.weights
    row = weights.verticalHeader().defaultSectionSize()
    assert weights.viewport().height() >= 2.5 * row, weights.viewport().height()  # rows readable, not 1.5
    sizes = [weights.item(r, 3).text() for r in range(weights.rowCount())]
    assert sizes == ["96 (384 B)", "8 (32 B)"]  # not "(0.00 MB)"
    config = properties.config
    keys = {config.topLevelItem(i).text(0): config.topLevelItem(i).text(1) for i in range(config.topLevelItemCount())}
    assert keys["dtype"] == "float32" and "shared_object_id" not in keys
    nested = [config.topLevelItem(i) for i in range(config.topLevelItemCount())]
    texts = {item.child(c).text(0) for item in nested for c in range(item.childCount())}
    assert not texts & {"module", "registered_name", "shared_object_id"}
    properties.select_weight(properties._weight_names[0])
    qtbot.waitUntil(lambda: properties.histogram.stats is not None, timeout=10_000)
    window.document.select_layer("stem")  # another layer: no stale row lit
    assert not weights.selectedItems() and weights.currentRow() == -1
    weights.selectRow(0)  # and a click on row 0 loads it
    qtbot.waitUntil(lambda: window.document.selection.weight == properties._weight_names[0], timeout=10_000)


def test_file_menu_recent_files_and_empty_window(qtbot, make_window, zoo, tmp_path):
    window = make_window()
    editor = install_editor(window)
    assert window.canvas.empty_hint.isVisible() and "Open a model" in window.canvas.empty_hint.text()
    assert not window.export_model_action.isEnabled() and not window.export_picture_action.isEnabled()
    path = zoo.path("small_resnet", "keras").resolve()
    open_and_wait(qtbot, window, path)
    assert not window.canvas.empty_hint.isVisible() and window.export_model_action.isEnabled()
    file_items = [a.text() for a in window.file_menu.actions() if a.text()]
    assert file_items[:5] == ["&Open…", "Open &recent", "&Close", "Open r&ecipe…", "&Save recipe (edits)…"]
    assert "&Export model…" in file_items and window.export_model_action.shortcut().toString() == "Ctrl+E"
    assert editor.save_recipe_action.shortcut().toString() == "Ctrl+S"
    edit_items = " ".join(a.text() for a in editor.edit_menu.actions())
    assert "recipe" not in edit_items.lower() and "export" not in edit_items.lower()
    window.export_model_action.trigger()
    assert editor.export_dialogs  # Ctrl+E opens the export dialog
    editor.export_dialogs[0].close()
    # recent files: one entry per file, with its folder
    window.recent.add(str(path.parent / "." / path.name))
    window.recent.add(str(path))
    window.recent_menu.aboutToShow.emit()
    labels = [a.text() for a in window.recent_menu.actions() if a.toolTip() and a.text() != "Clear list"]
    assert labels == [f"{path.name}  —  {path.parent}"]
    assert window.close_model()
    assert window.canvas.empty_hint.isVisible() and not window.export_model_action.isEnabled()


def test_lambda_is_flagged_on_the_canvas(qtbot, make_window, keras, tmp_path):
    inputs = keras.Input((4,), name="x")
    doubled = keras.layers.Lambda(lambda t: t * 2, name="double")(inputs)
    out = keras.layers.Dense(2, name="head")(doubled)
    path = tmp_path / "with_lambda.keras"
    keras.Model(inputs, out).save(path)
    window = make_window()
    open_and_wait(qtbot, window, path)
    box = window.canvas.prepared.box("double")
    assert box.stroke == style.PROBLEM_STROKE and box.badge.startswith("⚠")
    assert window.canvas.prepared.box("head").stroke != style.PROBLEM_STROKE
