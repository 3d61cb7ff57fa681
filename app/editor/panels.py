"""The editor's passive views: the live preview strip and the history dock.

Both only read: the strip shows ``Document.preview`` (pure Python, no TensorFlow), the
history is Qt's own ``QUndoView`` over the undo stack.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QUndoView, QVBoxLayout, QWidget

from resect.core.surgery.preview import Preview


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _delta(value: int | None) -> str:
    if value is None:
        return ""
    if value == 0:
        return " (±0)"
    colour = "#2b8a3e" if value < 0 else "#c92a2a"
    return f' <span style="color:{colour}">({value:+,})</span>'


def legend_html() -> str:
    """Coloured keys for the canvas overlays (same colours as ``overlays.STYLES``)."""
    from resect.app.editor.overlays import LEGEND, STYLES

    parts = []
    for kind, label in LEGEND:
        if kind == "removed":
            continue
        colour = STYLES[kind][0]
        mark = "━" if kind == "crossing" else "■"
        parts.append(f'<span style="color:{colour}">{mark}</span> {label.split(" (")[0]}')
    return '<div style="color:#555">' + " &nbsp;".join(parts) + "</div>"


class PreviewStrip(QFrame):
    """Total / trainable / non-trainable parameters with the delta against the original,
    and the edited model's inputs and outputs with their shapes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("previewStrip")
        self.setStyleSheet("#previewStrip { background: #f4f6fa; border-top: 1px solid #d0d7e2; }")
        self.params_label = QLabel(self)
        self.params_label.setObjectName("previewParams")
        self.io_label = QLabel(self)
        self.io_label.setObjectName("previewIO")
        self.io_label.setWordWrap(False)
        self.edits_label = QLabel(self)
        self.edits_label.setObjectName("previewEdits")
        self.legend = QLabel(legend_html(), self)
        self.legend.setObjectName("previewLegend")
        self.legend.setToolTip("Canvas marks of the editor")
        for label in (self.params_label, self.io_label, self.legend):
            # long texts must never widen the window (they would squeeze the docks away)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            label.setMinimumWidth(40)
        top = QHBoxLayout()
        top.addWidget(self.params_label, 1)
        top.addWidget(self.edits_label)
        # the legend has a line of its own: beside the inputs it was cut ("cut p") and the
        # inputs ran into it ("(28x2■ new")
        bottom = QHBoxLayout()
        bottom.addWidget(self.io_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 3, 10, 3)
        layout.setSpacing(1)
        layout.addLayout(top)
        layout.addLayout(bottom)
        layout.addWidget(self.legend)
        self.legend.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.legend.setWordWrap(True)  # a narrow window wraps it rather than cutting it
        self.preview: Preview | None = None

    def show_preview(self, preview: Preview | None, edit_count: int = 0) -> None:
        self.preview = preview
        if preview is None:
            self.params_label.setText("")
            self.io_label.setText("")
            self.edits_label.setText("")
            return
        mark = "≈" if preview.estimated and not preview.needs_keras else ""  # proved rules, not Keras' yet
        self.params_label.setText(
            f"<b>Params</b> {mark}{_count(preview.total_params)}{_delta(preview.delta_total)} · "
            f"trainable {mark}{_count(preview.trainable_params)}{_delta(preview.delta_trainable)} · "
            f"non-trainable {mark}{_count(preview.non_trainable_params)}{_delta(preview.delta_non_trainable)}"
        )
        if preview.needs_keras:
            why = f"? : Keras is counting {', '.join(preview.needs_keras)}"
        elif preview.estimated:
            why = f"≈ estimated (proved rules) until Keras confirms {', '.join(preview.estimated)}"
        else:
            why = "Exact: counts from the file and Keras"
        self.params_label.setToolTip(why)
        ins = ", ".join(map(str, preview.inputs))
        outs = ", ".join(map(str, preview.outputs))
        self.io_label.setText(f"<b>In</b> {ins} &nbsp; <b>Out</b> {outs}")
        self.io_label.setToolTip(f"Inputs: {ins}\nOutputs: {outs}")
        extra = []
        if preview.needs_keras:
            extra.append(f"{len(preview.needs_keras)} new layer(s) not counted yet (Keras)")
        if preview.reinitialized:
            extra.append(f"{len(preview.reinitialized)} layer(s) re-initialised")
        if preview.weights_not_fitting:
            extra.append(f"{len(preview.weights_not_fitting)} layer(s) get fresh weights")
        changes = f"{edit_count} edit{'s' if edit_count != 1 else ''}" if edit_count else "original"
        self.edits_label.setText(" · ".join([*extra, changes]))

    @property
    def text(self) -> str:
        """Everything the strip says, as plain text (tests, screen readers)."""
        from PySide6.QtGui import QTextDocument

        doc = QTextDocument()
        doc.setHtml(f"{self.params_label.text()} {self.io_label.text()} {self.edits_label.text()}")
        return doc.toPlainText()


class HistoryPanel(QWidget):
    """Every edit by name (``QUndoView``); clicking a row jumps there (undo / redo)."""

    def __init__(self, stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = QUndoView(stack, self)
        self.view.setObjectName("historyView")
        self.view.setEmptyLabel("Original model")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
