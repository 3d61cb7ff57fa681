"""Insert / replace layer dialog: a Keras layer class and its config as JSON, checked
by a dry run of the real edit as you type."""

from __future__ import annotations

import json
from collections.abc import Callable

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from core.errors import ResectError
from core.known_layers import KERAS_LAYER_CLASSES
from core.surgery.edits import Edit, LayerSpec

COMMON = ("Dropout", "Dense", "BatchNormalization", "Activation", "Conv2D", "GlobalAveragePooling2D", "Flatten")
TEMPLATES = {
    "Dropout": {"rate": 0.1},
    "Dense": {"units": 10, "activation": "relu"},
    "Activation": {"activation": "relu"},
    "Conv2D": {"filters": 16, "kernel_size": 3, "padding": "same"},
}


class LayerDialog(QDialog):
    """``make_edit(spec) -> Edit``; ``check(edit)`` raises ``ResectError`` when it cannot apply."""

    def __init__(
        self,
        title: str,
        make_edit: Callable[[LayerSpec], Edit],
        check: Callable[[Edit], object],
        spec: LayerSpec | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("layerDialog")
        self.setWindowTitle(title)
        self.make_edit = make_edit
        self.check = check
        self.class_box = QComboBox(self)
        self.class_box.setEditable(True)
        names = list(COMMON) + sorted(set(KERAS_LAYER_CLASSES) - set(COMMON) - {"InputLayer"})
        self.class_box.addItems(names)
        self.config_edit = QPlainTextEdit(self)
        self.config_edit.setObjectName("layerConfig")
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Layer class", self.class_box)
        form.addRow("Config (JSON)", self.config_edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        start = spec or LayerSpec("Dropout", TEMPLATES["Dropout"])
        self.class_box.setCurrentText(start.class_name)
        self.config_edit.setPlainText(json.dumps(dict(start.config), indent=1, default=str))
        self.class_box.currentTextChanged.connect(self._class_changed)
        self.config_edit.textChanged.connect(self.validate)
        self.validate()

    def _class_changed(self, name: str) -> None:
        if name in TEMPLATES:
            self.config_edit.setPlainText(json.dumps(TEMPLATES[name], indent=1))
        self.validate()

    def spec(self) -> LayerSpec:
        text = self.config_edit.toPlainText().strip() or "{}"
        config = json.loads(text)
        if not isinstance(config, dict):
            raise ValueError("the config must be a JSON object")
        config.pop("name", None)  # the engine names new layers uniquely
        return LayerSpec(self.class_box.currentText().strip(), config)

    def edit(self) -> Edit:
        return self.make_edit(self.spec())

    def validate(self) -> bool:
        try:
            self.check(self.edit())
        except (ValueError, ResectError) as error:
            self.status.setText(f'<span style="color:#c92a2a">{str(error).splitlines()[0]}</span>')
            self.ok_button.setEnabled(False)
            return False
        self.status.setText('<span style="color:#2b8a3e">OK</span>')
        self.ok_button.setEnabled(True)
        return True
