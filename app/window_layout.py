"""The window's docks: creation, first sizes as a share of the window, restoring the last
session's layout, and keeping the canvas at least about half the window."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QDockWidget, QWidget

COMPACT_WIDTH = 1400  # px: below this the main toolbar shows icons only


class DockLayout:
    """Mixin of ``MainWindow``: dock sizes and the compact toolbar."""

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._docks_sized:  # after any add-on docks exist, and once the window has its size
            self._docks_sized = True
            QTimer.singleShot(0, self._restore_layout)

    def _restore_layout(self) -> None:
        """The last session's geometry and docks, or sensible dock widths the first time."""
        geometry, state = self.settings.value("window/geometry"), self.settings.value("window/state")
        if geometry is not None and state is not None:
            self.restoreGeometry(geometry)
            if self.restoreState(state):
                return
        self._fit_docks()

    def _fit_docks(self) -> None:
        """Side panels as a share of the window (about a fifth each, 200-430 px)."""
        side = max(200, min(430, int(self.width() * 0.21)))
        self.resizeDocks([self.tree_dock, self.properties_dock], [side, side - 10], Qt.Orientation.Horizontal)
        right = [
            dock
            for dock in self.findChildren(QDockWidget)
            if self.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea
            and dock.isVisible()
            and not self.tabifiedDockWidgets(dock)
        ]
        if len(right) == 2 and self.properties_dock in right:  # Properties above a small History
            other = right[1] if right[0] is self.properties_dock else right[0]
            height = self.properties_dock.height() + other.height()
            self.resizeDocks(
                [self.properties_dock, other], [int(height * 0.74), int(height * 0.26)], Qt.Orientation.Vertical
            )

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        compact = self.width() < COMPACT_WIDTH  # icons only, so no action hides behind the overflow
        style = Qt.ToolButtonStyle.ToolButtonIconOnly if compact else Qt.ToolButtonStyle.ToolButtonTextBesideIcon
        if self.main_toolbar.toolButtonStyle() != style:
            self.main_toolbar.setToolButtonStyle(style)
            self.search_edit.setMaximumWidth(170 if compact else 320)
        central = self.centralWidget().width()
        if self._docks_sized and self.isVisible() and central < 0.5 * self.width():
            self._fit_docks()  # the canvas keeps at least about half the window
