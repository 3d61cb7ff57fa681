"""Issue 13 items 5-6: after a cut or an extraction the canvas shows what changed (the new
inputs / outputs, or the whole graph when it fits), never a blank view, and the overview
map stays small and hidden while the whole graph is on screen."""

from __future__ import annotations

from PySide6.QtCore import QRectF

from resect.app.canvas.overview import MAX_SIDE
from tests.gui import test_editor
from tests.gui.test_editor import band_around, click_menu, open_editor, shift_drag, wait_shown

accept_dialogs = test_editor.accept_dialogs  # the same fixture: dialogs answered like a user


def visible(window, key: str) -> bool:
    return window.canvas.viewbox.viewRect().intersects(window.canvas.prepared.rect_of(key))


def assert_overview_small(window) -> None:
    canvas, overview = window.canvas, window.canvas.overview
    if canvas.viewbox.viewRect().contains(canvas.prepared.bounds):
        assert not overview.isVisible()
    assert max(overview.width(), overview.height()) <= MAX_SIDE + 8
    assert overview.width() * overview.height() <= 0.1 * canvas.width() * canvas.height()


def test_start_inside_a_branch_of_keras2_resnet50_shows_the_new_inputs(qtbot, make_window, zoo, accept_dialogs):
    window, editor = open_editor(qtbot, make_window, zoo.path("resnet50", "tf2.h5"))
    window.resize(1600, 1000)
    qtbot.wait(50)
    accept_dialogs.answers.append(True)  # complete it as a multi-input cut
    # the activation_46 case: inside a stage-5 residual branch, the skip tensor crosses
    click_menu(qtbot, window, editor, "conv5_block2_1_relu", "Start model at its output")
    inputs = [r.layer for r in editor.doc.edited.inputs]
    assert len(inputs) == 2
    keys = editor.overlays.box_keys(inputs)
    assert keys and all(visible(window, key) for key in keys), (keys, window.canvas.viewbox.viewRect())
    assert window.canvas.keys_in_rect(window.canvas.viewbox.viewRect())
    assert_overview_small(window)


def test_end_model_centres_on_the_new_output(qtbot, make_window, zoo):
    window, editor = open_editor(qtbot, make_window, zoo.path("resnet50", "keras"))
    canvas = window.canvas
    canvas.zoom_to_keys(("conv5_block3_out",))  # the user looks at the bottom of the model
    click_menu(qtbot, window, editor, "conv3_block4_out", "End model here")
    key = editor.overlays.box_keys(["conv3_block4_out"])[0]
    assert visible(window, key)
    assert_overview_small(window)


def test_extraction_fits_and_hides_the_overview(qtbot, make_window, zoo):
    window, editor = open_editor(qtbot, make_window, zoo.path("small_resnet", "keras"))
    canvas = window.canvas
    keys = ("conv2_block1_out", "conv2_block2_out")
    shift_drag(qtbot, canvas, band_around(canvas, *keys))
    canvas.viewbox.setRange(QRectF(-5000, -5000, 100, 100), padding=0)  # looking at nothing
    qtbot.keyClick(window, ord("X"))
    wait_shown(qtbot, window)
    assert len(editor.doc.edits) == 1
    assert canvas.viewbox.viewRect().contains(canvas.prepared.bounds)  # the small result fits
    assert not canvas.overview.isVisible()
    assert_overview_small(window)
