"""The export dialog offers ONNX and TFLite from the format table, shows each format's
options and the tolerance verification holds it to, and reports the runtime that ran the
written file (export in a thread here: no worker process)."""

from __future__ import annotations

import numpy as np

from resect.app.editor.export_dialog import ExportDialog
from resect.core.keras_backend.formats import FORMATS, ExportOptions


def make_dialog(qtbot, path) -> ExportDialog:
    dialog = ExportDialog(str(path), [])
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def choose(dialog: ExportDialog, fmt: str) -> None:
    dialog.format_box.setCurrentIndex(dialog.format_box.findData(fmt))


def test_formats_and_their_options(qtbot, zoo, tmp_path):
    dialog = make_dialog(qtbot, zoo.path("siamese", "keras"))
    assert [dialog.format_box.itemData(i) for i in range(dialog.format_box.count())] == list(FORMATS)
    choose(dialog, "onnx")
    assert dialog.path_edit.text().endswith("siamese_edited.onnx")
    assert dialog.opset_spin.isVisible() and dialog.batch_widget.isVisible() and not dialog.float16_box.isVisible()
    assert "onnxruntime" in dialog.tolerance_label.text() and "0.0001" in dialog.tolerance_label.text()
    dialog.opset_spin.setValue(13)
    dialog.dynamic_batch_box.setChecked(False)
    dialog.batch_spin.setValue(4)
    assert dialog.options == ExportOptions(batch_size=4, opset=13)
    choose(dialog, "tflite")
    assert dialog.path_edit.text().endswith("siamese_edited.tflite")
    assert dialog.float16_box.isVisible() and not dialog.opset_spin.isVisible()
    dialog.float16_box.setChecked(True)
    assert "LiteRT interpreter" in dialog.tolerance_label.text()
    assert "0.01 x max(1, largest |value|)" in dialog.tolerance_label.text()
    assert dialog.options == ExportOptions(batch_size=4, float16=True)  # no opset for tflite
    choose(dialog, "keras")
    assert not dialog.float16_box.isVisible() and not dialog.batch_widget.isVisible()
    assert dialog.options == ExportOptions()
    dialog.close()


def test_tflite_export_verified_in_litert(qtbot, zoo, tmp_path):
    dialog = make_dialog(qtbot, zoo.path("siamese", "keras"))
    choose(dialog, "tflite")
    out = tmp_path / "siamese.tflite"
    dialog.path_edit.setText(str(out))
    dialog.float16_box.setChecked(True)
    dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog.state in ("done", "failed", "cancelled"), timeout=600_000)
    assert dialog.state == "done", dialog.error
    result = dialog.result
    assert result.format == "tflite" and out.stat().st_size == result.file_size
    assert result.verify.ok and result.verify.checks[0].tolerance >= 1e-2
    text = dialog.result_label.text()
    assert "Verified in <b>LiteRT interpreter</b>" in text and "score:0:0" in text
    assert not dialog.open_button.isEnabled()  # Resect opens Keras files, not .tflite
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(out)).get_signature_runner()
    x = np.zeros((1, 32, 32, 3), "float32")
    assert runner(left=x, right=x)["output_0"].shape == (1, 1)
    dialog.close()
