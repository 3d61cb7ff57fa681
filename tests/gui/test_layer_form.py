"""Issue 13 item 10: Insert / Replace layer is a form generated from the class's own
constructor (asked of the Keras worker: this process never imports TensorFlow), checked by
Keras before OK, with Keras' whole message when it refuses."""

from __future__ import annotations

from tests.gui import test_editor
from tests.gui.test_editor import click_menu, open_editor

accept_dialogs = test_editor.accept_dialogs  # the same fixture: dialogs filled like a user
KERAS_MS = 300_000  # TensorFlow imports in the worker first: minutes on a busy machine


def test_dropout_form_refuses_an_unknown_keyword_naming_it(qtbot, make_window, zoo, accept_dialogs):
    window, editor = open_editor(qtbot, make_window, zoo.path("small_resnet", "keras"), use_keras=True)
    seen = {}

    def fill(dialog):
        qtbot.waitUntil(lambda: "rate" in dialog.fields, timeout=KERAS_MS)  # Keras' own signature
        assert set(dialog.fields) == {"rate", "noise_shape", "seed"}
        assert dialog.fields["rate"].placeholderText() == "required"
        assert dialog.fields["seed"].placeholderText() == "null"
        dialog.config_edit.setPlainText('{"rate": 0.3, "bogus": 1}')
        qtbot.waitUntil(lambda: "bogus" in dialog.status.text(), timeout=KERAS_MS)
        seen["refused"] = dialog.status.text()
        assert not dialog.ok_button.isEnabled()
        assert dialog.fields["rate"].text() == "0.3"  # the form follows the JSON
        dialog.config_edit.setPlainText("{}")
        qtbot.keyClicks(dialog.fields["rate"], "0.25")  # and the JSON follows the form
        assert dialog.spec().config == {"rate": 0.25}
        qtbot.waitUntil(dialog.ok_button.isEnabled, timeout=KERAS_MS)

    accept_dialogs.append(fill)
    click_menu(qtbot, window, editor, "conv1_relu", "Insert layer after…")
    assert "Unrecognized keyword arguments" in seen["refused"] and "bogus" in seen["refused"]
    (new,) = [layer for layer in editor.doc.edited.layers if layer.origin is None]
    assert new.class_name == "Dropout" and new.config["rate"] == 0.25
    assert window.session.keras.pid is not None  # the form came from the Keras worker process


def test_replace_layer_form_is_prefilled_and_keras_checks_values(qtbot, make_window, zoo, accept_dialogs):
    window, editor = open_editor(qtbot, make_window, zoo.path("small_resnet", "keras"), use_keras=True)

    def fill(dialog):
        qtbot.waitUntil(lambda: "units" in dialog.fields, timeout=KERAS_MS)
        assert dialog.fields["units"].text() == "10"  # the layer's own config
        assert dialog.fields["use_bias"].placeholderText() == "true"  # Keras' default
        dialog.fields["units"].clear()
        qtbot.keyClicks(dialog.fields["units"], "-3")
        qtbot.waitUntil(lambda: "units" in dialog.status.text() and not dialog.ok_button.isEnabled(), timeout=KERAS_MS)
        dialog.fields["units"].clear()
        qtbot.keyClicks(dialog.fields["units"], "4")
        qtbot.waitUntil(dialog.ok_button.isEnabled, timeout=KERAS_MS)

    accept_dialogs.append(fill)
    click_menu(qtbot, window, editor, "predictions", "Replace layer…")
    assert editor.doc.preview.outputs[0].shape == (None, 4)
