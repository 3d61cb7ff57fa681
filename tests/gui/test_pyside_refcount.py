"""Regression guard for the PySide6 6.12.0 bug in DESIGN.md: Qt calls that return nothing
lowered the reference count of ``None`` by one each, until the process aborted."""

from __future__ import annotations

import sys

import PySide6
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsRectItem

CALLS = 3000


def test_pyside_is_pinned_below_612():
    major, minor = (int(part) for part in PySide6.__version__.split(".")[:2])
    assert (major, minor) < (6, 12), f"PySide6 {PySide6.__version__}: 6.12.0 corrupts refcounts (DESIGN.md)"


def test_none_returning_qt_calls_keep_none_refcount(qapp):
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    path = QPainterPath()
    item = QGraphicsRectItem(0, 0, 10, 10)
    pen, brush = QPen(QColor("red")), QBrush(QColor("blue"))
    rect = QRectF(1, 1, 5, 5)
    before = sys.getrefcount(None)
    for i in range(CALLS):
        path.lineTo(QPointF(i, i))
        item.setPos(i, i)
        item.setBrush(brush)
        painter.setPen(pen)
        painter.drawRect(rect)
    after = sys.getrefcount(None)
    painter.end()
    # 5 x 3000 calls: a per-call leak would show as a drop of ~15,000
    assert after >= before - 50, f"None refcount fell by {before - after} over {5 * CALLS} Qt calls"
