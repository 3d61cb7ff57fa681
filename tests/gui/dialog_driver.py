"""Answer real modal message boxes as a user would: a timer finds the box once ``exec()``
shows it and clicks a button (no monkeypatching of the question itself)."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox


class BoxAnswerer:
    """``answer(QMessageBox.StandardButton.Discard)`` arms a click on the next box; the
    texts of every box answered are kept in ``seen`` (a box nobody armed for fails the test
    by being cancelled and recorded in ``unexpected``)."""

    def __init__(self) -> None:
        self.pending: list[QMessageBox.StandardButton] = []
        self.seen: list[str] = []
        self.unexpected: list[str] = []
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._poll)
        self.timer.start()

    def answer(self, button: QMessageBox.StandardButton) -> None:
        self.pending.append(button)

    def _poll(self) -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or not box.isVisible():
            return
        self.seen.append(box.text())
        if not self.pending:
            self.unexpected.append(box.text())
            box.button(QMessageBox.StandardButton.Cancel).click()
            return
        box.button(self.pending.pop(0)).click()

    def stop(self) -> None:
        self.timer.stop()
