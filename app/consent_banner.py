"""The consent banner above the canvas: the model holds classes Keras will not load
without the user's code (their own registered layers) or without running the file's
Lambda code. It names each class and its module and offers the two consents in words;
the questions it asks live here too."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from resect.core.graph import ModelGraph

__all__ = ["Blocked", "CodeSourceDialog", "ConsentBanner", "blocked_classes", "confirm_lambda"]


@dataclass(frozen=True)
class Blocked:
    """One class Keras will not load as things stand, and the layers that use it."""

    class_name: str  # as the file names it (the registered name, ``acme>Scale``, when there is one)
    module: str | None
    layers: tuple[str, ...]

    @property
    def is_lambda(self) -> bool:
        return self.class_name == "Lambda"


def blocked_classes(graph: ModelGraph | None) -> list[Blocked]:
    """The classes of ``graph`` (nested models included) that need the user's consent:
    a layer the reader flagged, grouped by class and module, in the order they appear."""
    if graph is None:
        return []
    groups: dict[tuple[str, str | None], list[str]] = {}
    for path, layer in graph.iter_layers_deep():
        if layer.problem:
            key = (
                "Lambda" if layer.class_name == "Lambda" else str(layer.registered_name or layer.class_name),
                layer.module,
            )
            groups.setdefault(key, []).append("/".join(path))
    return [Blocked(name, module, tuple(layers)) for (name, module), layers in groups.items()]


def _describe(blocked: list[Blocked]) -> str:
    from html import escape  # html loads 2,000 entity names: not at start-up

    parts = []
    for item in blocked:
        layers = ", ".join(item.layers[:3]) + (f" and {len(item.layers) - 3} more" if len(item.layers) > 3 else "")
        where = f" from module <code>{escape(item.module)}</code>" if item.module and not item.is_lambda else ""
        parts.append(f"<b>{escape(item.class_name)}</b>{where} (layer {escape(layers)})")
    return "; ".join(parts)


class ConsentBanner(QWidget):
    """Names the blocked classes and offers "Load code for these layers..." and, for
    Lambda layers, "Run this file's Lambda code"; nothing runs until the user answers."""

    load_code_requested = Signal()
    run_lambda_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("consentBanner")
        self.label = QLabel(self)
        self.label.setObjectName("consentText")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.load_button = QPushButton("Load code for these layers…", self)
        self.load_button.setObjectName("consentLoadCode")
        self.load_button.clicked.connect(self.load_code_requested)
        self.lambda_button = QPushButton("Run this file's Lambda code…", self)
        self.lambda_button.setObjectName("consentRunLambda")
        self.lambda_button.clicked.connect(self.run_lambda_requested)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Hide (the model stays flagged; nothing runs)")
        close.clicked.connect(self.hide)
        buttons = QVBoxLayout()
        buttons.setSpacing(2)
        buttons.addWidget(self.load_button)
        buttons.addWidget(self.lambda_button)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addLayout(buttons)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.setStyleSheet("#consentBanner { background: #fde2d4; border-bottom: 1px solid #d9825b; }")
        self.blocked: list[Blocked] = []
        self.hide()

    def show_blocked(self, blocked: list[Blocked]) -> None:
        """Show the banner for ``blocked`` (hidden when empty)."""
        self.blocked = list(blocked)
        if not blocked:
            self.hide()
            return
        code = [b for b in blocked if not b.is_lambda]
        lambdas = [b for b in blocked if b.is_lambda]
        text = []
        if code:
            text.append(
                f"Keras cannot load {_describe(code)} without their Python code. Nothing has run: the graph "
                "shows what the file describes; Keras' shapes, export and activations need that code."
            )
        if lambdas:
            text.append(
                f"{_describe(lambdas)}: a Lambda holds Python code stored in the file; it runs only if you allow it."
            )
        self.label.setText("<br>".join(text))
        self.load_button.setVisible(bool(code))
        self.lambda_button.setVisible(bool(lambdas))
        self.show()


class CodeSourceDialog(QDialog):
    """Where the code of the blocked layers is: a ``.py`` file, or an importable module."""

    def __init__(self, blocked: list[Blocked], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("codeSourceDialog")
        self.setWindowTitle("Load code for these layers")
        names = ", ".join(f"{b.class_name} ({b.module})" if b.module else b.class_name for b in blocked)
        intro = QLabel(
            f"Layers of class {names} need their Python code. Give the .py file that defines and registers "
            "them (with @keras.saving.register_keras_serializable), or the name of a module installed in "
            "Resect's environment. It is imported in Resect's Keras worker process only, and remembered for "
            "this model file until you revoke it (File > Revoke code consent).",
            self,
        )
        intro.setWordWrap(True)
        self.source = QLineEdit(self)
        self.source.setObjectName("codeSource")
        self.source.setPlaceholderText("path/to/layers.py or a module name")
        browse = QPushButton("Choose file…", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.source, 1)
        row.addWidget(browse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.load_button = self.buttons.addButton("Load this code", QDialogButtonBox.ButtonRole.AcceptRole)
        self.load_button.setEnabled(False)
        self.source.textChanged.connect(lambda text: self.load_button.setEnabled(bool(text.strip())))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(row)
        layout.addWidget(self.buttons)
        self.resize(560, self.sizeHint().height())

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Python file with the layers' code", "", "Python (*.py)")
        if path:
            self.source.setText(path)

    def value(self) -> str:
        return self.source.text().strip()


def ask_code_source(parent: QWidget, blocked: list[Blocked]) -> str:
    """The file or module the user gives for ``blocked``; "" when cancelled."""
    dialog = CodeSourceDialog([b for b in blocked if not b.is_lambda], parent)
    try:
        return dialog.value() if dialog.exec() == QDialog.DialogCode.Accepted else ""
    finally:
        dialog.deleteLater()


def confirm_lambda(parent: QWidget, blocked: list[Blocked], file_name: str) -> bool:
    """Ask, in words, before the file's Lambda code may run."""
    layers = ", ".join(layer for b in blocked if b.is_lambda for layer in b.layers)
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Run this file's Lambda code?")
    box.setText(f"Run the Python code stored in {file_name}?")
    box.setInformativeText(
        f"The Lambda layers ({layers}) hold Python code saved inside the model file. Allowing it loads the "
        "model with Keras' safe mode off: that code runs in Resect's Keras worker process, with your user's "
        "permissions, whenever the model is loaded, exported or run. Allow it only for a file whose author "
        "you trust. Resect remembers this for this file until you revoke it or the file changes."
    )
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Yes).setText("Run this file's Lambda code")
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    try:
        return box.exec() == QMessageBox.StandardButton.Yes
    finally:
        box.deleteLater()
