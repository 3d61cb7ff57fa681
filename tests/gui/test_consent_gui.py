"""Consent to run code, in the window (DESIGN.md section 2): a model whose classes Keras
will not load without the user's code opens flagged with a banner naming each class and
its module; the user gives the code (a file, answered in the real dialog) or allows the
file's Lambda code (a real question box), and only the Keras worker process runs it. The
consent is remembered per file (path + content hash) and can be revoked.

The user's code writes a marker file (its pid, and whether Qt is loaded there) when it
is imported; the Lambda writes "ran" to a marker when it runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from resect.app import keras_client
from resect.app.consent_banner import CodeSourceDialog
from resect.app.consent_store import ConsentStore
from resect.core.consent import Consent
from tests.gui.dialog_driver import BoxAnswerer
from tests.gui.helpers import open_and_wait
from tests.test_consent import ACME, MAKE_ACME, MAKE_LAMBDA

KERAS_MS = 180_000


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("consent_gui")
    (folder / "acme_layers.py").write_text(ACME)
    env = {**os.environ, "ACME_MARKER": str(folder / "build-marker")}
    for name, code, extra in (("acme", MAKE_ACME, folder), ("lambda", MAKE_LAMBDA, folder / "lambda-marker")):
        run = subprocess.run(
            [sys.executable, "-c", code, str(folder / f"{name}.keras"), str(extra)],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
    return {"folder": folder, "acme": folder / "acme.keras", "lambda": folder / "lambda.keras"}


def _keras_refused(window) -> bool:
    return window.document.keras.state == "failed" and window.consent.banner.isVisible()


def _keras_loaded(window) -> bool:
    model = window.session.keras_model
    return (
        model is not None
        and model.path == window.document.path
        and window.document.keras.state == "ready"
        and not window.session.scene_pending
        and window.runner.pending == 0
    )


def _answer_code_dialog(text: str) -> QTimer:
    """Type ``text`` into the "Load code for these layers" dialog once it shows, then press
    "Load this code" (keep the returned timer alive until then)."""
    timer = QTimer()
    timer.setInterval(20)

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, CodeSourceDialog) and dialog.isVisible():
            timer.stop()
            dialog.source.setText(text)
            dialog.load_button.click()

    timer.timeout.connect(poll)
    timer.start()
    return timer


def test_custom_layer_banner_code_in_the_worker_only_remembered_and_revoked(qtbot, make_window, models, monkeypatch):
    marker = models["folder"] / "gui-marker"
    monkeypatch.setenv("ACME_MARKER", str(marker))  # the worker inherits it when it starts
    window = make_window(use_keras=True)
    open_and_wait(qtbot, window, models["acme"])
    qtbot.waitUntil(lambda: _keras_refused(window), timeout=KERAS_MS)
    banner = window.consent.banner
    text = banner.label.text()
    assert "acme&gt;Scale" in text and "acme_layers" in text and "scale" in text
    assert banner.load_button.isVisible() and not banner.lambda_button.isVisible()
    assert window.session.keras_model is None  # Keras did not load it
    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=5_000)  # said in words, not CLI flags
    assert not marker.exists()  # without consent nothing ran
    assert not window.consent.revoke_action.isEnabled()

    code = str(models["folder"] / "acme_layers.py")
    answer = _answer_code_dialog(code)
    qtbot.mouseClick(banner.load_button, Qt.MouseButton.LeftButton)
    assert not answer.isActive()  # the dialog was answered
    qtbot.waitUntil(lambda: _keras_loaded(window), timeout=KERAS_MS)
    assert window.document.graph.layer("head").nodes[0].input_shapes == ((None, 4),)
    assert not banner.isVisible()
    pid, qt_loaded = marker.read_text().split()
    assert int(pid) == window.session.keras.pid != os.getpid() and qt_loaded == "False"
    assert "acme_layers" not in sys.modules  # the window's process never imported it
    assert window.consent.store.get(str(models["acme"])) == Consent((code,))
    assert window.consent.revoke_action.isEnabled()

    # remembered: the file opened again loads with the code, no question
    window.close_model()
    open_and_wait(qtbot, window, models["acme"])
    assert not banner.isVisible()
    qtbot.waitUntil(lambda: _keras_loaded(window), timeout=KERAS_MS)
    assert window.document.graph.layer("head").nodes[0].input_shapes == ((None, 4),)

    # revoked: the worker restarts without the code and the banner asks again
    old_pid, starts = window.session.keras.pid, window.session.keras.starts
    window.consent.revoke_action.trigger()
    qtbot.waitUntil(lambda: _keras_refused(window), timeout=KERAS_MS)
    assert window.session.keras.starts == starts + 1 and window.session.keras.pid != old_pid
    assert window.session.keras_model is None
    assert window.consent.store.get(str(models["acme"])) is None
    assert marker.read_text().count("\n") == 1  # the new worker never imported it
    assert not window.consent.revoke_action.isEnabled()


def test_lambda_runs_only_after_the_question_in_words(qtbot, make_window, models) -> None:
    """Keras refuses the Lambda until the user allows it; then the worker loads the model
    with safe mode off (the Lambda's code runs when the model runs: export, activations)."""
    ran = models["folder"] / "lambda-marker"
    window = make_window(use_keras=True)
    open_and_wait(qtbot, window, models["lambda"])
    qtbot.waitUntil(lambda: _keras_refused(window), timeout=KERAS_MS)
    assert "Lambda" in window.document.keras.message and window.session.keras_model is None
    banner = window.consent.banner
    assert "Lambda" in banner.label.text() and "double" in banner.label.text()
    assert banner.lambda_button.isVisible() and not banner.load_button.isVisible()
    answerer = BoxAnswerer()
    try:
        answerer.answer(QMessageBox.StandardButton.Cancel)  # first: the user declines
        qtbot.mouseClick(banner.lambda_button, Qt.MouseButton.LeftButton)
        assert window.consent.store.get(str(models["lambda"])) is None and banner.isVisible()
        answerer.answer(QMessageBox.StandardButton.Yes)
        qtbot.mouseClick(banner.lambda_button, Qt.MouseButton.LeftButton)
    finally:
        answerer.stop()
    assert not answerer.unexpected
    assert answerer.seen == ["Run the Python code stored in lambda.keras?"] * 2
    qtbot.waitUntil(lambda: _keras_loaded(window), timeout=KERAS_MS)
    assert not ran.exists()  # Keras built it from its output_shape: the code has not run yet
    assert window.consent.store.get(str(models["lambda"])) == Consent(unsafe=True)
    assert window.document.graph.layer("head").nodes[0].input_shapes == ((None, 3),)


def test_launch_custom_code_still_loads_without_a_banner(qtbot, make_window, models, monkeypatch) -> None:
    """``python main.py MODEL --custom-code X`` (``app.launch`` fills ``launch_consent``)."""
    monkeypatch.setenv("ACME_MARKER", str(models["folder"] / "launch-marker"))
    monkeypatch.setattr(keras_client, "launch_consent", Consent((str(models["folder"] / "acme_layers.py"),)).to_json())
    window = make_window(use_keras=True)
    open_and_wait(qtbot, window, models["acme"])
    assert not window.consent.banner.isVisible()
    qtbot.waitUntil(lambda: _keras_loaded(window), timeout=KERAS_MS)
    assert window.document.graph.layer("head").nodes[0].input_shapes == ((None, 4),)
    assert (models["folder"] / "launch-marker").exists() and "acme_layers" not in sys.modules


def test_consent_is_tied_to_the_file_content(tmp_path) -> None:
    model = tmp_path / "m.keras"
    model.write_bytes(b"one")
    store = ConsentStore(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    store.remember(str(model), Consent(("acme_layers",)))
    assert store.get(str(model)) == Consent(("acme_layers",))
    os.utime(model, (1, 1))  # touched, same bytes: still allowed
    assert store.get(str(model)) == Consent(("acme_layers",))
    model.write_bytes(b"two")  # changed: asks again
    assert store.get(str(model)) is None
    model.write_bytes(b"one")
    store.revoke(str(model))
    assert store.get(str(model)) is None
