"""Change an input's shape (and batch size). Before applying, it lists every layer with
weights and whether its trained weights are kept at the new shape, plus the resulting
output shapes. The engine's pure-Python estimate shows at once; Keras (in the worker
process, on the model it loaded for the session) then builds the layers at the new shape
and gives the final word."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resect.core.errors import ResectError
from resect.core.graph import ModelGraph
from resect.core.surgery.apply import apply_edit
from resect.core.surgery.edits import SetInputShape
from resect.core.surgery.preview import preview


def shape_text(shape: Any) -> str:
    if shape is None:
        return "?"
    return "×".join("?" if d is None else str(d) for d in shape[1:])


def parse_shape(text: str) -> tuple[int | None, ...]:
    """``"128, 128, 3"`` or ``"128x128x3"`` -> ``(128, 128, 3)``; ``?`` / ``None`` for a free axis."""
    parts = [p for p in text.replace("x", ",").replace("×", ",").replace(" ", ",").split(",") if p]
    if not parts:
        raise ValueError("give a shape like 128, 128, 3 (without the batch axis)")
    dims: list[int | None] = []
    for part in parts:
        if part in ("?", "None", "none"):
            dims.append(None)
        elif part.isdigit() and int(part) > 0:
            dims.append(int(part))
        else:
            raise ValueError(f"bad dimension {part!r}: use positive integers or ?")
    return tuple(dims)


@dataclass
class WeightReport:
    """Per layer with weights: kept or not, and the outputs' shapes after the change."""

    kept: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (tensor, shape text)
    source: str = "estimate"  # "estimate" (pure Python) or "keras"


def estimate(original: ModelGraph, base: ModelGraph, edit: SetInputShape) -> WeightReport:
    """Pure-Python report: weights whose recorded shapes no longer fit the new input."""
    edited = apply_edit(base, edit)
    lost = set(preview(original, edited).weights_not_fitting)
    report = WeightReport(source="estimate")
    for layer in edited.layers:
        if layer.weights and layer.origin is not None:
            (report.lost if layer.name in lost else report.kept).append(layer.name)
    report.outputs = [(str(ref), shape_text(edited.shape(ref))) for ref in edited.outputs]
    return report


def keras_report(result: dict[str, Any]) -> WeightReport:
    """The Keras worker's answer (``core.keras_backend.service.input_report``) as a report."""
    outputs = [
        (str(tensor), shape_text(None if shape is None else tuple(shape))) for tensor, shape in result["outputs"]
    ]
    return WeightReport(list(result["kept"]), list(result["lost"]), outputs, source="keras")


