"""The properties panel (right): everything known about the selected layer or tensor.

A layer shows its class, parameters split trainable / non-trainable, every call with
its input and output tensors, each weight (shape, dtype, size) and the full config as a
tree. Selecting a weight reads its values from the file in the background and shows
min / max / mean / std and a histogram. A tensor shows its producer, consumers and shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resect.app.document import ViewerDocument
from resect.app.formatting import count_text, graph_totals, shape_text, size_text
from resect.app.workers import TaskRunner
from resect.core.graph import Layer, ModelGraph
from resect.core.tensor_ref import TensorRef
from resect.core.weight_values import WeightStats, read_weight_values, weight_stats

INTERNAL_KEYS = {"shared_object_id", "module", "registered_name"}  # Keras' bookkeeping, not settings
POLICY_CLASSES = {"DTypePolicy", "FloatDTypePolicy", "DTypePolicyMap"}


def _config_items(value: Any, parent: QTreeWidgetItem | QTreeWidget) -> None:
    """Fill a tree from a config: dicts and lists expand, leaves show as JSON-ish text.
    Keras' internals stay out: object ids and module paths, and a dtype policy reads as
    its name ("float32") rather than a nested object."""
    items = value.items() if isinstance(value, Mapping) else enumerate(value)
    for key, child in items:
        if key in INTERNAL_KEYS:
            continue
        if isinstance(child, Mapping) and child.get("class_name") in POLICY_CLASSES:
            child = (child.get("config") or {}).get("name", child.get("class_name"))
        item = QTreeWidgetItem(parent)
        item.setText(0, str(key))
        scalars = isinstance(child, list | tuple) and all(not isinstance(v, Mapping | list | tuple) for v in child)
        if isinstance(child, Mapping | list | tuple) and child and not scalars:
            if isinstance(child, Mapping) and set(child) >= {"class_name", "config"}:
                item.setText(1, str(child.get("class_name")))
            _config_items(child, item)
        else:
            item.setText(1, child if isinstance(child, str) else json.dumps(child, default=str))


def _table(headers: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: list[tuple[str, ...]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(text))


class WeightHistogram(QWidget):
    """Stats line and a pyqtgraph histogram of one weight's values."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stats_label = QLabel("Select a weight to see its values.", self)
        self.stats_label.setObjectName("weightStats")
        self.stats_label.setWordWrap(True)
        self.plot: pg.PlotWidget | None = None  # made on first use: it costs start-up time otherwise
        self.curve: pg.PlotDataItem | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addWidget(self.stats_label)
        self._layout.addStretch(1)
        self.stats: WeightStats | None = None
        self.counts: np.ndarray | None = None

    def _ensure_plot(self) -> tuple[pg.PlotWidget, pg.PlotDataItem]:
        if self.plot is None or self.curve is None:
            self.plot = pg.PlotWidget(background="w")
            self.plot.setMinimumHeight(120)
            self.plot.setMouseEnabled(x=False, y=False)
            self.plot.hideButtons()
            self.plot.getPlotItem().getAxis("left").setWidth(40)
            self.curve = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=(59, 125, 216, 120), pen=(59, 125, 216))
            self.plot.addItem(self.curve)
            self._layout.insertWidget(1, self.plot, 1)
        return self.plot, self.curve

    def clear(self, message: str = "Select a weight to see its values.") -> None:
        self.stats = None
        self.counts = None
        self.stats_label.setText(message)
        if self.plot is not None and self.curve is not None:
            self.curve.setData([], [])
            self.plot.hide()

    def show_values(self, name: str, values: np.ndarray) -> None:
        stats = weight_stats(values)
        self.stats = stats
        finite = np.asarray(values, dtype=np.float64).ravel()
        finite = finite[np.isfinite(finite)]
        if finite.size:
            counts, edges = np.histogram(finite, bins=min(80, max(10, int(np.sqrt(finite.size)))))
            self.counts = counts
            plot, curve = self._ensure_plot()
            curve.setData(edges, counts)
            plot.show()
        self.stats_label.setText(
            f"<b>{name}</b>: {count_text(stats.count)} values<br>"
            f"min {stats.minimum:.6g} · max {stats.maximum:.6g} · mean {stats.mean:.6g} · std {stats.std:.6g}"
        )


