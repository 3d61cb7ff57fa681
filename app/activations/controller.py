"""Runs data through the model in the Keras worker and shows what it computes.

The worker keeps the arrays; the app receives each tensor's summary as it is computed
(``RunResults``) and asks for a tensor's channel grid and top-k only when it is shown.
With edits (the editor's document), the same data runs through the original and the
edited model in one request, and every edit re-runs the last data (debounced).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDialog, QDockWidget, QMenu

from resect.app.activations.overlay import ActivationOverlay
from resect.app.activations.panel import ActivationPanel
from resect.app.activations.results import STATISTICS, RunResults

RERUN_DELAY_MS = 400


class ActivationsController(QObject):
    """Menu, dock, overlay and worker requests of one window (see module doc)."""

    state_changed = Signal(str)  # idle | running | done | failed | cancelled

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.client = window.session.keras
        self.results: RunResults | None = None
        self.request_id: int | None = None
        self.state = "idle"
        self.error = ""
        self.last_run: tuple[dict[str, str], str, int] | None = None
        self.statistic: str | None = None

        self.panel = ActivationPanel(window)
        self.dock = QDockWidget("Activations", window)
        self.dock.setObjectName("activationsDock")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        window.splitDockWidget(window.properties_dock, self.dock, Qt.Orientation.Vertical)
        self.overlay = ActivationOverlay(window)
        self._rerun_timer = QTimer(self)
        self._rerun_timer.setSingleShot(True)
        self._rerun_timer.timeout.connect(self._rerun)
        self._make_menu()

        self.panel.run_clicked.connect(self.ask_run)
        self.panel.cancel_clicked.connect(self.cancel)
        self.panel.detail_wanted.connect(self._request_detail)
        window.document.selection_changed.connect(self._selection_changed)
        window.session.opened.connect(self._opened)
        window.session.prepared_ready.connect(lambda *_: QTimer.singleShot(0, self.refresh_overlay))
        editor = getattr(window, "editor", None)
        if editor is not None:
            editor.stack.indexChanged.connect(self._edits_changed)

    def _make_menu(self) -> None:
        bar = self.window.menuBar()
        help_menu = getattr(self.window, "help_menu", None)  # desktop convention: Help stays last
        menu = QMenu("&Activations", bar)
        if help_menu is not None:
            bar.insertMenu(help_menu.menuAction(), menu)
        else:
            bar.addMenu(menu)
        self.run_action = QAction("Run &data…", self.window)
        self.run_action.setShortcut(QKeySequence("Ctrl+R"))
        self.run_action.triggered.connect(self.ask_run)
        self.cancel_action = QAction("&Cancel run", self.window)
        self.cancel_action.setEnabled(False)
        self.cancel_action.triggered.connect(self.cancel)
        menu.addAction(self.run_action)
        menu.addAction(self.cancel_action)
        menu.addSeparator()
        colour = menu.addMenu("Colour &nodes by")
        group = QActionGroup(self)
        self.statistic_actions: dict[str | None, QAction] = {}
        for key, label in ((None, "nothing"), *STATISTICS.items()):
            action = QAction(label, self.window, checkable=True)
            action.setChecked(key is None)
            action.triggered.connect(lambda _=False, k=key: self.set_statistic(k))
            group.addAction(action)
            colour.addAction(action)
            self.statistic_actions[key] = action
        menu.addSeparator()
        menu.addAction(self.dock.toggleViewAction())

    # --- what runs -------------------------------------------------------------------------
    def _editor_doc(self) -> Any:
        editor = getattr(self.window, "editor", None)
        return getattr(editor, "doc", None)

    def edits_json(self) -> list[dict[str, Any]]:
        from resect.core.surgery.recipe import dump_recipe

        doc = self._editor_doc()
        return list(dump_recipe(doc.edits)["edits"]) if doc is not None and doc.edits else []

    def inputs(self) -> list[tuple[str, str]]:
        """(name, shape text) of the original model's inputs."""
        doc = self._editor_doc()
        graph = doc.original if doc is not None else self.window.document.graph
        if graph is None:
            return []
        found = []
        for ref in graph.inputs:
            shape = graph.shape(ref)
            text = "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")" if shape else "(?)"
            found.append((ref.layer, text))
        return found

    def ask_run(self) -> None:
        path = self.window.document.path
        if not path:
            self.window.statusBar().showMessage("Open a model first", 5000)
            return
        from resect.app.activations.run_dialog import RunDataDialog  # on the first run, not at start-up

        dialog = RunDataDialog(self.inputs(), self.window.settings, path, self.window)
        try:
            if dialog.exec() == QDialog.DialogCode.Accepted:
                self.run(dialog.job_sources(), dialog.preprocess_choice())
        finally:
            dialog.deleteLater()

    def run(self, sources: dict[str, str], preprocess: str = "auto", seed: int = 0) -> int:
        """Send the data (input name, or "" for all, -> file or "random") to the worker."""
        if self.request_id is not None and self.client.is_open(self.request_id):
            self.client.cancel(self.request_id)
        self.last_run = (dict(sources), preprocess, seed)
        job = {
            "model": self.window.document.path,
            "edits": self.edits_json(),
            "sources": dict(sources),
            "preprocess": preprocess,
            "seed": seed,
        }
        results = RunResults()
        self.results = results
        self._set_state("running")
        self.panel.set_running(True, "Running the data through the model…")
        self.panel.set_results(results)
        self.overlay.clear()

        def done(result: dict[str, Any]) -> None:
            if results is not self.results:
                return
            results.finish(result)
            seconds = sum(float(v) for v in result.get("seconds", {}).values())
            count = len(result.get("original", []))
            extra = f", edited {len(result['edited'])}" if result.get("edited") else ""
            self.panel.set_running(False, f"{count} tensors{extra} in {seconds:.1f} s. Select a layer.")
            self.panel.set_results(results)
            self._set_state("done")
            self.refresh_overlay()

        def failed(message: str) -> None:
            if results is self.results:
                self.error = message
                self.panel.set_running(False, message)
                self._set_state("failed")

        def cancelled() -> None:
            if results is self.results:
                self.panel.set_running(False, "Cancelled.")
                self._set_state("cancelled")

        def data(chunk: dict[str, Any]) -> None:
            if results is self.results:
                results.add(chunk)
                self.panel.refresh()

        self.request_id = self.client.request(
            "activations", {"job": job}, on_done=done, on_error=failed, on_progress=self.panel.set_progress,
            on_cancelled=cancelled, owner=self.window, on_data=data,
        )  # fmt: skip
        return self.request_id

    def cancel(self) -> None:
        if self.request_id is not None and self.client.is_open(self.request_id):
            self.client.cancel(self.request_id)

    def _set_state(self, state: str) -> None:
        self.state = state
        running = state == "running"
        self.cancel_action.setEnabled(running)
        self.state_changed.emit(state)

    def _edits_changed(self, _index: int) -> None:
        if self.last_run is not None:
            self._rerun_timer.start(RERUN_DELAY_MS)

    def _rerun(self) -> None:
        if self.last_run is not None and self.window.document.path:
            self.run(*self.last_run)

    def _opened(self, _path: str) -> None:
        self.cancel()
        self.results, self.last_run = None, None
        self.panel.set_results(None)
        self.panel.set_running(False, "Run data through the model to see what each layer computes.")
        self.overlay.clear()
        self._set_state("idle")

    # --- what is shown ---------------------------------------------------------------------
    def _selection_changed(self) -> None:
        selection = self.window.document.selection
        if selection.tensor is not None:
            self.panel.show_layer((selection.tensor.layer,), str(selection.tensor))
        else:
            self.panel.show_layer(selection.layer_path)

    def _request_detail(self, side: str, tensor: str) -> None:
        results = self.results
        if results is None or self.state != "done":
            return  # asked again when the run is done (the panel refreshes then)

        def done(detail: dict[str, Any]) -> None:
            if results is self.results:
                results.details[(side, tensor)] = detail
                self.panel.show_detail(detail)

        self.client.request(
            "activation_detail", {"side": side, "tensor": tensor}, on_done=done,
            on_error=lambda message: self.panel.channel_label.setText(message), owner=self.window,
        )  # fmt: skip

    def set_statistic(self, statistic: str | None) -> None:
        self.statistic = statistic
        action = self.statistic_actions.get(statistic)
        if action is not None:
            action.setChecked(True)
        self.refresh_overlay()

    def refresh_overlay(self) -> None:
        results = self.results
        if results is None or self.statistic is None or not results.summaries.get("original"):
            self.overlay.clear()
            return
        side = "edited" if results.has_edited else "original"
        if self.statistic == "difference" and not results.has_edited:
            self.overlay.clear()
            self.window.statusBar().showMessage("No edits: nothing differs from the original", 5000)
            return
        self.overlay.show(results.call_values(side, self.statistic), STATISTICS[self.statistic])
