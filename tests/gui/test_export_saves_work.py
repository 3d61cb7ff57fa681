"""The export dialog's "Export architecture only (fresh weights)" (issue 17) and a
successful export counting as saving the work (issue 13): afterwards opening another
model or closing the window asks nothing, until the next edit.

The architecture-only export goes through the ``reinitialize`` ``all`` edit: the written
model has the edited model's layers, weight shapes and output shapes, every weight differs
from the trained original's, and verification says it compared nothing that fresh weights
change."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from resect.app.editor.unsaved import has_unsaved_edits
from tests.gui.helpers import open_and_wait
from tests.gui.test_editor import click_menu, open_editor

Button = QMessageBox.StandardButton
EXPORT_TIMEOUT_MS = 600_000


@pytest.fixture(scope="module")
def keras():
    from resect.core.keras_backend.runtime import import_keras

    return import_keras()


@pytest.fixture(scope="module")
def trained_path(keras, tmp_path_factory):
    """A small conv net whose every weight is moved off its initial value (as training
    would), so a fresh weight can never equal a trained one by chance (BatchNorm's ones
    and zeros included)."""
    layers = keras.layers
    keras.utils.set_random_seed(5)
    image = keras.Input((8, 8, 3), name="image")
    x = layers.Conv2D(4, 3, name="conv")(image)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.ReLU(name="relu")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    features = layers.Dense(5, name="feat")(x)
    model = keras.Model(image, layers.Dense(2, name="head")(features), name="trained")
    rng = np.random.default_rng(0)
    model.set_weights([w + rng.uniform(0.1, 0.2, w.shape).astype(w.dtype) for w in model.get_weights()])
    path = tmp_path_factory.mktemp("trained") / "trained.keras"
    model.save(path)
    return path


def export(qtbot, editor, out, verify: bool = True, architecture_only: bool = False):
    """File > Export edited model: type the path, tick the boxes, press Export, wait."""
    dialog = editor.export()
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("keras"))
    dialog.path_edit.setText(str(out))
    dialog.verify_box.setChecked(verify)
    dialog.fresh_box.setChecked(architecture_only)
    dialog.export_button.click()
    assert dialog.state == "running" and not dialog.fresh_box.isEnabled()
    qtbot.waitUntil(lambda: dialog.state in ("done", "failed", "cancelled"), timeout=EXPORT_TIMEOUT_MS)
    assert dialog.state == "done", dialog.error
    return dialog


def by_path(model) -> dict[str, np.ndarray]:
    return {w.path: np.asarray(w.numpy()) for w in model.weights}


def test_architecture_only_export_has_fresh_weights_and_the_edited_architecture(
    qtbot, make_window, keras, trained_path, tmp_path
):
    window, editor = open_editor(qtbot, make_window, trained_path)
    click_menu(qtbot, window, editor, "feat", "End model here")  # the edit the export must keep
    out = tmp_path / "fresh.keras"
    dialog = export(qtbot, editor, out, architecture_only=True)
    assert "fresh weights" in dialog.tolerance_label.text()
    assert dialog.job_edits[-1].to_json() == {"op": "reinitialize", "all": True}
    assert [e.to_json() for e in dialog.job_edits[:-1]] == [e.to_json() for e in editor.doc.edits]

    original = keras.models.load_model(trained_path, compile=False)
    edited = keras.Model(original.inputs, original.get_layer("feat").output)  # what the cut keeps
    got = keras.models.load_model(out, compile=False)
    assert [(layer.name, type(layer).__name__) for layer in got.layers] == [
        (layer.name, type(layer).__name__) for layer in edited.layers
    ]
    assert got.count_params() == edited.count_params() == dialog.result.params_after.total
    assert got.output.shape == edited.output.shape
    mine, theirs = by_path(got), by_path(edited)
    assert mine.keys() == theirs.keys()
    assert all(mine[p].shape == theirs[p].shape for p in mine)
    assert [p for p in mine if np.array_equal(mine[p], theirs[p])] == []  # every weight is fresh
    x = np.random.default_rng(1).normal(size=(2, 8, 8, 3)).astype("float32")
    assert np.asarray(got([x])).shape == np.asarray(edited([x])).shape == (2, 5)

    # verification compares nothing fresh weights change, and says so
    result = dialog.result
    assert result.verify is not None and result.verify.checks == [] and result.verify.ok
    assert set(result.reinitialized) == {"conv", "bn", "feat"}
    text = dialog.result_label.text()
    assert "every tensor of the export depends on fresh weights" in text
    assert "Outputs with fresh weights, not compared: feat:0:0" in text
    assert "Architecture only</b>: fresh weights in all 3 layers with weights" in text
    # fresh weights are not the edited model: the work still counts as unsaved
    assert has_unsaved_edits(editor)
    dialog.close()


def test_an_export_saves_the_work_until_the_next_edit(qtbot, make_window, zoo, trained_path, tmp_path, boxes):
    window, editor = open_editor(qtbot, make_window, trained_path)
    click_menu(qtbot, window, editor, "feat", "End model here")
    assert has_unsaved_edits(editor)
    export(qtbot, editor, tmp_path / "cut.keras", verify=False).close()
    assert not has_unsaved_edits(editor) and len(editor.doc.edits) == 1

    click_menu(qtbot, window, editor, "relu", "End model here")  # a new edit: unsaved again
    boxes.answer(Button.Cancel)
    assert not window.close_model()
    assert len(boxes.seen) == 1 and "2 edits" in boxes.seen[0]
    assert len(editor.doc.edits) == 2

    export(qtbot, editor, tmp_path / "cut2.keras", verify=False).close()
    open_and_wait(qtbot, window, zoo.path("siamese", "keras"))  # no question: boxes fails on one
    assert window.document.graph.name == "siamese" and len(boxes.seen) == 1


def test_closing_the_window_after_an_export_asks_nothing(qtbot, make_window, trained_path, tmp_path, boxes):
    window, editor = open_editor(qtbot, make_window, trained_path)
    click_menu(qtbot, window, editor, "pool", "End model here")
    export(qtbot, editor, tmp_path / "pooled.keras", verify=False).close()
    assert window.close()
    assert not window.isVisible() and boxes.seen == []
