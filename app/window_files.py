"""The window's file actions: open (after the unsaved-edits question), recent files, drag
and drop, close, and writing the picture / summary of the graph."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from resect.app import dialogs, exporting


class FileActions:
    """Mixin of ``MainWindow``: everything that starts from a file name."""

    def may_discard(self, action: str) -> bool:
        """Ask every discard check (the editor's unsaved-edits question) before ``action``."""
        return all(check(action) for check in list(self.discard_checks))

    def open_path(self, path: str | os.PathLike[str]) -> bool:
        """Open a model in the background (after the unsaved-edits question); the graph
        replaces the current one when read. ``False`` when the user cancelled."""
        if not self.may_discard("open another model"):
            return False
        self._start_open(os.fspath(path))
        return True

    def _start_open(self, path: str) -> None:
        self.canvas.set_empty_hint(False)
        self.statusBar().showMessage(f"Opening {os.path.basename(path)}…")
        self._open_started = time.perf_counter()
        self.session.open(path)

    def ask_open(self) -> None:
        if not self.may_discard("open another model"):
            return
        recent = self.recent.paths()
        path = dialogs.ask_open_path(self, os.path.dirname(recent[0]) if recent else "")
        if path:
            self._start_open(path)

    def close_model(self) -> bool:
        """File > Close: back to the empty window (after the unsaved-edits question)."""
        if self.document.graph is None or not self.may_discard("close it"):
            return False
        self.session.close_model()
        self.canvas.clear()
        self.banner.hide()
        self._update_title()
        return True

    def _opened(self, path: str) -> None:
        self.recent.add(path)
        self._announce_paint = True
        elapsed = time.perf_counter() - getattr(self, "_open_started", time.perf_counter())
        self.statusBar().showMessage(f"Read {os.path.basename(path)} in {elapsed * 1000:.0f} ms", 5000)
        self.banner.hide()
        self.model_opened.emit(path)

    def _open_failed(self, path: str, message: str) -> None:
        self.session.start_deferred_keras()
        self._update_enabled()
        self.statusBar().showMessage("Could not open the model", 5000)
        dialogs.show_error(self, "Cannot open model", message)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        paths = self.recent.paths()
        for path in paths:  # name, then where it is: two "resnet50.keras" read apart
            label = f"{os.path.basename(path)}  —  {os.path.dirname(path)}"
            self.recent_menu.addAction(label, lambda p=path: self.open_path(p)).setToolTip(path)
        if paths:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self.recent.clear)
        else:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_path(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._dropped_path(event)
        if path is not None:
            event.acceptProposedAction()
            # after the drop returns: a question asked inside it would hold the drag source
            QTimer.singleShot(0, self, lambda: self.open_path(path))

    @staticmethod
    def _dropped_path(event: Any) -> str | None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        local = [url.toLocalFile() for url in urls if url.isLocalFile()]
        return local[0] if local else None

    def _suggest(self, suffix: str) -> str:
        base = Path(self.document.path).stem if self.document.path else "graph"
        folder = os.path.dirname(self.document.path) if self.document.path else os.getcwd()
        return os.path.join(folder, base + suffix)

    def ask_export_picture(self) -> None:
        """The current scene (collapsed blocks and direction as shown) to SVG or PNG."""
        if self.document.scene is not None:
            filters = "SVG (*.svg);;PNG (*.png)"
            path = dialogs.ask_save_path(self, "Export picture", self._suggest(".svg"), filters)
            self._export("picture", exporting.write_picture, self.document.scene, path)

    def ask_export_summary(self) -> None:
        """The layer table as ``resect inspect`` prints it."""
        if self.document.graph is not None:
            path = dialogs.ask_save_path(self, "Export summary", self._suggest(".txt"), "Text (*.txt)")
            self._export("summary", exporting.write_summary, self.document.graph, path)

    def _export(self, what: str, write: Any, subject: Any, path: str) -> None:
        """Write on a worker; report in the status bar, or with an error dialog."""
        if not path:
            return

        def done(_: Any) -> None:
            self.statusBar().showMessage(f"Wrote {path}", 6000)

        def failed(error: BaseException) -> None:
            dialogs.show_error(self, f"Cannot export {what}", str(error))

        self.runner.submit(write, subject, path, on_done=done, on_error=failed, name="export")
