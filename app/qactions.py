"""The one builder of the window's ``QAction``s (the main window's and the editor's):
text, slot, shortcut, icon, tooltip, added to the window so its shortcut works anywhere."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QWidget

__all__ = ["icon", "make_action"]


def icon(name: str) -> QIcon:
    try:
        from resect.resources import icon_path

        return QIcon(str(icon_path(name)))
    except Exception:  # noqa: BLE001 - an icon is never worth failing for
        return QIcon()


def make_action(
    window: QWidget,
    text: str,
    slot: Any,
    shortcut: Any = None,
    icon_name: str = "",
    tip: str | None = None,
    checkable: bool = False,
) -> QAction:
    """A ``QAction`` on ``window`` that calls ``slot``; ``tip=""`` writes the text (without
    its ``&`` and ellipsis) as tooltip, ``None`` leaves Qt's own."""
    action = QAction(text, window)
    if shortcut is not None and shortcut != "":
        action.setShortcut(QKeySequence(shortcut))
    if icon_name:
        action.setIcon(icon(icon_name))
    if tip is not None:
        action.setToolTip(tip or text.replace("&", "").replace("…", ""))
    action.setCheckable(checkable)
    action.triggered.connect(slot)
    window.addAction(action)
    return action
