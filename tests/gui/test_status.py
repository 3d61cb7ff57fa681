"""Issue 13 items 2-4 (and the search half of 12): what the window says about the model
always matches the model shown - the title's edit count, the status bar's summary, and
per-model view state (tree filter, toolbar search, scroll) that resets on open."""

from __future__ import annotations

from PySide6.QtCore import Qt

from resect.app.formatting import graph_totals
from tests.gui.helpers import open_and_wait
from tests.gui.test_editor import click_menu, open_editor, wait_shown


def test_title_counts_edits_through_the_original_view(qtbot, make_window, zoo):
    window, editor = open_editor(qtbot, make_window, zoo.path("small_resnet", "keras"))
    assert window.windowTitle() == "small_resnet.keras — Resect"
    click_menu(qtbot, window, editor, "conv3_block1_out", "End model here")
    assert window.windowTitle().endswith("(edited: 1)")
    for shown in ("original", "edited"):  # O twice: the edit is still there both times
        qtbot.keyClick(window, Qt.Key.Key_O)
        wait_shown(qtbot, window)
        assert editor.mode == shown
        assert window.windowTitle() == "small_resnet.keras — Resect (edited: 1)", shown
    click_menu(qtbot, window, editor, "conv2_block1_out", "Add as output")
    assert window.windowTitle().endswith("(edited: 2)")
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_shown(qtbot, window)
    assert window.windowTitle().endswith("(edited: 1)")
    window.discard_checks.clear()  # no question here (test_unsaved covers it)
    open_and_wait(qtbot, window, zoo.path("siamese", "keras"))
    assert window.windowTitle() == "siamese.keras — Resect"  # at once, not once Keras answers


def test_status_summary_follows_every_edit(qtbot, make_window, zoo):
    window, editor = open_editor(qtbot, make_window, zoo.path("small_resnet", "keras"))
    original = window.model_label.text()
    assert f"{editor.doc.original.total_params:,} params" in original
    click_menu(qtbot, window, editor, "conv3_block1_out", "End model here")
    edited = editor.doc.edited
    text = window.model_label.text()
    assert f"{len(edited.layers)} layers" in text and "outputs conv3_block1_out" in text
    assert f"{graph_totals(edited).total:,} params" in text
    assert graph_totals(edited).total == editor.doc.preview.total_params < editor.doc.original.total_params
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_shown(qtbot, window)
    assert window.model_label.text() == original


def test_view_state_resets_when_another_model_opens(qtbot, make_window, zoo):
    window = make_window()
    open_and_wait(qtbot, window, zoo.path("small_resnet", "keras"))
    tree = window.tree
    qtbot.keyClicks(tree.filter_edit, "conv3_block2_out")
    assert tree.view.model() is tree.proxy
    qtbot.keyClicks(window.search_edit, "conv2")
    assert window.match_label.text().startswith("1 of ")
    tree.filter_edit.clear()
    tree.view.verticalScrollBar().setValue(tree.view.verticalScrollBar().maximum())
    qtbot.keyClicks(tree.filter_edit, "conv3_block2_out")
    open_and_wait(qtbot, window, zoo.path("siamese", "keras"))
    graph = window.document.graph
    assert tree.filter_edit.text() == "" and tree.view.model() is tree.model
    assert tree.model.rowCount() == len(graph.layers)
    assert tree.view.verticalScrollBar().value() == 0
    assert window.search_edit.text() == "" and window.match_label.text() == ""
    assert window.document.search_matches == () and window.canvas._search_keys == ()


def test_search_puts_the_exact_name_first(qtbot, make_window, zoo):
    window = make_window()
    open_and_wait(qtbot, window, zoo.path("inception_v3", "keras"))
    names = [layer.name for layer in window.document.graph.layers]
    assert names.index("mixed9_0") < names.index("mixed9")  # file order alone would be wrong
    qtbot.keyClicks(window.search_edit, "mixed9")
    assert window.document.selection.layer_path == ("mixed9",)
    assert window.document.search_matches[0] == "mixed9"
    assert window.match_label.text() == f"1 of {len(window.document.search_matches)}"
