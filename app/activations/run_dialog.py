"""'Run data...': one source per model input (an image, a .npy/.npz array, random data) and
the image preprocessing; the last choice is remembered per model (``QSettings``)."""

from __future__ import annotations

import json
import os
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

KINDS = (("random", "Random data"), ("image", "Image (PNG/JPEG)"), ("array", "Array (.npy / .npz)"))
PREPROCESS = (
    ("auto", "automatic (the keras.applications family's own, else none)"),
    ("none", "none (0..255)"),
    ("unit", "scale to [0, 1]"),
    ("family", "keras.applications preprocess_input"),
)


def settings_key(model_path: str) -> str:
    return "activations/" + os.path.abspath(model_path).replace("/", "|")


def remembered(settings: QSettings, model_path: str) -> dict[str, Any]:
    """``{"sources": {input: [kind, path]}, "preprocess": ...}`` last used for this model."""
    try:
        return dict(json.loads(str(settings.value(settings_key(model_path), "{}"))))
    except (ValueError, TypeError):
        return {}


def remember(settings: QSettings, model_path: str, choice: dict[str, Any]) -> None:
    settings.setValue(settings_key(model_path), json.dumps(choice))


class InputRow(QWidget):
    """Kind and file for one input."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.kind = QComboBox(self)
        for key, label in KINDS:
            self.kind.addItem(label, key)
        self.path = QLineEdit(self)
        self.path.setPlaceholderText("file")
        self.browse = QPushButton("Browse…", self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.kind)
        layout.addWidget(self.path, 1)
        layout.addWidget(self.browse)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.browse.clicked.connect(self._browse)
        self._kind_changed()

    def set_choice(self, kind: str, path: str) -> None:
        index = self.kind.findData(kind)
        if index >= 0:
            self.kind.setCurrentIndex(index)
        self.path.setText(path)

    def choice(self) -> tuple[str, str]:
        return str(self.kind.currentData()), self.path.text().strip()

    def source(self) -> str:
        kind, path = self.choice()
        return "random" if kind == "random" else path

    def _kind_changed(self) -> None:
        needs_file = self.kind.currentData() != "random"
        self.path.setEnabled(needs_file)
        self.browse.setEnabled(needs_file)

    def _browse(self) -> None:
        pattern = "Images (*.png *.jpg *.jpeg)" if self.kind.currentData() == "image" else "Arrays (*.npy *.npz)"
        path, _ = QFileDialog.getOpenFileName(self, f"Data for input {self.name}", self.path.text(), pattern)
        if path:
            self.path.setText(path)


class RunDataDialog(QDialog):
    """Asks for the data of each input; ``job_sources()`` is what the worker takes."""

    def __init__(
        self, inputs: list[tuple[str, str]], settings: QSettings, model_path: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Run data through the model")
        self.settings = settings
        self.model_path = model_path
        self.rows: list[InputRow] = []
        form = QFormLayout()
        last = remembered(settings, model_path)
        for name, shape in inputs:
            row = InputRow(name, self)
            kind, path = (last.get("sources", {}).get(name) or ["random", ""])[:2]
            row.set_choice(kind, path)
            form.addRow(QLabel(f"{name} {shape}", self), row)
            self.rows.append(row)
        self.preprocess = QComboBox(self)
        for key, label in PREPROCESS:
            self.preprocess.addItem(label, key)
        index = self.preprocess.findData(last.get("preprocess", "auto"))
        self.preprocess.setCurrentIndex(max(index, 0))
        form.addRow("Image preprocessing", self.preprocess)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Run")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)

    def job_sources(self) -> dict[str, str]:
        return {row.name: row.source() for row in self.rows}

    def accept(self) -> None:
        remember(
            self.settings,
            self.model_path,
            {"sources": {row.name: list(row.choice()) for row in self.rows}, "preprocess": self.preprocess_choice()},
        )
        super().accept()

    def preprocess_choice(self) -> str:
        return str(self.preprocess.currentData())
