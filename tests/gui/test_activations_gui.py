"""Run data in the app: the Activations dock shows a selected Conv2D's histogram and
channel grid (checked against the same run made here), the overlay colours nodes, an
edit re-runs the data through original and edited, cancel leaves the app usable."""

from __future__ import annotations

import numpy as np

from resect.app.activations import install_activations
from resect.app.activations.run_dialog import RunDataDialog
from resect.core.activation_summary import channel_grid, decode_grid
from resect.core.surgery.edits import Cut
from tests.gui.test_editor import open_editor

RUN_TIMEOUT_MS = 300_000


def finished(qtbot, activations) -> None:
    qtbot.waitUntil(lambda: activations.state in ("done", "failed", "cancelled"), timeout=RUN_TIMEOUT_MS)


def test_selected_conv2d_histogram_and_channel_grid(qtbot, make_window, zoo):
    from resect.core.keras_backend.activation_run import feeds, open_probes

    path = zoo.path("small_resnet", "keras")
    window, _editor = open_editor(qtbot, make_window, path, use_keras=True)
    activations = install_activations(window)
    activations.run({"": "random"}, seed=2)
    finished(qtbot, activations)
    assert activations.state == "done", activations.error

    window.document.select_layer("conv1_conv")
    panel = activations.panel
    qtbot.waitUntil(lambda: panel.grid is not None, timeout=60_000)
    assert "conv1_conv:0:0" in panel.stats_label.text()

    local = open_probes(path).original  # the same data, run here: the worker showed these values
    conv = local.run(feeds(local, {None: "random"}, seed=2))["conv1_conv:0:0"]
    _, counts = panel.curve.getData()
    assert int(np.sum(counts)) == conv.size  # 32x32x8 values, all counted
    assert list(counts) == activations.results.summaries["original"]["conv1_conv:0:0"]["histogram"]["counts"]
    expected = channel_grid(conv)
    image = panel.grid_image.image
    assert image.shape == decode_grid(expected).shape == (3 * 32, 3 * 32)  # 8 channels in a 3x3 grid
    assert np.abs(image.astype(int) - decode_grid(expected)).max() <= 1
    low, high = expected["ranges"][4]
    assert panel.channel_at(1 * 32 + 5, 1 * 32 + 5) == f"channel 4: {low:.4g} … {high:.4g}"
    assert panel.channel_at(2 * 32 + 5, 2 * 32 + 5) == ""  # the ninth tile is empty

    activations.set_statistic("mean_abs")
    assert activations.overlay.legend.isVisible() and "mean |activation|" in activations.overlay.legend.text()
    assert window.visible_key(("conv1_conv",)) in activations.overlay.keys


def test_overlay_colours_each_call_of_a_shared_layer_by_its_own_tensor(qtbot, make_window, zoo):
    from resect.app.activations.overlay import bucket

    window, _editor = open_editor(qtbot, make_window, zoo.path("siamese", "keras"), use_keras=True)
    activations = install_activations(window)
    activations.run({"": "random"}, seed=3)
    finished(qtbot, activations)
    assert activations.state == "done", activations.error
    activations.set_statistic("mean_abs")
    summaries = activations.results.summaries["original"]
    first, second = (summaries[name]["stats"]["mean_abs"] for name in ("tower_dense:0:0", "tower_dense:1:0"))
    assert first != second  # left and right got different random images
    overlay, (low, high) = activations.overlay, activations.overlay.range
    assert window.canvas.prepared.calls_of("tower_dense") == ("tower_dense", "tower_dense:1")
    assert overlay.values["tower_dense"] == first and overlay.values["tower_dense:1"] == second  # each its own
    assert overlay.keys["tower_dense"] == bucket(first, low, high)
    assert overlay.keys["tower_dense:1"] == bucket(second, low, high)


def test_cancel_then_an_edit_runs_original_beside_edited(qtbot, make_window, zoo):
    window, editor = open_editor(qtbot, make_window, zoo.path("small_resnet", "keras"), use_keras=True)
    activations = install_activations(window)
    activations.run({"": "random"})
    activations.cancel()
    finished(qtbot, activations)
    assert activations.state == "cancelled"
    panel = activations.panel
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert activations.panel.message.text() == "Cancelled."

    assert editor.apply(Cut(outputs=("conv2_block2_out",)))  # the last data re-runs, through both
    qtbot.waitUntil(lambda: activations.state == "running", timeout=10_000)
    finished(qtbot, activations)
    assert activations.state == "done", activations.error
    results = activations.results
    assert results.has_edited and "predictions:0:0" not in results.summaries["edited"]
    assert results.differences and max(results.differences.values()) == 0.0  # a pure cut changes nothing
    window.document.select_layer("conv2_block2_out")
    assert "max |diff| 0" in panel.stats_label.text()


def test_run_dialog_remembers_the_last_choice_per_model(qtbot, settings, tmp_path):
    model = str(tmp_path / "m.keras")
    dialog = RunDataDialog([("left", "(None, 32, 32, 3)"), ("right", "(None, 32, 32, 3)")], settings, model)
    qtbot.addWidget(dialog)
    dialog.rows[0].set_choice("image", "/data/cat.png")
    dialog.preprocess.setCurrentIndex(dialog.preprocess.findData("unit"))
    dialog.accept()
    again = RunDataDialog([("left", "(None, 32, 32, 3)"), ("right", "(None, 32, 32, 3)")], settings, model)
    qtbot.addWidget(again)
    assert again.job_sources() == {"left": "/data/cat.png", "right": "random"}
    assert again.preprocess_choice() == "unit"
    other = RunDataDialog([("left", "(None, 32, 32, 3)")], settings, str(tmp_path / "other.keras"))
    qtbot.addWidget(other)
    assert other.job_sources() == {"left": "random"}


def test_activations_menu_sits_before_help(qtbot, make_window):
    """Desktop convention: Help is the last menu, also after the Activations menu is added."""
    window = make_window()
    install_activations(window)
    titles = [action.text() for action in window.menuBar().actions()]
    assert "&Activations" in titles and titles[-1] == "&Help", titles
