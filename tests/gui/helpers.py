"""Helpers shared by the GUI tests."""

from __future__ import annotations

from pathlib import Path

from resect.app.main_window import MainWindow

OPEN_TIMEOUT_MS = 60_000


def open_and_wait(qtbot, window: MainWindow, path: Path | str) -> None:
    """Open like a user (File > Open path) and wait until the graph is drawn."""
    target = str(Path(path).resolve())
    window.open_path(target)
    qtbot.waitUntil(
        lambda: (
            window.document.path == target
            and window.canvas.prepared is not None
            and not window.session.scene_pending
            and window.document.scene is window.canvas.prepared.scene
        ),
        timeout=OPEN_TIMEOUT_MS,
    )
