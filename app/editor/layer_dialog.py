"""Insert / replace layer dialog: a Keras layer class, a form generated from that class's
constructor (Keras' own signature and defaults, asked of the Keras worker process: this
process never imports TensorFlow) and the config as JSON, kept in step with the form.

Checked twice as you type: a dry run of the real edit in the engine (at once), then Keras
building the layer from the config in the worker (the export builds it the same way), so
``{"rate": 0.3, "bogus": 1}`` is refused before OK, with Keras' whole message."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from resect.core.errors import ResectError
from resect.core.known_layers import KERAS_LAYER_CLASSES
from resect.core.surgery.edits import Edit, LayerSpec

COMMON = ("Dropout", "Dense", "BatchNormalization", "Activation", "Conv2D", "GlobalAveragePooling2D", "Flatten")
TEMPLATES = {
    "Dropout": {"rate": 0.1},
    "Dense": {"units": 10, "activation": "relu"},
    "Activation": {"activation": "relu"},
    "Conv2D": {"filters": 16, "kernel_size": 3, "padding": "same"},
}
KERAS_CHECK_DELAY_MS = 200


def _parse(text: str) -> Any:
    """A form field's value: JSON when it reads as JSON (``3``, ``[3, 3]``, ``null``), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


class LayerDialog(QDialog):
    """``make_edit(spec) -> Edit``; ``check(edit)`` raises ``ResectError`` when it cannot apply;
    ``keras`` (an ``app.keras_client.KerasClient`` or ``None`` when Keras is off) gives the
    form and the Keras check."""

    def __init__(
        self,
        title: str,
        make_edit: Callable[[LayerSpec], Edit],
        check: Callable[[Edit], object],
        spec: LayerSpec | None = None,
        parent: QWidget | None = None,
        keras: Any = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("layerDialog")
        self.setWindowTitle(title)
        self.make_edit = make_edit
        self.check = check
        self.keras = keras
        self.signature: dict[str, Any] | None = None  # the worker's answer for the current class
        self.keras_verdict: tuple[str, dict[str, Any]] | None = None  # (checked text, answer)
        self.fields: dict[str, QLineEdit] = {}
        self._requests: list[int] = []
        self._syncing = False
        self.class_box = QComboBox(self)
        self.class_box.setEditable(True)
        names = list(COMMON) + sorted(set(KERAS_LAYER_CLASSES) - set(COMMON) - {"InputLayer"})
        self.class_box.addItems(names)
        self.doc_label = QLabel(self)
        self.doc_label.setWordWrap(True)
        self.form_box = QWidget(self)
        self.form_box.setObjectName("layerForm")
        self.form = QFormLayout(self.form_box)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.config_edit = QPlainTextEdit(self)
        self.config_edit.setObjectName("layerConfig")
        self.config_edit.setMaximumHeight(90)
        self.status = QLabel(self)
        self.status.setObjectName("layerStatus")
        self.status.setWordWrap(True)
        top = QFormLayout()
        top.addRow("Layer class", self.class_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.doc_label)
        layout.addWidget(self.form_box)
        layout.addWidget(QLabel("Config (JSON; the form above writes it)", self))
        layout.addWidget(self.config_edit)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)
        self._keras_timer = QTimer(self)
        self._keras_timer.setSingleShot(True)
        self._keras_timer.setInterval(KERAS_CHECK_DELAY_MS)
        self._keras_timer.timeout.connect(self._ask_keras)
        self.finished.connect(self._forget_requests)
        start = spec or LayerSpec("Dropout", TEMPLATES["Dropout"])
        self.class_box.setCurrentText(start.class_name)
        self.config_edit.setPlainText(json.dumps(dict(start.config), indent=1, default=str))
        self.class_box.currentTextChanged.connect(self._class_changed)
        self.config_edit.textChanged.connect(self._config_changed)
        self._ask_signature()
        self.validate()

    # --- the form, from Keras' signature ------------------------------------------------------
    def _request(self, op: str, payload: dict[str, Any], done: Callable[[dict[str, Any]], None]) -> None:
        def on_done(result: dict[str, Any]) -> None:
            if shiboken6.isValid(self):
                done(result)

        def on_error(error: Any) -> None:
            if shiboken6.isValid(self):
                self._keras_failed(str(error))

        self._requests.append(self.keras.request(op, payload, on_done=on_done, on_error=on_error, owner=self))

    def _forget_requests(self) -> None:
        if self.keras is not None:
            for request_id in self._requests:
                self.keras.cancel(request_id)
        self._requests.clear()

    def _ask_signature(self) -> None:
        name = self.class_box.currentText().strip()
        self.signature = None
        self._build_form([])
        if self.keras is None or not name:
            self.doc_label.setText("Keras is off: type the config as JSON (the engine checks it).")
            return
        self.doc_label.setText(f"Asking Keras for the parameters of {html.escape(name)}…")

        def done(result: dict[str, Any]) -> None:
            if result.get("class_name") != self.class_box.currentText().strip():
                return  # an answer about a class the user has left
            self.signature = result
            self.doc_label.setText(f"<b>keras.layers.{html.escape(result['class_name'])}</b>: "
                                   f"{html.escape(result.get('doc', ''))}")  # fmt: skip
            self._build_form(result["params"])

        self._request("layer_signature", {"class_name": name}, done)

    def _build_form(self, params: list[dict[str, Any]]) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields = {}
        for param in params:
            field = QLineEdit(self.form_box)
            field.setObjectName(f"param_{param['name']}")
            default = "required" if param["required"] else json.dumps(param["default"])
            field.setPlaceholderText(default)
            field.setToolTip(f"{param['name']}: {'required' if param['required'] else 'default ' + default}")
            field.textEdited.connect(lambda _text, name=param["name"]: self._field_edited(name))
            self.fields[param["name"]] = field
            self.form.addRow(param["name"] + (" *" if param["required"] else ""), field)
        self._fields_from_config()

    def _fields_from_config(self) -> None:
        try:
            config = self._config()
        except ValueError:
            return
        for name, field in self.fields.items():
            text = "" if name not in config else json.dumps(config[name])
            if field.text() != text and not field.hasFocus():
                field.setText(text)

    def _field_edited(self, name: str) -> None:
        try:
            config = self._config()
        except ValueError:
            config = {}
        text = self.fields[name].text().strip()
        if text:
            config[name] = _parse(text)
        else:
            config.pop(name, None)  # empty: Keras' default
        self._syncing = True
        try:
            self.config_edit.setPlainText(json.dumps(config, indent=1))
        finally:
            self._syncing = False
        self.validate()

    def _class_changed(self, name: str) -> None:
        if name in TEMPLATES:
            self.config_edit.setPlainText(json.dumps(TEMPLATES[name], indent=1))
        self._ask_signature()
        self.validate()

    def _config_changed(self) -> None:
        if not self._syncing:
            self._fields_from_config()
        self.validate()

    # --- the config and its checks ----------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        text = self.config_edit.toPlainText().strip() or "{}"
        config = json.loads(text)
        if not isinstance(config, dict):
            raise ValueError("the config must be a JSON object")
        return config

    def spec(self) -> LayerSpec:
        config = self._config()
        config.pop("name", None)  # the engine names new layers uniquely
        return LayerSpec(self.class_box.currentText().strip(), config)

    def edit(self) -> Edit:
        return self.make_edit(self.spec())

    def _key(self) -> str:
        return self.class_box.currentText().strip() + "\n" + self.config_edit.toPlainText()

    def validate(self) -> bool:
        """The engine's dry run now; then Keras' verdict (OK stays off until it agrees)."""
        try:
            self.check(self.edit())
        except (ValueError, ResectError) as error:
            self._show(False, str(error))
            return False
        if self.keras is None:
            self._show(True, "OK (checked by the engine; Keras is off)")
            return True
        verdict = self.keras_verdict
        if verdict is not None and verdict[0] == self._key():
            self._show(bool(verdict[1]["ok"]), verdict[1]["message"] or "OK (Keras builds this layer)")
            return bool(verdict[1]["ok"])
        self.status.setText("Checking with Keras…")
        self.ok_button.setEnabled(False)
        self._keras_timer.start()
        return False

    def _ask_keras(self) -> None:
        try:
            spec = self.spec()
        except ValueError:
            return
        key = self._key()

        def done(result: dict[str, Any]) -> None:
            self.keras_verdict = (key, result)
            if key == self._key():
                self.validate()

        self._request("validate_layer", {"class_name": spec.class_name, "config": dict(spec.config)}, done)

    def _keras_failed(self, message: str) -> None:
        self._show(False, f"Keras could not check this layer: {message}")

    def _show(self, ok: bool, message: str) -> None:
        """The whole message (Keras' refusals are long and the key part is often last)."""
        colour = "#2b8a3e" if ok else "#c92a2a"
        text = html.escape(message.strip()).replace("\n", "<br>")
        self.status.setText(f'<span style="color:{colour}">{text}</span>')
        self.ok_button.setEnabled(ok)
