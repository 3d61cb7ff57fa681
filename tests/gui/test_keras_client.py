"""The app's Keras worker process: requests answered on the UI thread, a crash turned into
one line and a restart, shut down with its window, and TensorFlow never in the app."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from resect.app.keras_client import KerasClient
from tests.gui.conftest import child_processes
from tests.gui.helpers import open_and_wait

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 180_000


def test_client_answers_restarts_after_a_crash_and_shuts_down(qtbot, zoo):
    client = KerasClient()
    deaths: list[str] = []
    client.died.connect(deaths.append)
    try:
        with qtbot.waitSignal(client.ready, timeout=TIMEOUT_MS):
            client.start()
        first_pid = client.pid
        assert first_pid in child_processes()
        answers: list[object] = []
        errors: list[str] = []
        client.request("shapes", {"path": str(zoo.path("siamese", "tf2.h5"))}, answers.append, errors.append)
        qtbot.waitUntil(lambda: bool(answers or errors), timeout=TIMEOUT_MS)
        assert not errors and "tower_dense" in answers[0]["table"]["layers"]

        client.request("shapes", {"path": str(zoo.path("resnet50", "keras"))}, answers.append, errors.append)
        os.kill(first_pid, signal.SIGKILL)  # the worker dies mid-request
        qtbot.waitUntil(lambda: bool(deaths), timeout=30_000)
        assert len(errors) == 1 and errors == deaths and "\n" not in errors[0]
        assert errors[0].startswith("The Keras worker process stopped")
        assert client.pending == 0 and not client.running

        client.request("shapes", {"path": str(zoo.path("siamese", "keras"))}, answers.append, errors.append)
        qtbot.waitUntil(lambda: len(answers) == 2, timeout=TIMEOUT_MS)  # a fresh process answered
        assert client.starts == 2 and client.pid != first_pid
        second_pid = client.pid
    finally:
        client.shutdown()
    assert second_pid not in child_processes()


def test_window_close_stops_its_worker(qtbot, make_window, zoo):
    window = make_window(use_keras=True)
    open_and_wait(qtbot, window, zoo.path("small_resnet", "keras"))
    qtbot.waitUntil(lambda: window.session.keras_model is not None, timeout=TIMEOUT_MS)
    pid = window.session.keras.pid
    assert pid in child_processes()
    # the worker yields the CPU to the app: its niceness is above the app's
    assert os.getpriority(os.PRIO_PROCESS, pid) >= min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
    window.close()
    assert not window.session.keras.running and pid not in child_processes()


def test_a_dead_worker_is_one_line_for_the_user_and_comes_back(qtbot, make_window, zoo):
    window = make_window(use_keras=True)
    path = zoo.path("siamese", "tf2.h5")
    open_and_wait(qtbot, window, path)
    qtbot.waitUntil(lambda: window.session.keras_model is not None, timeout=TIMEOUT_MS)
    first_pid = window.session.keras.pid
    os.kill(first_pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: window.document.keras.state == "failed", timeout=30_000)
    assert window.session.keras_model is None
    assert window.banner.isVisible() and "Keras worker process stopped" in window.banner.label.text()
    assert "\n" not in window.document.keras.message
    open_and_wait(qtbot, window, path)  # opening again asks a fresh worker
    qtbot.waitUntil(lambda: window.session.keras_model is not None, timeout=TIMEOUT_MS)
    assert window.session.keras.pid not in (None, first_pid)
    assert window.document.graph.layer("tower_dense").nodes[1].output_shapes == ((None, 16),)


def test_windows_share_one_worker_until_the_last_closes(qtbot, make_window, zoo):
    first, second = make_window(use_keras=True), make_window(use_keras=True)
    open_and_wait(qtbot, first, zoo.path("small_resnet", "keras"))
    open_and_wait(qtbot, second, zoo.path("siamese", "tf2.h5"))
    for window in (first, second):
        qtbot.waitUntil(lambda w=window: w.session.keras_model is not None, timeout=TIMEOUT_MS)
    assert first.session.keras is second.session.keras and first.session.keras.starts == 1
    pid = first.session.keras.pid
    assert second.document.graph.layer("tower_dense").nodes[1].output_shapes == ((None, 16),)
    first.close()
    assert pid in child_processes()  # the second window still uses it
    second.close()
    assert pid not in child_processes()


APP_SCRIPT = """
import json, os, sys, tempfile
from PySide6.QtCore import QEventLoop, QSettings
from PySide6.QtWidgets import QApplication
from resect.app.editor import install_editor
from resect.app.main_window import MainWindow
from resect.core.surgery.edits import Cut

app = QApplication([])
folder = tempfile.mkdtemp(prefix="resect-no-tf-")
window = MainWindow(settings=QSettings(os.path.join(folder, "s.ini"), QSettings.Format.IniFormat), use_keras=True)
editor = install_editor(window)
window.show()

def wait(condition):
    while not condition():
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)

window.open_path(sys.argv[1])
wait(lambda: window.session.keras_model is not None or window.document.keras.state == "failed")
shapes = window.document.keras.state
editor.apply(Cut(outputs=("conv3_block2_out",)))
dialog = editor.export()
dialog.path_edit.setText(os.path.join(folder, "cut.keras"))
dialog.start()
wait(lambda: dialog.state in ("done", "failed", "cancelled"))
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
print(json.dumps({"shapes": shapes, "export": dialog.state, "error": dialog.error,
                  "max_diff": dialog.result.verify.max_abs_diff if dialog.result else None, "heavy": heavy}))
window.discard_checks.clear()  # a script: its edit goes without the unsaved-edits question
window.close()
"""


def test_the_app_process_never_imports_tensorflow(zoo):
    """Open a model, get Keras' shapes, export with verification: all of it in the worker."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", APP_SCRIPT, str(zoo.path("small_resnet", "keras"))],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["shapes"] == "ready" and report["export"] == "done", report
    assert report["max_diff"] < 1e-4
    assert report["heavy"] == []  # neither tensorflow nor keras in the app's own process