class InputDialog(QDialog):
    """Builds a ``SetInputShape`` edit; ``reinitialize`` lists exactly the layers shown as not kept."""

    def __init__(
        self,
        original: ModelGraph,
        graph: ModelGraph,
        runner: Any,
        keras_model: Any,
        parent: QWidget | None = None,
        input_name: str | None = None,
    ) -> None:  # noqa: E501
        super().__init__(parent)
        self.setObjectName("inputDialog")
        self.setWindowTitle("Change input shape")
        self.resize(560, 520)
        self.original, self.graph, self.runner, self.keras_model = original, graph, runner, keras_model
        self.report: WeightReport | None = None
        self._request = 0
        self._remote_id: int | None = None
        self.finished.connect(self._forget_request)
        self.input_box = QComboBox(self)
        for ref in graph.inputs:
            self.input_box.addItem(ref.layer)
        if input_name:
            self.input_box.setCurrentText(input_name)
        self.shape_edit = QLineEdit(self)
        self.shape_edit.setObjectName("shapeEdit")
        self.batch = QSpinBox(self)
        self.batch.setRange(0, 1_000_000)
        self.batch.setSpecialValueText("any (None)")
        self.status = QLabel(self)
        self.status.setObjectName("inputStatus")
        self.status.setWordWrap(True)
        self.outputs_label = QLabel(self)
        self.outputs_label.setObjectName("inputOutputs")
        self.outputs_label.setWordWrap(True)
        self.table = QTreeWidget(self)
        self.table.setObjectName("weightsTable")
        self.table.setHeaderLabels(["Layer", "Weights"])
        self.table.setRootIsDecorated(False)
        form = QFormLayout()
        form.addRow("Input", self.input_box)
        form.addRow("Shape (no batch axis)", self.shape_edit)
        form.addRow("Batch size", self.batch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Apply")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.outputs_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.input_box.currentTextChanged.connect(self._input_changed)
        self.shape_edit.textChanged.connect(self.recompute)
        self.batch.valueChanged.connect(self.recompute)
        self._input_changed(self.input_box.currentText())

    def _input_changed(self, name: str) -> None:
        if not name:
            return
        shape = self.graph.shape(self.graph.resolve(name))
        self.shape_edit.setText(", ".join("?" if d is None else str(d) for d in (shape or (None,))[1:]))

    def edit(self) -> SetInputShape:
        batch = self.batch.value() or None
        lost = tuple(self.report.lost) if self.report is not None else ()
        return SetInputShape(self.input_box.currentText(), parse_shape(self.shape_edit.text()), batch, lost)

    @property
    def busy(self) -> bool:
        return self._request != 0

    def recompute(self) -> None:
        """Estimate now; ask Keras in the background (a newer request supersedes an older one)."""
        try:
            edit = self.edit()
            report = estimate(self.original, self.graph, edit)
        except (ValueError, ResectError) as error:
            self._request = 0
            self.ok_button.setEnabled(False)
            self.status.setText(f'<span style="color:#c92a2a">{str(error).splitlines()[0]}</span>')
            return
        self._show(report)
        if self.keras_model is None:
            self.status.setText("Estimated without Keras (the model is still loading or could not load).")
            return
        from resect.core.keras_backend.service import encode_input_job

        self._request += 1
        request = self._request
        self.status.setText("Keras is checking the weights at the new shape…")

        def done(result: dict[str, Any]) -> None:
            if request == self._request:
                self._request = 0
                self._show(keras_report(result))
                self.status.setText("Checked with Keras.")

        def failed(error: str) -> None:
            if request == self._request:
                self._request = 0
                self.ok_button.setEnabled(False)
                text = str(error).splitlines()[0] if str(error) else "no reason given"
                self.status.setText(f'<span style="color:#c92a2a">Keras cannot build it: {text}</span>')

        client = self.keras_model.client
        if self._remote_id is not None:
            client.cancel(self._remote_id)  # superseded: skip it if it has not started
        try:
            job = encode_input_job(self.graph, edit)
        except Exception as error:  # noqa: BLE001 - the estimate stays; say why Keras was not asked
            failed(f"{type(error).__name__}: {error}")
            return
        self._remote_id = client.request(
            "input_report",
            {"path": self.keras_model.path, "job": job},
            on_done=done,
            on_error=failed,
            owner=self.parent(),
        )

    def _forget_request(self) -> None:
        """The dialog closed: a late answer must not touch it."""
        self._request = 0
        if self._remote_id is not None and self.keras_model is not None:
            self.keras_model.client.cancel(self._remote_id)
        self._remote_id = None

    def _show(self, report: WeightReport) -> None:
        self.report = report
        self.ok_button.setEnabled(True)
        self.table.clear()
        for name in report.lost:
            item = QTreeWidgetItem([name, "not kept: fresh weights"])
            item.setForeground(1, Qt.GlobalColor.darkRed)
            self.table.addTopLevelItem(item)
        for name in report.kept:
            self.table.addTopLevelItem(QTreeWidgetItem([name, "kept"]))
        self.table.resizeColumnToContents(0)
        outs = ", ".join(f"{tensor} → {shape}" for tensor, shape in report.outputs)
        source = "Keras" if report.source == "keras" else "estimate"
        self.outputs_label.setText(
            f"<b>{len(report.kept)}</b> layers keep their weights, <b>{len(report.lost)}</b> do not. "
            f"Output shape ({source}): {outs}"
        )
