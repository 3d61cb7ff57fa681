"""The window's status bar and title: the shown graph's summary, the edit count, and
what the Keras worker is doing."""

from __future__ import annotations

import os

from PySide6.QtWidgets import QLabel, QProgressBar

from resect.app.formatting import graph_totals


class StatusAndTitle:
    """Mixin of ``MainWindow``: the one writer of the title and the status line."""

    def _make_status_bar(self) -> None:
        status = self.statusBar()
        self.model_label = QLabel("", self)
        self.keras_label = QLabel("", self)
        self.keras_label.setObjectName("kerasStatus")
        self.keras_busy = QProgressBar(self)
        self.keras_busy.setRange(0, 0)
        self.keras_busy.setMaximumWidth(90)
        self.keras_busy.setMaximumHeight(12)
        self.keras_busy.setTextVisible(False)
        self.keras_busy.hide()
        status.addWidget(self.model_label, 1)
        status.addPermanentWidget(self.keras_busy)
        status.addPermanentWidget(self.keras_label)

    def _update_summary(self) -> None:
        """The status bar's line about the graph shown now (after every edit, not only on open)."""
        graph = self.document.graph
        if graph is None:
            self.model_label.setText("")
            return
        if not graph.layers and graph.code_defined is not None:  # KerasHub: Keras builds the layer graph
            self.model_label.setText(
                f"{graph.name} · {graph.code_defined.class_name} · {graph_totals(graph).total:,} params · "
                "the layer graph comes from Keras"
            )
            return
        self.model_label.setText(
            f"{graph.name} · {len(graph.layers)} layers · {graph_totals(graph).total:,} params · "
            f"inputs {', '.join(str(r.layer) for r in graph.inputs)} → outputs "
            f"{', '.join(str(r.layer) for r in graph.outputs)}"
        )

    def _update_title(self) -> None:
        """The one place the title is written: file name, and the edit count the editor reports."""
        name = os.path.basename(self.document.path) if self.document.path else ""
        count = self.edit_count() if name else 0
        title = f"{name} — Resect" if name else "Resect"
        self.setWindowTitle(f"{title} (edited: {count})" if count else title)

    def _keras_status(self) -> None:
        status = self.document.keras
        busy = status.state in ("importing", "loading")
        self.keras_busy.setVisible(busy)
        text = {"failed": "Keras: not loaded", "off": ""}.get(status.state, status.message)
        self.keras_label.setText(text)
        self.keras_label.setToolTip(status.message)

    def _keras_note(self, message: str) -> None:
        self.banner.show_note(
            f"<b>Keras could not load this model</b>; the graph shows what the file describes. {message}"
        )
