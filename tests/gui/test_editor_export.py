"""The seed workflows through the GUI, each ending in the export dialog; the exported
file is then loaded and run with Keras and compared with the original model."""

from __future__ import annotations

import os

import numpy as np
import pytest

from resect.core.reader import read_model
from tests.gui import test_editor
from tests.gui.test_editor import click_menu, edge_with, open_editor, wait_shown

accept_dialogs = test_editor.accept_dialogs  # the same fixture: dialogs filled like a user

EXPORT_TIMEOUT_MS = 600_000


@pytest.fixture(scope="module")
def keras():
    from resect.core.keras_backend.runtime import import_keras

    return import_keras()


def export(qtbot, editor, out, fmt: str = "keras", verify: bool = True):
    """File > Export edited model: pick the format, type the path, press Export, wait."""
    dialog = editor.export()
    index = dialog.format_box.findData(fmt)
    dialog.format_box.setCurrentIndex(index)
    dialog.path_edit.setText(str(out))
    dialog.verify_box.setChecked(verify)
    dialog.export_button.click()
    assert dialog.state == "running" and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.state in ("done", "failed", "cancelled"), timeout=EXPORT_TIMEOUT_MS)
    assert dialog.state == "done", dialog.error
    return dialog


def intermediate(keras, model, names, x):
    """Values of named original tensors on input ``x`` (Keras' own functional sub-model)."""
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    values = probe.predict(x, verbose=0)
    return values if isinstance(values, list) else [values]


def test_resnet50_cut_from_the_middle(qtbot, make_window, zoo, keras, tmp_path):
    path = zoo.path("resnet50", "keras")
    window, editor = open_editor(qtbot, make_window, path)
    # blocks are collapsed on a large model: right-click the edges between blocks
    click_menu(qtbot, window, editor, edge_with(window, "conv3_block4_out"), "Start model here")
    click_menu(qtbot, window, editor, edge_with(window, "conv4_block6_out"), "End model here")
    preview = editor.doc.preview
    dialog = export(qtbot, editor, tmp_path / "middle.keras")
    result = dialog.result
    assert result.verify is not None and result.verify.ok and result.verify.max_abs_diff < 1e-3
    assert "max |diff|" in dialog.result_label.text()
    model = keras.models.load_model(tmp_path / "middle.keras", compile=False)
    assert model.count_params() == preview.total_params == result.params_after.total
    assert tuple(model.inputs[0].shape) == (None, 28, 28, 512)
    assert tuple(model.outputs[0].shape) == (None, 14, 14, 1024)
    original = keras.models.load_model(path, compile=False)
    x = np.random.default_rng(0).normal(size=(1, 224, 224, 3)).astype("float32")
    start, end = intermediate(keras, original, ["conv3_block4_out", "conv4_block6_out"], x)
    np.testing.assert_allclose(model.predict(start, verbose=0), end, atol=1e-3)


def test_resnet50_drop_first_and_last_stage(qtbot, make_window, zoo, keras, tmp_path):
    path = zoo.path("resnet50", "keras")
    window, editor = open_editor(qtbot, make_window, path)
    for stage in ("conv2", "conv4"):  # collapse two stages, as from the tree or a double click
        window.toggle_collapse(stage)
    wait_shown(qtbot, window)
    click_menu(qtbot, window, editor, "conv2", "Start model after this block")
    click_menu(qtbot, window, editor, "conv4", "End model after this block")
    assert [e.describe() for e in editor.doc.edits] == ["Start at conv2_block3_out:0:0", "End at conv4_block6_out:0:0"]
    export(qtbot, editor, tmp_path / "stages.h5", fmt="h5")
    model = keras.models.load_model(tmp_path / "stages.h5", compile=False)
    names = {layer.name for layer in model.layers if layer.__class__.__name__ != "InputLayer"}
    assert [layer.name for layer in model.layers[:1]] == ["from_conv2_block3_out"]
    assert not any(n.startswith(("conv2_", "conv5_", "conv1_")) for n in names)
    assert {"conv3_block1_1_conv", "conv4_block6_out"} <= names
    assert model.count_params() == editor.doc.preview.total_params


def test_small_resnet_new_input_and_two_class_head(qtbot, make_window, zoo, keras, tmp_path, accept_dialogs):
    path = zoo.path("small_resnet", "keras")
    window, editor = open_editor(qtbot, make_window, path, use_keras=True)
    qtbot.waitUntil(lambda: editor.session.keras_model is not None, timeout=180_000)
    wait_shown(qtbot, window)
    seen = {}

    def fill_input(dialog):
        dialog.shape_edit.setText("128, 128, 3")
        qtbot.waitUntil(lambda: not dialog.busy, timeout=120_000)
        assert dialog.report.source == "keras"
        seen["kept"], seen["lost"] = list(dialog.report.kept), list(dialog.report.lost)
        seen["outputs"] = dialog.outputs_label.text()

    accept_dialogs.append(fill_input)
    click_menu(qtbot, window, editor, "input_layer", "Change input shape…")
    graph = read_model(path)
    with_weights = [layer.name for layer in graph.layers if layer.weights]
    assert seen["kept"] == with_weights and seen["lost"] == []  # conv and BN weights fit any image size
    assert "predictions:0:0 → 10" in seen["outputs"]

    def fill_head(dialog):
        dialog.apply_preset("N-class softmax")
        dialog.units.setValue(2)

    accept_dialogs.append(fill_head)
    click_menu(qtbot, window, editor, "conv3_block2_out", "Replace head from here…")
    strip = editor.strip.text
    assert "128x128x3" in strip and "(2)" in strip
    # the head is counted at once by the proved rules, then the Keras worker's answer replaces it
    qtbot.waitUntil(lambda: editor.doc.preview.exact, timeout=120_000)
    wait_shown(qtbot, window)
    assert "≈" not in editor.strip.text and editor.strip.params_label.toolTip().startswith("Exact")
    dialog = export(qtbot, editor, tmp_path / "head.keras")
    assert dialog.result.verify.ok
    model = keras.models.load_model(tmp_path / "head.keras", compile=False)
    assert tuple(model.inputs[0].shape) == (None, 128, 128, 3)
    assert tuple(model.outputs[0].shape) == (None, 2)
    original = keras.models.load_model(path, compile=False)
    for name in ("conv1_conv", "conv3_block2_2_conv", "conv3_block2_2_bn"):
        for mine, theirs in zip(
            model.get_layer(name).get_weights(), original.get_layer(name).get_weights(), strict=True
        ):
            np.testing.assert_array_equal(mine, theirs)  # trained weights kept
    assert model.count_params() == original.count_params() - 10 * 16 - 10 + 2 * 16 + 2


