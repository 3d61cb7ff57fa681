"""Export dialog: format, path, verify, the deployment formats' options (batch size, ONNX
opset, float16 weights) with the tolerance verification holds them to; progress bar with
cancel; the result (file size, parameters, largest difference per output, and the runtime
that computed it) and "open the exported model".

"Export architecture only (fresh weights)" appends a ``reinitialize`` ``all`` edit to the
exported edits, so the pipeline, the recipe it runs and ``--verify`` treat it as that edit
does (verification compares only what fresh weights leave equal, and says so). A
successful export of the edited model (trained weights kept) saves the work:
``work_saved`` carries the document's edits it wrote.

The formats and their options come from ``core.keras_backend.formats`` (the one table).

The work is ``core.keras_backend.pipeline.run_apply`` in the Keras worker process (see
``app.keras_client``: the UI thread never waits for Keras): it re-reads the file, applies
the document's edits, builds, writes to a temporary name, verifies and only then renames
onto the target, so a cancel or an error leaves no file behind.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

import resect.app.dialogs
from resect.core.errors import ResectError
from resect.core.keras_backend.formats import FORMATS as FORMAT_TABLE
from resect.core.keras_backend.formats import ExportOptions
from resect.core.surgery.edits import Reinitialize

FORMATS = tuple((spec.label, spec.name) for spec in FORMAT_TABLE.values())
OPENABLE = ("keras", "h5", "savedmodel")  # what Resect itself can open again
STAGE_TEXT = {
    "reading": "Reading the file…",
    "loading": "Loading the model in Keras…",
    "building": "Building the edited model…",
    "writing": "Writing…",
    "verifying": "Verifying against the original…",
    "done": "Done",
}


class ExportWorker(QObject):
    """Runs ``run_apply`` in the Keras worker process (``app.keras_client``, an ``export``
    request): progress arrives on the UI thread, cancel is one line to the worker. Without
    a client (a frozen bundle has no Python to start) it falls back to a thread."""

    progress = Signal(str, int, int)
    finished = Signal(object)  # ApplyResult
    failed = Signal(str)  # one line
    cancelled = Signal()

    def __init__(
        self,
        model_path: str,
        edits: list[Any],
        out: str,
        fmt: str,
        verify: bool,
        force: bool,
        client: Any = None,
        owner: object = None,
        options: ExportOptions | None = None,
    ) -> None:
        super().__init__()
        self.job = {
            "model": model_path,
            "edits": [edit.to_json() for edit in edits],
            "out": out,
            "format": fmt,
            "verify": verify,
            "force": force,
            "options": (options or ExportOptions()).to_json(),
        }
        self.client = client
        self.owner = owner  # the window: its closing drops this export (KerasClient.forget)
        self.request_id: int | None = None
        self.thread: threading.Thread | None = None
        self.cancel_event = threading.Event()

    # --- worker process mode ---------------------------------------------------------
    def start(self) -> None:
        if self.client is None:
            self.thread = threading.Thread(target=self._run_in_thread, name="resect-export", daemon=True)
            self.thread.start()
            return
        from resect.core.keras_backend.service import result_from_json

        self.request_id = self.client.request(
            "export",
            {"job": self.job},
            on_done=lambda result: self.finished.emit(result_from_json(result)),
            on_error=self.failed.emit,
            on_progress=self.progress.emit,
            on_cancelled=self.cancelled.emit,
            owner=self.owner,
        )

    def cancel(self) -> None:
        self.cancel_event.set()
        if self.client is not None and self.request_id is not None:
            self.client.cancel(self.request_id)

    def wait(self, msecs: int = 60_000) -> bool:
        """Block until the export has its answer (tests, closing)."""
        if self.client is not None and self.request_id is not None:
            return self.client.wait_for(self.request_id, msecs)
        if self.thread is not None:
            self.thread.join(msecs / 1000)
            return not self.thread.is_alive()
        return True

    # --- thread mode (frozen bundles) ------------------------------------------------
    def _run_in_thread(self) -> None:
        from resect.core.keras_backend.export import Cancelled
        from resect.core.keras_backend.pipeline import run_apply
        from resect.core.surgery.recipe import parse_recipe

        job = self.job
        try:
            result = run_apply(
                job["model"], parse_recipe(job["edits"]), job["out"], fmt=job["format"], verify=job["verify"],
                force=job["force"], progress=lambda stage, done, total: self.progress.emit(stage, done, total),
                cancel=self.cancel_event, options=ExportOptions.from_json(job["options"]),
            )  # fmt: skip
        except Cancelled:
            self.cancelled.emit()
            return
        except ResectError as error:
            self.failed.emit(str(error).splitlines()[0])
            return
        except Exception as error:  # noqa: BLE001 - a Keras failure: one line for the user
            self.failed.emit(f"{type(error).__name__}: {' '.join(str(error).split())[:300]}")
            return
        self.finished.emit(result)


def human_size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return str(size)


class ExportDialog(QDialog):
    """Non-modal export of the edited model; ``open_requested(path)`` opens the result."""

    open_requested = Signal(str)
    state_changed = Signal(str)  # idle | running | done | failed | cancelled
    work_saved = Signal(list)  # the document's edits a successful export with trained weights wrote

    def __init__(self, model_path: str, edits: list[Any], parent: QWidget | None = None, client: Any = None) -> None:
        super().__init__(parent)
        self.client = client  # the window's KerasClient; None: export in a thread
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export edited model")
        self.resize(620, 360)
        self.model_path = model_path
        self.edits = list(edits)
        self.worker: ExportWorker | None = None
        self.result: Any = None
        self.state = "idle"
        self.error = ""
        self.architecture_only = False  # what the running (or last) export was asked for

        self.format_box = QComboBox(self)
        for label, fmt in FORMATS:
            self.format_box.addItem(label, fmt)
        self.path_edit = QLineEdit(self)
        self.path_edit.setObjectName("exportPath")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        self.verify_box = QCheckBox("Verify against the original on random input", self)
        self.verify_box.setChecked(True)
        self.fresh_box = QCheckBox("Export architecture only (fresh weights)", self)
        self.fresh_box.setObjectName("exportFreshWeights")
        self.fresh_box.setToolTip(
            "Every layer gets freshly initialised weights from its own initializers (a re-initialise "
            "all edit): an untrained copy of the edited architecture, e.g. for a baseline."
        )
        self.fresh_box.toggled.connect(lambda _checked: self._show_tolerance())
        self.dynamic_batch_box = QCheckBox("Dynamic batch size", self)
        self.dynamic_batch_box.setChecked(True)
        self.batch_spin = QSpinBox(self)
        self.batch_spin.setRange(1, 4096)
        self.batch_spin.setValue(1)
        self.batch_spin.setPrefix("fixed batch ")
        self.dynamic_batch_box.toggled.connect(lambda dynamic: self.batch_spin.setEnabled(not dynamic))
        self.batch_spin.setEnabled(False)
        batch_row = QHBoxLayout()
        batch_row.addWidget(self.dynamic_batch_box)
        batch_row.addWidget(self.batch_spin)
        batch_row.addStretch(1)
        self.batch_widget = QWidget(self)
        self.batch_widget.setLayout(batch_row)
        batch_row.setContentsMargins(0, 0, 0, 0)
        from resect.core.keras_backend.formats.onnx import MAX_OPSET, MIN_OPSET

        self.opset_spin = QSpinBox(self)
        self.opset_spin.setRange(MIN_OPSET - 1, MAX_OPSET)
        self.opset_spin.setSpecialValueText("converter default (15)")
        self.opset_spin.setValue(MIN_OPSET - 1)
        self.float16_box = QCheckBox("Store weights as float16 (half the size)", self)
        self.tolerance_label = QLabel("", self)
        self.tolerance_label.setObjectName("exportTolerance")
        self.tolerance_label.setWordWrap(True)
        self.float16_box.toggled.connect(self._show_tolerance)
        self.verify_box.toggled.connect(self._show_tolerance)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.stage_label = QLabel("", self)
        self.result_label = QLabel("", self)
        self.result_label.setObjectName("exportResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(self.result_label.textInteractionFlags())
        self.export_button = QPushButton("Export", self)
        self.export_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setEnabled(False)
        self.open_button = QPushButton("Open the exported model", self)
        self.open_button.setEnabled(False)
        close = QPushButton("Close", self)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button.clicked.connect(lambda: self.open_requested.emit(self.result.out))
        close.clicked.connect(self.close)
        self.format_box.currentIndexChanged.connect(self._format_changed)

        form = QFormLayout()
        form.addRow("Format", self.format_box)
        form.addRow("Save to", path_row)
        form.addRow("", self.verify_box)
        form.addRow("", self.fresh_box)
        self.option_rows = {"batch_size": self.batch_widget, "opset": self.opset_spin, "float16": self.float16_box}
        form.addRow("Batch", self.batch_widget)
        form.addRow("ONNX opset", self.opset_spin)
        form.addRow("", self.float16_box)
        form.addRow("", self.tolerance_label)
        self.form = form
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        for button in (self.export_button, self.cancel_button, close):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.stage_label)
        layout.addWidget(self.result_label, 1)
        layout.addLayout(buttons)
        self._suggest()
        self._show_options()

    # --- form --------------------------------------------------------------------
    @property
    def fmt(self) -> str:
        return str(self.format_box.currentData())

    @property
    def options(self) -> ExportOptions:
        """The options the chosen format takes (the others are hidden and not sent)."""
        spec = FORMAT_TABLE[self.fmt]
        batch = None if self.dynamic_batch_box.isChecked() else self.batch_spin.value()
        opset = self.opset_spin.value() if self.opset_spin.value() >= self.opset_spin.minimum() + 1 else None
        return ExportOptions(
            batch if "batch_size" in spec.options else None,
            opset if "opset" in spec.options else None,
            self.float16_box.isChecked() and "float16" in spec.options,
        )

    def _show_options(self) -> None:
        spec = FORMAT_TABLE[self.fmt]
        for name, widget in self.option_rows.items():
            self.form.setRowVisible(widget, name in spec.options)
        self._show_tolerance()

    @property
    def job_edits(self) -> list[Any]:
        """The edits the export runs: the document's, then re-initialise all when only the
        architecture is exported."""
        return [*self.edits, Reinitialize(all=True)] if self.fresh_box.isChecked() else list(self.edits)

    def _show_tolerance(self) -> None:
        spec = FORMAT_TABLE[self.fmt]
        if not self.verify_box.isChecked():
            self.tolerance_label.setText("")
            return
        text = (
            f"Verification runs the written file in {spec.runtime}; largest difference allowed "
            f"(float32): {spec.describe_tolerance(self.options)}"
        )
        if self.fresh_box.isChecked():
            text += (
                ". With fresh weights it compares only tensors computed without trained weights"
                + (", and the converted outputs with the Keras model they came from" if spec.converted else "")
                + "; nothing that should differ from the original is compared."
            )
        self.tolerance_label.setText(text)

    def _suggest(self) -> None:
        base, _ = os.path.splitext(self.model_path)
        self.path_edit.setText(self._with_suffix(base + "_edited"))

    def _with_suffix(self, path: str) -> str:
        stem = path.rstrip("/")
        for suffix in (s for spec in FORMAT_TABLE.values() for s in spec.suffixes):
            if stem.lower().endswith(suffix):
                stem = stem[: -len(suffix)]
        spec = FORMAT_TABLE[self.fmt]
        return stem + "_savedmodel/" if spec.folder else stem + spec.suffix

    def _format_changed(self) -> None:
        self._show_options()
        if self.path_edit.text():
            self.path_edit.setText(self._with_suffix(self.path_edit.text()))

    def _browse(self) -> None:
        path = resect.app.dialogs.ask_save_path(
            self, "Export edited model", self.path_edit.text(), "Models (*.keras *.h5 *.onnx *.tflite);;All files (*)"
        )
        if path:
            self.path_edit.setText(path)

    # --- run ---------------------------------------------------------------------
    def start(self, force: bool | None = None) -> None:
        """Start the export in the background; the dialog stays responsive."""
        from resect.app.editor import prompts

        out = self.path_edit.text().strip()
        if not out:
            self._set_state("failed", "Choose where to save the model.")
            return
        target = out.rstrip("/") if self.fmt == "savedmodel" else out
        if force is None:
            force = False
            if os.path.exists(target):
                if not prompts.ask_yes_no(self, "Replace file?", f"{target} exists. Replace it?"):
                    return
                force = True
        self.result = None
        self.architecture_only = self.fresh_box.isChecked()
        self.worker = ExportWorker(
            self.model_path,
            self.job_edits,
            out,
            self.fmt,
            self.verify_box.isChecked(),
            force,
            self.client,
            self.parent(),
            self.options,
        )
        queued = Qt.ConnectionType.QueuedConnection  # the worker emits from its own thread
        self.worker.progress.connect(self._progress, queued)
        self.worker.finished.connect(self._finished, queued)
        self.worker.failed.connect(self._failed, queued)
        self.worker.cancelled.connect(self._cancelled, queued)
        self.progress.setRange(0, 0)
        self._set_state("running", "Starting…")
        self.worker.start()

    def cancel(self) -> None:
        if self.worker is not None and self.state == "running":
            self.worker.cancel()
            self.stage_label.setText("Cancelling after the current step…")
            self.cancel_button.setEnabled(False)

    def _progress(self, stage: str, done: int, total: int) -> None:
        if self.state != "running":
            return
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.stage_label.setText(STAGE_TEXT.get(stage, stage))

    def _failed(self, message: str) -> None:
        self._set_state("failed", message)

    def _cancelled(self) -> None:
        self._set_state("cancelled", "Cancelled; nothing was written.")

    def _finished(self, result: Any) -> None:
        self.result = result
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self._set_state("done", "Done")
        self.result_label.setText(self.result_html(result, self.architecture_only))
        self.open_button.setEnabled(result.format in OPENABLE)
        if not self.architecture_only:  # fresh weights are not the edited model: the work stays unsaved
            self.work_saved.emit(list(self.edits))

    @staticmethod
    def result_html(result: Any, architecture_only: bool = False) -> str:
        after, before = result.params_after, result.params_before
        lines = [
            f"<b>Wrote</b> {result.out} ({result.format}, {human_size(result.file_size)})",
            f"<b>Parameters</b> {after.total:,} (trainable {after.trainable:,}, non-trainable "
            f"{after.non_trainable:,}); original {before.total:,} ({after.total - before.total:+,})",
        ]
        report = result.verify
        if report is None:
            lines.append("Not verified.")
        else:
            lines.append(f"Verified in <b>{FORMAT_TABLE[result.format].runtime}</b>")
            lines.extend(_verify_lines(report, architecture_only))
        if architecture_only and result.reinitialized:
            lines.append(
                f"<b>Architecture only</b>: fresh weights in all {len(result.reinitialized)} layers with weights"
            )
        elif result.reinitialized:
            lines.append("Fresh weights: " + ", ".join(result.reinitialized))
        return "<br>".join(lines)

    def _set_state(self, state: str, text: str) -> None:
        self.state = state
        running = state == "running"
        self.export_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.format_box.setEnabled(not running)
        self.path_edit.setEnabled(not running)
        for widget in (*self.option_rows.values(), self.fresh_box):
            widget.setEnabled(not running)
        if state in ("failed", "cancelled"):
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.error = text if state == "failed" else ""
            colour = "#c92a2a" if state == "failed" else "#555555"
            self.result_label.setText(f'<span style="color:{colour}">{text}</span>')
        self.stage_label.setText(text if state != "failed" else "Failed")
        self.state_changed.emit(state)

    def closeEvent(self, event: Any) -> None:
        self.cancel()
        super().closeEvent(event)


def _verify_lines(report: Any, architecture_only: bool) -> list[str]:
    """The verification table: per output, or (outputs all new or freshly initialised) the
    deepest tensors still computed as in the original; says so when there is none."""
    lines: list[str] = []
    checks = [c for c in report.checks if c.is_output]
    title = "Largest difference from the original, per output"
    if not report.checks:
        cause = "fresh weights" if architecture_only else "new computation"
        lines.append(f"Nothing compared with the original: every tensor of the export depends on {cause}.")
    elif not checks:  # every output is new: show the deepest faithful tensors
        checks = report.checks[-3:]
        title = (
            "Outputs have fresh weights; largest difference on the tensors computed without them"
            if architecture_only
            else "Outputs are new layers; largest difference on the kept tensors feeding them"
        )
    if report.checks:
        rows = "".join(
            f"<tr><td>{c.tensor}</td><td>{c.original}</td><td>{c.max_abs_diff:.3g}</td>"
            f"<td>{c.tolerance:.3g}</td><td>{'✔' if c.ok else '✘'}</td></tr>"
            for c in checks
        )
        lines.append(
            f"<b>{title}</b> ({len(report.checks)} tensors compared, max {report.max_abs_diff:.3g})"
            "<table cellspacing=6><tr><th align=left>tensor</th><th align=left>original tensor</th>"
            f"<th align=left>max |diff|</th><th align=left>tolerance</th><th></th></tr>{rows}</table>"
        )
    compared = {c.tensor for c in report.checks}
    unchecked = [ref for ref in report.unchecked_outputs if ref not in compared]
    if unchecked:
        label = "Outputs with fresh weights" if architecture_only else "New (untrained) outputs"
        lines.append(f"{label}, not compared: " + ", ".join(unchecked))
    return lines
