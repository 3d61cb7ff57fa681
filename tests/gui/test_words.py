"""Issue 13 items 8, 9 and 11: menu words say which side of a layer an edit takes, new
inputs are named after the tensor they carry, and a refused multi-input completion can
be done later from the banner."""

from __future__ import annotations

from resect.core.tensor_ref import TensorRef
from tests.gui import test_editor
from tests.gui.test_editor import click_menu, menu_action, open_editor

accept_dialogs = test_editor.accept_dialogs  # the same fixture: dialogs answered like a user


def test_start_at_the_layer_input_keeps_the_layer(qtbot, make_window, zoo):
    window, editor = open_editor(qtbot, make_window, zoo.path("small_resnet", "keras"))
    original = editor.doc.original
    click_menu(qtbot, window, editor, "conv2_block2_1_conv", "Start model at this layer's input")
    edited = editor.doc.edited
    assert edited.has_layer("conv2_block2_1_conv")  # the layer clicked stays
    [new_input] = [r.layer for r in edited.inputs]
    assert new_input == "from_conv2_block1_out"  # named after the tensor it carries
    assert edited.shape(edited.inputs[0]) == original.shape(TensorRef("conv2_block1_out"))
    assert edited.layer("conv2_block2_1_conv").nodes[0].inputs == (TensorRef(new_input),)


def test_start_at_its_output_drops_the_layer(qtbot, make_window, zoo):
    window, editor = open_editor(qtbot, make_window, zoo.path("small_resnet", "keras"))
    texts = [a.text() for a in editor.context_menu("conv3_block1_out").actions()]
    assert "Start model here" not in texts and "Freeze everything below" not in texts
    click_menu(qtbot, window, editor, "conv3_block2_out", "Start model at its output")
    edited = editor.doc.edited
    assert not edited.has_layer("conv3_block2_out") and [r.layer for r in edited.inputs] == ["from_conv3_block2_out"]


def test_freeze_words_match_what_is_frozen(qtbot, make_window, zoo):
    window, editor = open_editor(qtbot, make_window, zoo.path("small_resnet", "keras"))
    click_menu(qtbot, window, editor, "conv2_block2_2_conv", "Freeze this and everything before it")
    edited = editor.doc.edited
    assert not edited.layer("conv2_block2_2_conv").trainable  # this
    assert not edited.layer("conv1_conv").trainable  # everything before it
    assert edited.layer("conv3_block1_1_conv").trainable  # nothing after it
    click_menu(qtbot, window, editor, "conv2_block2_2_conv", "Unfreeze everything after it")
    assert not editor.doc.edited.layer("conv2_block2_2_conv").trainable


def test_a_refused_completion_can_be_done_later_from_the_banner(qtbot, make_window, zoo, accept_dialogs):
    window, editor = open_editor(qtbot, make_window, zoo.path("small_resnet", "keras"))
    accept_dialogs.answers.append(False)  # "complete it as a multi-input cut?" No
    menu_action(editor, "conv3_block1_1_conv", "Start model at its output").trigger()
    assert editor.stack.count() == 0
    banner = window.banner
    assert banner.isVisible() and banner.action_button.isVisible()
    assert banner.action_button.text() == "Complete as multi-input cut"
    banner.action_button.click()
    test_editor.wait_shown(qtbot, window)
    assert editor.stack.count() == 1 and editor.doc.edits[0].complete
    assert len(editor.doc.edited.inputs) == 2 and not banner.isVisible()
