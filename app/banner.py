"""Non-modal notes shown above the canvas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget


class NoteBanner(QWidget):
    """A non-modal note above the canvas (Keras could not load the model, ...)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noteBanner")
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_button = QPushButton(self)
        self.action_button.setObjectName("bannerAction")
        self.action_button.hide()
        self.action_button.clicked.connect(self._act)
        self._action: Callable[[], Any] | None = None
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(close)
        self.setStyleSheet("#noteBanner { background: #fff4cc; border-bottom: 1px solid #e0c75a; }")
        self.hide()

    def show_note(self, text: str, action_text: str = "", action: Callable[[], Any] | None = None) -> None:
        """Show ``text``; with ``action``, a button that does what the note proposes (any time later)."""
        self.label.setText(text)
        self._action = action
        self.action_button.setText(action_text)
        self.action_button.setVisible(action is not None)
        self.show()

    def _act(self) -> None:
        action, self._action = self._action, None
        self.hide()
        if action is not None:
            action()
