"""GUI fixtures: a main window per test with settings in a temp dir, dialogs captured
instead of shown, and a check (after napari's ``make_napari_viewer``) that a test leaves
no top-level widget behind."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QSettings
from PySide6.QtWidgets import QApplication

import resect.app.dialogs
from resect.app.main_window import MainWindow
from tests.gui.dialog_driver import BoxAnswerer

QT_OWN_TOP_LEVELS = {"QTipLabel"}


class DialogLog:
    """What the window would have shown modally."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []
        self.save_paths: list[str] = []


@pytest.fixture
def boxes() -> Iterator[BoxAnswerer]:
    """Answers the message boxes a test expects (``boxes.answer(button)``); any other
    question fails the test."""
    answerer = BoxAnswerer()
    yield answerer
    answerer.stop()
    assert not answerer.unexpected, f"unexpected question(s): {answerer.unexpected}"


@pytest.fixture
def dialog_log(monkeypatch: pytest.MonkeyPatch) -> DialogLog:
    log = DialogLog()
    monkeypatch.setattr(
        resect.app.dialogs, "show_error", lambda parent, title, message: log.errors.append((title, message))
    )
    monkeypatch.setattr(resect.app.dialogs, "show_about", lambda parent: log.errors.append(("about", "")))

    def save_path(parent, title, suggested, file_filter):  # noqa: ANN001
        return log.save_paths.pop(0) if log.save_paths else ""

    monkeypatch.setattr(resect.app.dialogs, "ask_save_path", save_path)
    return log


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """A settings file in the test's temp dir (never the user's real settings)."""
    return QSettings(str(tmp_path / "resect-test.ini"), QSettings.Format.IniFormat)


def child_processes() -> set[int]:
    """Live child processes of this process (Linux /proc; zombies count as gone)."""
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            pids.update(int(p) for p in (task / "children").read_text().split())
        except OSError:
            continue
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _flush_deletes() -> None:
    gc.collect()  # pyqtgraph's parentless menus go with their Python owners
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()


@pytest.fixture
def make_window(qtbot, settings: QSettings, dialog_log: DialogLog) -> Iterator[Callable[..., MainWindow]]:
    """``make_window(use_keras=False)`` -> a shown MainWindow; fails the test on leaked windows."""
    _flush_deletes()
    before = {id(w) for w in QApplication.topLevelWidgets()}
    children_before = child_processes()
    made: list[MainWindow] = []

    def make(use_keras: bool = False) -> MainWindow:
        window = MainWindow(settings=settings, use_keras=use_keras)
        window.resize(1400, 900)
        window.show()
        qtbot.waitExposed(window)
        made.append(window)
        return window

    yield make
    for window in made:
        window.discard_checks.clear()  # the test is over: its edits go without a question
        qtbot.waitUntil(lambda w=window: w.runner.pending == 0 or w.document.keras.state == "loading", timeout=120_000)
        window.close()
        window.deleteLater()
        del window  # the loop variable would keep the last window (and its pyqtgraph menus) alive
    made.clear()  # the test's own references go, as a closed window's do in the app
    _flush_deletes()
    # Qt keeps its tooltip label alive for the whole process; anything else is ours
    leaked = [
        w for w in QApplication.topLevelWidgets() if id(w) not in before and type(w).__name__ not in QT_OWN_TOP_LEVELS
    ]
    assert not leaked, f"test leaked top-level widgets: {[type(w).__name__ for w in leaked]}"
    deadline = time.monotonic() + 10.0  # a closed window's Keras worker is given a moment to exit
    while (extra := child_processes() - children_before) and time.monotonic() < deadline:
        _flush_deletes()
        time.sleep(0.05)
    assert not extra, f"test leaked child processes: {sorted(extra)} (pid {os.getpid()})"
