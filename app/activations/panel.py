"""The Activations dock: for the selected call, each output's statistics, histogram,
channel grid (a pyqtgraph ``ImageItem``; the channel under the cursor is named) and top-k,
the original beside the edited model when there are edits."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resect.app.activations.results import RunResults


def stats_text(summary: dict[str, Any]) -> str:
    s = summary["stats"]
    shape = "×".join(str(d) for d in summary["shape"])
    return (
        f"{shape} {summary['dtype']} · min {s['min']:.4g} · max {s['max']:.4g} · mean {s['mean']:.4g} · "
        f"std {s['std']:.4g} · zeros {100 * s['zeros']:.1f}%"
    )


class ActivationPanel(QWidget):
    """Shows one tensor at a time out of the selected call's outputs (see module doc)."""

    detail_wanted = Signal(str, str)  # side, tensor: the grid / top-k are fetched on demand
    run_clicked = Signal()
    cancel_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.results: RunResults | None = None
        self.side = "original"
        self.tensor: str | None = None
        self.layer_path: tuple[str, ...] = ()
        self.grid: dict[str, Any] | None = None

        self.run_button = QPushButton("Run data…", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar(self)
        self.progress.setMaximumHeight(14)
        self.progress.hide()
        self.message = QLabel("Run data through the model to see what each layer computes.", self)
        self.message.setWordWrap(True)
        self.side_box = QComboBox(self)
        self.side_box.addItem("edited model", "edited")
        self.side_box.addItem("original model", "original")
        self.side_box.hide()
        self.tensor_box = QComboBox(self)
        self.tensor_box.hide()
        self.stats_label = QLabel("", self)
        self.stats_label.setObjectName("activationStats")
        self.stats_label.setWordWrap(True)
        self.stats_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self._plots = QVBoxLayout()  # the histogram and the grid, built with the first result
        self._plots.setContentsMargins(0, 0, 0, 0)
        self.histogram: pg.GraphicsLayoutWidget | None = None
        self.channel_label = QLabel("", self)
        self.top_table = QTableWidget(0, 2, self)
        self.top_table.setHorizontalHeaderLabels(["class", "value"])
        self.top_table.verticalHeader().hide()
        self.top_table.hide()

        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.side_box)
        layout.addWidget(self.tensor_box)
        layout.addWidget(self.stats_label)
        layout.addLayout(self._plots, 3)
        layout.addWidget(self.channel_label)
        layout.addWidget(self.top_table, 1)
        layout.addStretch(0)

        self.run_button.clicked.connect(self.run_clicked)
        self.cancel_button.clicked.connect(self.cancel_clicked)
        self.side_box.currentIndexChanged.connect(self._side_changed)
        self.tensor_box.currentIndexChanged.connect(self._tensor_changed)

    def _build_plots(self) -> None:
        """The histogram and the channel grid: pyqtgraph scenes that cost the app's start-up
        a tenth of its widget time, while no run has produced anything to plot."""
        if self.histogram is not None:
            return
        # ViewBoxes without menus and no PlotItem: pyqtgraph makes those menus parentless,
        # and they would outlive the window while this panel's Python object lives
        self.histogram = pg.GraphicsLayoutWidget()
        self.histogram.setBackground("w")
        self.histogram.setMinimumHeight(110)
        self.hist_box = pg.ViewBox(enableMenu=False)
        self.hist_box.setMouseEnabled(x=False, y=False)
        self.histogram.addItem(self.hist_box, row=0, col=0)
        self.histogram.addItem(pg.AxisItem("bottom", linkView=self.hist_box), row=1, col=0)
        self.curve = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=(59, 125, 216, 120), pen=(59, 125, 216))
        self.original_curve = pg.PlotDataItem(stepMode="center", pen=pg.mkPen((230, 119, 0), width=1.5))
        self.hist_box.addItem(self.curve)
        self.hist_box.addItem(self.original_curve)
        self.histogram.hide()

        self.grid_view = pg.GraphicsLayoutWidget()
        self.grid_view.setBackground("w")
        self.grid_view.setMinimumHeight(180)
        self.grid_box = self.grid_view.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.grid_box.setMouseEnabled(x=True, y=True)
        self.grid_image = pg.ImageItem(axisOrder="row-major")
        self.grid_box.addItem(self.grid_image)
        self.grid_image.hoverEvent = self._grid_hover  # name the channel under the cursor
        self.grid_view.hide()
        self._plots.addWidget(self.histogram, 1)
        self._plots.addWidget(self.grid_view, 2)

    # --- run state ---------------------------------------------------------------------
    def set_running(self, running: bool, text: str = "") -> None:
        self.cancel_button.setEnabled(running)
        self.run_button.setEnabled(not running)
        self.progress.setVisible(running)
        if text:
            self.message.setText(text)

    def set_progress(self, stage: str, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{stage} %v/%m")

    def set_results(self, results: RunResults | None) -> None:
        self.results = results
        has_edited = results is not None and results.has_edited
        self.side_box.setVisible(has_edited)
        if not has_edited:
            self.side = "original"
        elif self.side_box.currentData() == "edited":
            self.side = "edited"
        self.refresh()

    # --- selection ---------------------------------------------------------------------
    def show_layer(self, layer_path: tuple[str, ...], tensor: str | None = None) -> None:
        """Show the outputs of every call of ``layer_path`` (or one ``tensor``)."""
        self.layer_path = tuple(layer_path)
        self.tensor = tensor
        self.refresh()

    def refresh(self) -> None:
        results = self.results
        names: list[str] = []
        if results is not None and self.layer_path:
            names = results.tensors_of(self.side, self.layer_path)
        if results is not None and self.tensor and self.tensor in results.summaries.get(self.side, {}):
            names = [self.tensor] + [n for n in names if n != self.tensor]
        self.tensor_box.blockSignals(True)
        self.tensor_box.clear()
        for name in names:
            self.tensor_box.addItem(name, name)
        self.tensor_box.blockSignals(False)
        self.tensor_box.setVisible(len(names) > 1)
        if not names:
            self._clear_views()
            if results is not None and self.layer_path:
                self.stats_label.setText(f"{'/'.join(self.layer_path)}: no {self.side} tensor computed")
            return
        self._show_tensor(names[0])

    def _side_changed(self) -> None:
        self.side = str(self.side_box.currentData() or "original")
        self.refresh()

    def _tensor_changed(self) -> None:
        name = self.tensor_box.currentData()
        if name:
            self._show_tensor(str(name))

    def _clear_views(self) -> None:
        self.stats_label.setText("")
        if self.histogram is not None:
            self.histogram.hide()
            self.grid_view.hide()
        self.top_table.hide()
        self.channel_label.setText("")
        self.grid = None

    def _show_tensor(self, name: str) -> None:
        assert self.results is not None
        self.shown = name
        summary = self.results.summaries[self.side][name]
        lines = [f"<b>{name}</b> ({self.side})", stats_text(summary)]
        original_name = self.results.original_of(self.side, name) if self.side == "edited" else None
        original = self.results.summaries["original"].get(original_name) if original_name else None
        if self.side == "edited":
            if name in self.results.differences:
                lines.append(f"vs original {original_name}: max |diff| {self.results.differences[name]:.3g}")
            else:
                lines.append("new or changed computation: no original counterpart")
        self.stats_label.setText("<br>".join(lines))
        self._build_plots()
        hist = summary["histogram"]
        if hist["counts"]:
            self.curve.setData(np.asarray(hist["edges"]), np.asarray(hist["counts"]))
            if original is not None and original["histogram"]["counts"]:
                oh = original["histogram"]
                self.original_curve.setData(np.asarray(oh["edges"]), np.asarray(oh["counts"]))
            else:
                self.original_curve.setData([], [])
            self.hist_box.autoRange()
            self.histogram.show()
        detail = self.results.details.get((self.side, name))
        if detail is None:
            self.grid_view.hide()
            self.top_table.hide()
            self.grid = None
            self.detail_wanted.emit(self.side, name)
        else:
            self.show_detail(detail)

    def show_detail(self, detail: dict[str, Any]) -> None:
        """A grid / top-k arrived (or was cached) for the tensor shown."""
        if detail.get("tensor") != getattr(self, "shown", None) or detail.get("side") != self.side:
            return
        self.grid = detail.get("grid")
        self._build_plots()
        if self.grid is not None:
            from resect.core.activation_summary import decode_grid  # with the first grid

            self.grid_image.setImage(decode_grid(self.grid), levels=(0, 255))
            self.grid_box.autoRange()
            self.grid_view.show()
            more = self.grid["total_channels"] - self.grid["channels"]
            self.channel_label.setText(
                f"{self.grid['channels']} channels" + (f" (first {self.grid['channels']}, {more} more)" if more else "")
            )
        else:
            self.grid_view.hide()
            self.channel_label.setText("")
        top = detail.get("top_k")
        self.top_table.setVisible(bool(top))
        self.top_table.setRowCount(len(top or []))
        for row, (index, value) in enumerate(top or []):
            self.top_table.setItem(row, 0, QTableWidgetItem(str(index)))
            self.top_table.setItem(row, 1, QTableWidgetItem(f"{value:.5g}"))

    # --- the grid ------------------------------------------------------------------------
    def channel_at(self, x: float, y: float) -> str:
        """The text naming the channel at image pixel (``x``, ``y``) of the grid."""
        if self.grid is None:
            return ""
        from resect.core.activation_summary import grid_channel_at

        channel = grid_channel_at(self.grid, int(y), int(x))
        if channel is None:
            return ""
        low, high = self.grid["ranges"][channel]
        return f"channel {channel}: {low:.4g} … {high:.4g}"

    def _grid_hover(self, event: Any) -> None:
        if event.isExit():
            self.channel_label.setText("")
            return
        position = event.pos()
        text = self.channel_at(position.x(), position.y())
        if text:
            self.channel_label.setText(text)
