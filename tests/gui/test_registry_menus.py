"""The editor's context menu draws its edit entries from the op registry: the new ops
(bypass through "Remove picked stretch", reinitialize) appear without a menu of their own."""

from __future__ import annotations

from resect.core.surgery.edits import Bypass, Reinitialize
from resect.core.surgery.registry import OPS, menu_entries
from resect.core.tensor_ref import TensorRef
from tests.gui.test_editor import click_menu, open_editor, wait_shown


def test_every_registry_entry_is_in_the_menus(qtbot, make_window, zoo):
    path = zoo.path("small_resnet", "keras")
    window, editor = open_editor(qtbot, make_window, path)
    layer_menu = {a.text() for a in editor.context_menu("conv1_conv").actions() if a.text()}
    edge_menu = {a.text() for a in editor.context_menu(TensorRef("conv1_conv")).actions() if a.text()}
    # a tensor entry is offered on a layer, an edge or both ("Start model here" is the edge's word)
    assert {e.label for e in menu_entries("layer")} <= layer_menu
    assert {e.label for e in menu_entries("tensor")} <= layer_menu | edge_menu
    assert "Start model here" in edge_menu - layer_menu and "Start model at its output" in layer_menu - edge_menu
    assert all(spec.menu for spec in OPS.values())  # every op is offered somewhere in the GUI
    click_menu(qtbot, window, editor, "conv1_conv", "Re-initialise weights")
    assert editor.doc.edits == (Reinitialize(("conv1_conv",)),)
    assert "1 layer(s) re-initialised" in editor.strip.text
    editor.stack.undo()
    wait_shown(qtbot, window)
    editor.pick(("conv2_block2_1_conv", "conv2_block2_1_bn", "conv2_block2_1_relu", "conv2_block2_2_conv",
                 "conv2_block2_2_bn", "conv2_block2_2_relu", "conv2_block2_add", "conv2_block2_out"), False)  # fmt: skip
    click_menu(qtbot, window, editor, "conv1_conv", "Remove picked stretch")
    assert editor.doc.edits == (Bypass("conv2_block1_out", "conv2_block2_out"),)