class PropertiesPanel(QWidget):
    """Follows ``document.selection``; reads weight values with ``runner``."""

    weight_loaded = Signal(str)  # the weight name, once its histogram is shown

    def __init__(self, document: ViewerDocument, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.runner = runner
        self.read_values: Callable[[str, Any], np.ndarray] = read_weight_values  # swappable for the editor

        self.header = QLabel(self)
        self.header.setObjectName("propertiesHeader")
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.header.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        self.calls = _table(("Call", "Inputs", "Input shapes", "Output shapes"))
        self.weights = _table(("Weight", "Shape", "Dtype", "Size", "Trainable"))
        self.weights.itemSelectionChanged.connect(self._weight_clicked)
        self.config = QTreeWidget(self)
        self.config.setHeaderLabels(["Config", "Value"])
        self.config.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.histogram = WeightHistogram(self)

        self.sections = splitter = QSplitter(Qt.Orientation.Vertical, self)
        for title, widget in (
            ("Calls", self.calls),
            ("Weights", self.weights),
            ("Values", self.histogram),
            ("Config", self.config),
        ):
            box = QWidget()
            inner = QVBoxLayout(box)
            inner.setContentsMargins(0, 2, 0, 0)
            label = QLabel(f"<b>{title}</b>")
            inner.addWidget(label)
            inner.addWidget(widget, 1)
            widget.setMinimumHeight(24)  # a short window (1024x640) squeezes the sections, not the window
            splitter.addWidget(box)
        row = self.weights.verticalHeader().defaultSectionSize()
        header = self.weights.horizontalHeader().sizeHint().height()
        self.weights_rows_shown = 3  # the weights section starts with three rows readable (1.5 before)
        splitter.setSizes([80, header + self.weights_rows_shown * row + 30, 200, 200])
        for index, stretch in enumerate((0, 0, 1, 1)):  # a short window takes from Values and Config first
            splitter.setStretchFactor(index, stretch)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.header)
        layout.addWidget(splitter, 1)

        self._weight_names: list[str] = []
        self._shown: tuple[Any, ...] = ()
        self._request = 0
        document.selection_changed.connect(self.refresh)
        document.graph_changed.connect(self.refresh)
        self.refresh()  # the empty window: its hint, not four empty tables

    # --- display ---------------------------------------------------------------
    def refresh(self) -> None:
        selection = self.document.selection
        graph = self.document.graph
        layer = self.document.selected_layer
        key = (id(graph), selection.layer_path, selection.tensor, selection.call)
        if key == self._shown and selection.weight is not None:
            return  # only the weight changed: the histogram request is already under way
        self._shown = key
        self.sections.setVisible(layer is not None)
        if layer is not None:
            self._show_layer(layer, self._graph_of(selection.layer_path))
        elif selection.tensor is not None and graph is not None:
            self._show_tensor(graph, selection.tensor)
        elif graph is not None:
            self._clear(self._model_text(graph))
        else:
            self._clear("No model open. File > Open, or drop a .keras / .h5 file here.")

    def _graph_of(self, path: tuple[str, ...]) -> ModelGraph | None:
        graph = self.document.graph
        for name in path[:-1]:
            graph = graph.layer(name).subgraph if graph is not None else None
        return graph

    def _model_text(self, graph: ModelGraph) -> str:
        """The model itself, shown while no layer is selected."""

        def tensors(refs: tuple[TensorRef, ...]) -> str:
            return "<br>".join(f"&nbsp;&nbsp;{ref.layer} {shape_text(graph.shape(ref))}" for ref in refs)

        path = self.document.path
        totals = graph_totals(graph)
        return (
            f"<span style='font-size:14pt'><b>{graph.name}</b></span> &nbsp; {graph.class_name} model "
            f"({graph.format})<br>{path}<br><br>"
            f"<b>Inputs</b><br>{tensors(graph.inputs)}<br><b>Outputs</b><br>{tensors(graph.outputs)}<br><br>"
            f"{len(graph.layers)} layers · {count_text(totals.total)} params "
            f"(trainable {count_text(totals.trainable)}, non-trainable {count_text(totals.non_trainable)})"
            f" · {size_text(totals.nbytes)}<br><br>"
            f"{_upgrade_text(graph)}"
            "<i>Click a layer in the tree or on the canvas; hover an edge for its shape.</i>"
        )

    def _clear(self, message: str) -> None:
        self.header.setText(message)
        _fill(self.calls, [])
        _fill(self.weights, [])
        self._weight_names = []
        self.config.clear()
        self.histogram.clear()

    def _show_layer(self, layer: Layer, graph: ModelGraph | None) -> None:
        path = " / ".join(self.document.selection.layer_path)
        problem = f"<br><span style='color:#b3261e'>{layer.problem}</span>" if layer.problem else ""
        root = self.document.graph
        rewrites = [
            r.detail for r in (root.upgrades if root is not None else ()) if r.layer == path.replace(" / ", "/")
        ]
        if rewrites:
            from html import escape  # html loads 2,000 entity names: not at start-up

            problem += "<br><span style='color:#6b4e00'>Keras 2 -> 3: " + escape("; ".join(rewrites)) + "</span>"
        self.header.setText(
            f"<span style='font-size:14pt'><b>{layer.name}</b></span> &nbsp; {layer.class_name}"
            f"{' (' + layer.module + ')' if layer.module and not layer.module.startswith('keras') else ''}<br>"
            f"{path + '<br>' if '/' in path else ''}"
            f"Params: <b>{count_text(layer.params)}</b> (trainable {count_text(layer.trainable_params)}, "
            f"non-trainable {count_text(layer.non_trainable_params)}) · "
            f"{'trainable' if layer.trainable else 'frozen'}{problem}"
        )
        rows = []
        call = self.document.selection.call  # one call of a shared layer picked on the canvas
        nodes = layer.nodes[call : call + 1] if call is not None and call < len(layer.nodes) else layer.nodes
        if len(nodes) < len(layer.nodes):
            self.header.setText(self.header.text() + f"<br>Call {call + 1} of {len(layer.nodes)} (weights shared)")
        for node in nodes:
            rows.append(
                (
                    str(node.index),
                    ", ".join(str(ref) for ref in node.inputs) or "—",
                    ", ".join(shape_text(s) for s in node.input_shapes) or "—",
                    ", ".join(shape_text(s) for s in node.output_shapes),
                )
            )
        _fill(self.calls, rows)
        self._weight_names = [w.name for w in layer.weights]
        self.weights.blockSignals(True)
        _fill(
            self.weights,
            [
                (
                    w.name,
                    shape_text(w.shape),
                    w.dtype,
                    f"{count_text(w.size)} ({size_text(w.nbytes)})",
                    str(w.trainable),
                )
                for w in layer.weights
            ],
        )
        self.weights.clearSelection()  # the last layer's row would stay lit, and a click on it do nothing
        self.weights.setCurrentCell(-1, -1)
        self.weights.blockSignals(False)
        self.config.clear()
        _config_items(dict(layer.config), self.config)
        self.config.expandToDepth(0)
        self.histogram.clear("Select a weight to see its values." if layer.weights else "This layer has no weights.")
        if self.document.selection.weight in self._weight_names:
            self.select_weight(self.document.selection.weight)

    def _show_tensor(self, graph: ModelGraph, tensor: TensorRef) -> None:
        from resect.core.render.scene import shape_of  # layer keys: "outer/inner" inside nested models

        shape = shape_of(graph, tensor)
        consumers = graph.consumers(tensor) if graph.has_layer(tensor.layer) else []
        self.header.setText(
            f"<span style='font-size:14pt'><b>Tensor {tensor}</b></span><br>"
            f"Shape: <b>{shape_text(shape)}</b><br>"
            f"Produced by: {tensor.layer} (call {tensor.node_index}, output {tensor.tensor_index})<br>"
            f"Consumed by: {', '.join(f'{name} (call {index})' for name, index in consumers) or 'nothing (a model output)'}"
        )
        _fill(self.calls, [])
        _fill(self.weights, [])
        self._weight_names = []
        self.config.clear()
        self.histogram.clear("")

    # --- weights ---------------------------------------------------------------
    def select_weight(self, name: str) -> None:
        """Select a weight row (as a click does) and load its histogram."""
        if name not in self._weight_names:
            raise KeyError(f"the selected layer has no weight {name!r}")
        row = self._weight_names.index(name)
        if self.weights.currentRow() != row:
            self.weights.selectRow(row)  # fires _weight_clicked
        else:
            self._load_weight(name)

    def _weight_clicked(self) -> None:
        row = self.weights.currentRow()
        if 0 <= row < len(self._weight_names):
            self._load_weight(self._weight_names[row])

    def _load_weight(self, name: str) -> None:
        layer = self.document.selected_layer
        if layer is None or not self.document.path:
            return
        weight = next(w for w in layer.weights if w.name == name)
        self.document.select_weight(name)
        self._request += 1
        request = self._request
        self.histogram.clear(f"Reading {name}…")

        def done(values: np.ndarray) -> None:
            if request == self._request:
                self.histogram.show_values(name, values)
                self.weight_loaded.emit(name)

        def failed(error: BaseException) -> None:
            if request == self._request:
                self.histogram.clear(f"Cannot read {name}: {error}")

        self.runner.submit(self.read_values, self.document.path, weight, on_done=done, on_error=failed, name="weight")


def _upgrade_text(graph: ModelGraph) -> str:
    """The Keras 2 -> 3 rewrites loading this model applies (``core.upgrade``), counted."""
    if not graph.upgrades:
        return ""
    from html import escape

    from resect.core.upgrade.report import summarize  # Keras 2 files only

    lines = "".join(f"&nbsp;&nbsp;{escape(line)}<br>" for line in summarize(graph.upgrades))
    return f"<b>Keras 2 file: rewrites for Keras 3</b><br>{lines}<br>"