def test_freeze_below_a_point(qtbot, make_window, zoo, keras, tmp_path):
    path = zoo.path("small_resnet", "keras")
    window, editor = open_editor(qtbot, make_window, path)
    click_menu(qtbot, window, editor, "conv2_block2_out", "Freeze this and everything before it")
    frozen = set(editor.doc.preview.frozen)
    assert {"conv1_conv", "conv2_block2_2_bn"} <= frozen and "conv3_block1_1_conv" not in frozen
    assert set(editor.overlays.keys["frozen"]) == frozen
    export(qtbot, editor, tmp_path / "frozen.keras")
    model = keras.models.load_model(tmp_path / "frozen.keras", compile=False)
    for layer in model.layers:
        if layer.weights:
            assert layer.trainable == (layer.name not in frozen), layer.name
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == editor.doc.preview.trainable_params


def test_siamese_cut_completes_to_two_inputs(qtbot, make_window, zoo, keras, tmp_path, accept_dialogs):
    path = zoo.path("siamese", "keras")
    window, editor = open_editor(qtbot, make_window, path)
    # start at the right tower's embedding: the left one crosses, complete into two inputs
    accept_dialogs.answers.append(True)
    click_menu(qtbot, window, editor, edge_with(window, "tower_dense:1"), "Start model here")
    sources = [str(info.source) for info in editor.doc.preview.inputs]
    assert sorted(sources) == ["tower_dense:0:0", "tower_dense:1:0"]
    dialog = export(qtbot, editor, tmp_path / "head_only.keras")
    assert dialog.result.verify.ok
    model = keras.models.load_model(tmp_path / "head_only.keras", compile=False)
    assert len(model.inputs) == 2 and model.count_params() == 17
    original = keras.models.load_model(path, compile=False)
    rng = np.random.default_rng(1)
    left, right = (rng.normal(size=(2, 32, 32, 3)).astype("float32") for _ in range(2))
    tower = original.get_layer("tower_dense")
    calls = [node.output_tensors[0] for node in tower._inbound_nodes]  # Keras 3: one node per call
    probe = keras.Model(original.inputs, [*calls, original.outputs[0]])
    e_left, e_right, score = probe.predict([left, right], verbose=0)
    by_source = {"tower_dense:0:0": e_left, "tower_dense:1:0": e_right}  # call 0 reads left, call 1 right
    feed = [by_source[str(editor.doc.edited.layer(r.layer).source_tensor)] for r in editor.doc.edited.inputs]
    np.testing.assert_allclose(model.predict(feed, verbose=0), score, atol=1e-5)


def test_cancel_export_leaves_no_file(qtbot, make_window, zoo, tmp_path):
    path = zoo.path("small_resnet", "keras")
    window, editor = open_editor(qtbot, make_window, path)
    click_menu(qtbot, window, editor, "conv2_block2_out", "End model here")
    dialog = editor.export()
    folder = tmp_path / "out"
    folder.mkdir()
    dialog.path_edit.setText(str(folder / "cancelled.keras"))
    dialog.export_button.click()
    # cancel mid-way, while Keras loads or builds (the UI stays live meanwhile)
    qtbot.waitUntil(lambda: dialog.progress.value() >= 1 or dialog.state != "running", timeout=EXPORT_TIMEOUT_MS)
    assert dialog.state == "running"
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.state in ("done", "failed", "cancelled"), timeout=EXPORT_TIMEOUT_MS)
    assert dialog.state == "cancelled"
    assert "nothing was written" in dialog.result_label.text()
    assert dialog.worker.wait(60_000)
    assert os.listdir(folder) == []
    assert dialog.export_button.isEnabled() and not dialog.open_button.isEnabled()
    dialog.close()


def test_export_result_opens_in_a_new_window(qtbot, make_window, zoo, tmp_path):
    path = zoo.path("small_resnet", "keras")
    window, editor = open_editor(qtbot, make_window, path)
    click_menu(qtbot, window, editor, "conv3_block1_out", "End model here")
    dialog = export(qtbot, editor, tmp_path / "opened.keras", verify=False)
    assert "Not verified" in dialog.result_label.text()
    dialog.open_button.click()
    (other,) = editor.windows
    qtbot.waitUntil(lambda: other.document.graph is not None and other.canvas.prepared is not None, timeout=60_000)
    assert other.document.graph.total_params == editor.doc.preview.total_params
    assert other.editor.doc is not None
    qtbot.waitUntil(lambda: other.runner.pending == 0, timeout=60_000)
    other.close()
    dialog.close()
