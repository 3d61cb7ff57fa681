"""Replace head dialog: pooling, dropout, units, activation, with presets and the new
head's parameter count as you type (a dry run of the real ``ReplaceHead`` edit)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from resect.core.errors import ResectError
from resect.core.graph import ModelGraph
from resect.core.surgery.apply import apply_edit
from resect.core.surgery.edits import LayerSpec, ReplaceHead

POOLING = ("none", "average", "max", "flatten")
ACTIVATIONS = ("softmax", "sigmoid", "linear", "relu", "tanh")
PRESETS = {  # name: (pooling, dropout, units or None = keep, activation)
    "N-class softmax": ("average", 0.0, None, "softmax"),
    "Binary (sigmoid)": ("average", 0.0, 1, "sigmoid"),
    "Regression (linear)": ("average", 0.0, 1, "linear"),
}


def pooling_spec(kind: str, rank: int | None) -> LayerSpec | None:
    """The pooling layer for a tensor of ``rank`` (batch axis included): 2D for images."""
    if kind == "none":
        return None
    if kind == "flatten":
        return LayerSpec("Flatten", {})
    dims = {3: "1D", 4: "2D", 5: "3D"}.get(rank or 4, "2D")
    return LayerSpec(f"Global{'Average' if kind == 'average' else 'Max'}Pooling{dims}", {})


def head_specs(pooling: str, rate: float, units: int, activation: str, rank: int | None) -> tuple[LayerSpec, ...]:
    specs = [pooling_spec(pooling, rank)]
    if rate > 0:
        specs.append(LayerSpec("Dropout", {"rate": round(rate, 3)}))
    specs.append(LayerSpec("Dense", {"units": units, "activation": activation}))
    return tuple(s for s in specs if s is not None)


class HeadDialog(QDialog):
    """Build a ``ReplaceHead`` edit at tensor ``at`` of ``graph`` (the edited graph)."""

    def __init__(self, graph: ModelGraph, at: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("headDialog")
        self.setWindowTitle("Replace head")
        self.graph = graph
        self.at = at
        shape = graph.shape(graph.resolve(at))
        self.rank = len(shape) if shape is not None else None
        dims = "?" if shape is None else "×".join("?" if d is None else str(d) for d in shape[1:])
        intro = QLabel(f"Everything after <b>{at}</b> ({dims}) is dropped; the new head starts there.", self)
        intro.setWordWrap(True)

        self.preset = QComboBox(self)
        self.preset.addItems(["(custom)", *PRESETS])
        self.pooling = QComboBox(self)
        self.pooling.addItems(POOLING)
        self.pooling.setCurrentText("average" if (self.rank or 0) > 2 else "none")
        self.dropout = QDoubleSpinBox(self)
        self.dropout.setRange(0.0, 0.95)
        self.dropout.setSingleStep(0.1)
        self.dropout.setDecimals(2)
        self.units = QSpinBox(self)
        self.units.setRange(1, 1_000_000)
        self.units.setValue(2)
        self.activation = QComboBox(self)
        self.activation.addItems(ACTIVATIONS)
        self.params = QLabel(self)
        self.params.setObjectName("headParams")
        self.summary = QLabel(self)
        self.summary.setObjectName("headSummary")
        self.summary.setWordWrap(True)

        presets_row = QHBoxLayout()
        presets_row.addWidget(self.preset, 1)
        for name in PRESETS:
            button = QPushButton(name.split(" ")[0], self)
            button.setToolTip(name)
            button.clicked.connect(lambda _=False, n=name: self.apply_preset(n))
            presets_row.addWidget(button)
        form = QFormLayout()
        form.addRow("Preset", presets_row)
        form.addRow("Pooling", self.pooling)
        form.addRow("Dropout rate", self.dropout)
        form.addRow("Units", self.units)
        form.addRow("Activation", self.activation)
        form.addRow("New head", self.params)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Replace head")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(buttons)

        self.preset.currentTextChanged.connect(self.apply_preset)
        for signal in (
            self.pooling.currentTextChanged,
            self.dropout.valueChanged,
            self.units.valueChanged,
            self.activation.currentTextChanged,
        ):
            signal.connect(self.update_count)
        self.apply_preset("N-class softmax")

    def apply_preset(self, name: str) -> None:
        if name not in PRESETS:
            return
        pooling, rate, units, activation = PRESETS[name]
        if (self.rank or 0) <= 2:
            pooling = "none"
        self.pooling.setCurrentText(pooling)
        self.dropout.setValue(rate)
        if units is not None:
            self.units.setValue(units)
        self.activation.setCurrentText(activation)
        self.preset.blockSignals(True)
        self.preset.setCurrentText(name)
        self.preset.blockSignals(False)
        self.update_count()

    def edit(self) -> ReplaceHead:
        specs = head_specs(
            self.pooling.currentText(),
            self.dropout.value(),
            self.units.value(),
            self.activation.currentText(),
            self.rank,
        )
        return ReplaceHead(self.at, specs)

    def head_params(self) -> int | None:
        """Parameters of the new layers, from a dry run of the edit (``None``: unknown)."""
        edit = self.edit()
        before = {layer.name for layer in self.graph.layers}
        after = apply_edit(self.graph, edit)
        new = [layer for layer in after.layers if layer.name not in before and layer.origin is None]
        if any(not layer.weights and layer.class_name == "Dense" for layer in new):
            return None
        return sum(layer.params for layer in new)

    def update_count(self) -> None:
        try:
            count = self.head_params()
        except ResectError as error:
            self.params.setText(f'<span style="color:#c92a2a">{error}</span>')
            self.ok_button.setEnabled(False)
            return
        self.ok_button.setEnabled(True)
        self.params.setText("? parameters (needs Keras)" if count is None else f"<b>{count:,}</b> parameters")
        self.summary.setText(" → ".join(spec.label() for spec in self.edit().layers))
