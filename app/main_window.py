"""The main window: menus, toolbar, the three panels and the status bar, wired to one
``ViewerDocument``. It turns the panels' signals into document changes and owns the
file-level actions (open, recent, drag and drop, export, about)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import dialogs, exporting
from app.canvas import GraphCanvas
from app.canvas.prepared import PreparedScene
from app.document import Selection, ViewerDocument
from app.formatting import graph_totals
from app.layer_tree import LayerTreePanel
from app.properties import PropertiesPanel
from app.recent import RecentFiles
from app.search import find_layers
from app.session import ModelSession
from app.workers import TaskRunner
from core.layout.visible import layer_of_box

SEPARATOR = "/"
KERAS_START_DELAY_MS = 1500
COMPACT_WIDTH = 1400  # px: below this the main toolbar shows icons only


def icon(name: str) -> QIcon:
    try:
        from resources import icon_path

        return QIcon(str(icon_path(name)))
    except Exception:  # noqa: BLE001 - an icon is never worth failing for
        return QIcon()


class NoteBanner(QWidget):
    """A non-modal note above the canvas (Keras could not load the model, ...)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noteBanner")
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_button = QPushButton(self)
        self.action_button.setObjectName("bannerAction")
        self.action_button.hide()
        self.action_button.clicked.connect(self._act)
        self._action: Callable[[], Any] | None = None
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(close)
        self.setStyleSheet("#noteBanner { background: #fff4cc; border-bottom: 1px solid #e0c75a; }")
        self.hide()

    def show_note(self, text: str, action_text: str = "", action: Callable[[], Any] | None = None) -> None:
        """Show ``text``; with ``action``, a button that does what the note proposes (any time later)."""
        self.label.setText(text)
        self._action = action
        self.action_button.setText(action_text)
        self.action_button.setVisible(action is not None)
        self.show()

    def _act(self) -> None:
        action, self._action = self._action, None
        self.hide()
        if action is not None:
            action()


class MainWindow(QMainWindow):
    """One window over one document."""

    model_opened = Signal(str)
    graph_drawn = Signal(float)  # perf_counter of the first paint of a new model's scene

    def __init__(self, settings: QSettings | None = None, use_keras: bool = True) -> None:
        super().__init__()
        self.setObjectName("resectMainWindow")
        self.settings = settings if settings is not None else QSettings("Resect", "Resect")
        self.recent = RecentFiles(self.settings)
        self.document = ViewerDocument(self)
        self.runner = TaskRunner(self)
        self.session = ModelSession(self.document, self.runner, use_keras=use_keras)
        self.setAcceptDrops(True)
        self._docks_sized = False
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is not None and screen.width() > 0:
            self.resize(min(1600, int(screen.width() * 0.96)), min(1000, int(screen.height() * 0.94)))
        else:
            self.resize(1500, 920)

        self.canvas = GraphCanvas(self)
        self.banner = NoteBanner(self)
        central = QWidget(self)
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.banner)
        central_layout.addWidget(self.canvas, 1)
        self.setCentralWidget(central)

        self.tree = LayerTreePanel(self.document, self)
        self.properties = PropertiesPanel(self.document, self.runner, self)
        self.tree_dock = self._dock("Layers", self.tree, Qt.DockWidgetArea.LeftDockWidgetArea, "layersDock")
        self.properties_dock = self._dock(
            "Properties", self.properties, Qt.DockWidgetArea.RightDockWidgetArea, "propertiesDock"
        )
        # small minimums: at 1024 px the side panels must give way to the canvas (they kept
        # 340 + 300 px and left it 250); their first width is a share of the window instead
        self.tree.setMinimumWidth(180)
        self.properties.setMinimumWidth(180)

        self.search_edit = QLineEdit(self)
        self.search_edit.setObjectName("searchEdit")
        self.search_edit.setPlaceholderText("Search layers (Ctrl+F): name or class")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setMaximumWidth(320)
        self.search_edit.textChanged.connect(self.search)
        self.search_edit.returnPressed.connect(self.next_match)
        self._match_index = -1

        self._make_actions()
        self._make_menus_and_toolbar()
        self._make_status_bar()

        self.document.selection_changed.connect(self._selection_to_canvas)
        self.document.model_replaced.connect(self._reset_view_state)
        self.document.graph_changed.connect(self._update_title)
        self.document.graph_changed.connect(self._update_summary)
        self.document.graph_changed.connect(self._update_enabled)
        self.document.keras_status_changed.connect(self._keras_status)
        self.document.search_changed.connect(self._search_to_canvas)
        self.session.prepared_ready.connect(self._show_prepared)
        self.session.opened.connect(self._opened)
        self.session.open_failed.connect(self._open_failed)
        self.session.keras_note.connect(self._keras_note)
        self.canvas.box_clicked.connect(self._canvas_box_clicked)
        self.canvas.box_double_clicked.connect(self.toggle_collapse)
        self.canvas.edge_clicked.connect(self.document.select_tensor)
        self.canvas.first_paint.connect(self._first_paint)
        self.tree.collapse_requested.connect(self.toggle_collapse)
        self._announce_paint = False
        self._selected_block: str | None = None
        # asked before the current model (and its edits) is dropped; False from any stops it
        self.discard_checks: list[Callable[[str], bool]] = []
        self.edit_count: Callable[[], int] = lambda: 0  # the editor's edits on the shown model
        self.exporter: Callable[[], Any] | None = None  # File > Export model: the editor's export dialog
        self._update_title()
        self._update_enabled()
        # TensorFlow starts importing once the first graph is drawn, or after a moment when
        # nothing is being opened (see ModelSession.start_deferred_keras)
        QTimer.singleShot(KERAS_START_DELAY_MS, self._start_keras_if_idle)

    # --- construction ----------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot: Any, shortcut: Any = None, icon_name: str = "", tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if icon_name:
            action.setIcon(icon(icon_name))
        action.setToolTip(tip or text.replace("&", "").replace("…", ""))
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _make_actions(self) -> None:
        a = self._action
        self.open_action = a("&Open…", self.ask_open, QKeySequence.StandardKey.Open, "open")
        self.export_model_action = a("&Export model…", self.export_model, "Ctrl+E", "export")
        self.export_model_action.setIconText("Export model")
        self.export_picture_action = a("Export &picture…", self.ask_export_picture, "Ctrl+Shift+E")
        self.export_summary_action = a("Export s&ummary…", self.ask_export_summary, "Ctrl+Alt+E")
        self.close_action = a("&Close", self.close_model, QKeySequence.StandardKey.Close)
        self.quit_action = a("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.fit_action = a("&Fit graph", self.canvas.fit, "F", "fit")
        self.zoom_selection_action = a("&Zoom to selection", lambda: self.canvas.zoom_to_keys(), "Z", "zoom-selection")
        self.readable_action = a("Start at the &inputs", self.canvas.open_view, "Home")
        self.direction_action = a("&Left to right", self.toggle_direction, "D", "direction")
        self.direction_action.setCheckable(True)
        self.collapse_action = a("&Collapse / expand block", self.toggle_selected_block, "Space", "collapse")
        self.collapse_all_action = a("Collapse &all blocks", self.collapse_all, "Ctrl+Shift+C")
        self.expand_all_action = a("E&xpand all blocks", self.expand_all, "Ctrl+Shift+X", "expand")
        self.search_action = a("&Search…", self.focus_search, QKeySequence.StandardKey.Find, "search")
        self.next_match_action = a("Next match", self.next_match, QKeySequence.StandardKey.FindNext)
        self.filter_action = a("Filter layer &tree", self.tree.filter_edit.setFocus, "Ctrl+L")
        self.about_action = a("&About Resect", lambda: dialogs.show_about(self))

    def _make_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = QMenu("Open &recent", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addMenu(self.recent_menu)
        file_menu.addAction(self.close_action)
        self.file_recipes_anchor = file_menu.addSeparator()  # the editor puts Open / Save recipe above
        file_menu.addAction(self.export_model_action)
        file_menu.addAction(self.export_picture_action)
        file_menu.addAction(self.export_summary_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self.file_menu = file_menu
        view = bar.addMenu("&View")
        for action in (self.fit_action, self.zoom_selection_action, self.readable_action, self.direction_action):
            view.addAction(action)
        view.addSeparator()
        for action in (self.collapse_action, self.collapse_all_action, self.expand_all_action):
            view.addAction(action)
        view.addSeparator()
        view.addAction(self.search_action)
        view.addAction(self.next_match_action)
        view.addAction(self.filter_action)
        view.addSeparator()
        view.addAction(self.tree_dock.toggleViewAction())
        view.addAction(self.properties_dock.toggleViewAction())
        self.help_menu = bar.addMenu("&Help")
        self.help_menu.addAction(self.about_action)

        self.main_toolbar = toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (self.open_action, self.export_model_action):
            toolbar.addAction(action)
        toolbar.addSeparator()
        for action in (self.fit_action, self.zoom_selection_action, self.direction_action):
            toolbar.addAction(action)
        toolbar.addSeparator()
        for action in (self.collapse_action, self.expand_all_action):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addWidget(self.search_edit)
        self.match_label = QLabel("", self)
        self.match_label.setObjectName("matchLabel")
        self.match_label.setContentsMargins(6, 0, 6, 0)
        toolbar.addWidget(self.match_label)

    def export_model(self) -> Any:
        """File > Export model (Ctrl+E): the edited model to a file, through the editor."""
        if self.document.graph is None or self.exporter is None:
            return None
        return self.exporter()

    def _update_enabled(self) -> None:
        """What needs a model is off in the empty window (Export did nothing there)."""
        has_model = self.document.graph is not None
        for action in (self.export_picture_action, self.export_summary_action, self.close_action):
            action.setEnabled(has_model)
        self.export_model_action.setEnabled(has_model and self.exporter is not None)
        self.canvas.set_empty_hint(not has_model)

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

    # --- files -----------------------------------------------------------------
    def may_discard(self, action: str) -> bool:
        """Ask every discard check (the editor's unsaved-edits question) before ``action``."""
        return all(check(action) for check in list(self.discard_checks))

    def open_path(self, path: str | os.PathLike[str]) -> bool:
        """Open a model in the background (after the unsaved-edits question); the graph
        replaces the current one when read. ``False`` when the user cancelled."""
        if not self.may_discard("open another model"):
            return False
        self._start_open(os.fspath(path))
        return True

    def _start_open(self, path: str) -> None:
        self.canvas.set_empty_hint(False)
        self.statusBar().showMessage(f"Opening {os.path.basename(path)}…")
        self._open_started = time.perf_counter()
        self.session.open(path)

    def ask_open(self) -> None:
        if not self.may_discard("open another model"):
            return
        recent = self.recent.paths()
        path = dialogs.ask_open_path(self, os.path.dirname(recent[0]) if recent else "")
        if path:
            self._start_open(path)

    def close_model(self) -> bool:
        """File > Close: back to the empty window (after the unsaved-edits question)."""
        if self.document.graph is None or not self.may_discard("close it"):
            return False
        self.session.close_model()
        self.canvas.clear()
        self.banner.hide()
        self._update_title()
        return True

    def _opened(self, path: str) -> None:
        self.recent.add(path)
        self._announce_paint = True
        elapsed = time.perf_counter() - getattr(self, "_open_started", time.perf_counter())
        self.statusBar().showMessage(f"Read {os.path.basename(path)} in {elapsed * 1000:.0f} ms", 5000)
        self.banner.hide()
        self.model_opened.emit(path)

    def _update_summary(self) -> None:
        """The status bar's line about the graph shown now (after every edit, not only on open)."""
        graph = self.document.graph
        if graph is None:
            self.model_label.setText("")
            return
        self.model_label.setText(
            f"{graph.name} · {len(graph.layers)} layers · {graph_totals(graph).total:,} params · "
            f"inputs {', '.join(str(r.layer) for r in graph.inputs)} → outputs "
            f"{', '.join(str(r.layer) for r in graph.outputs)}"
        )

    def _reset_view_state(self) -> None:
        """Another model: the toolbar search (and its "n of m") belonged to the old one."""
        self.search_edit.blockSignals(True)
        self.search_edit.clear()
        self.search_edit.blockSignals(False)
        self.match_label.setText("")
        self._match_index = -1

    def _open_failed(self, path: str, message: str) -> None:
        self.session.start_deferred_keras()
        self._update_enabled()
        self.statusBar().showMessage("Could not open the model", 5000)
        dialogs.show_error(self, "Cannot open model", message)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        paths = self.recent.paths()
        for path in paths:  # name, then where it is: two "resnet50.keras" read apart
            label = f"{os.path.basename(path)}  —  {os.path.dirname(path)}"
            self.recent_menu.addAction(label, lambda p=path: self.open_path(p)).setToolTip(path)
        if paths:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self.recent.clear)
        else:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_path(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._dropped_path(event)
        if path is not None:
            event.acceptProposedAction()
            # after the drop returns: a question asked inside it would hold the drag source
            QTimer.singleShot(0, self, lambda: self.open_path(path))

    @staticmethod
    def _dropped_path(event: Any) -> str | None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        local = [url.toLocalFile() for url in urls if url.isLocalFile()]
        return local[0] if local else None

    def _update_title(self) -> None:
        """The one place the title is written: file name, and the edit count the editor reports."""
        name = os.path.basename(self.document.path) if self.document.path else ""
        count = self.edit_count() if name else 0
        title = f"{name} — Resect" if name else "Resect"
        self.setWindowTitle(f"{title} (edited: {count})" if count else title)

    # --- canvas ----------------------------------------------------------------
    def _show_prepared(self, prepared: PreparedScene, keep_view: bool) -> None:
        self.canvas.set_prepared(prepared, keep_view=keep_view)
        self._selection_to_canvas()
        self._search_to_canvas()

    def _first_paint(self, when: float) -> None:
        if self._announce_paint:
            self._announce_paint = False
            self.graph_drawn.emit(when)
            self.session.start_deferred_keras()

    def _start_keras_if_idle(self) -> None:
        if self.runner.pending == 0 and not self.session.scene_pending:
            self.session.start_deferred_keras()

    def visible_keys(self, path: tuple[str, ...]) -> tuple[str, ...]:
        """The boxes that show a layer: itself, the collapsed block / nested model holding it,
        or, for an expanded nested model, the boxes of its inner layers."""
        prepared = self.canvas.prepared
        if prepared is None or not path:
            return ()
        calls = prepared.calls_of(SEPARATOR.join(path))  # every call of a shared layer
        if calls:
            return calls
        for depth in range(len(path) - 1, 0, -1):
            key = prepared.owner.get(SEPARATOR.join(path[:depth]))
            if key is not None:
                return (key,)
        prefix = SEPARATOR.join(path) + SEPARATOR
        return tuple(dict.fromkeys(box for layer, box in prepared.owner.items() if layer.startswith(prefix)))

    def visible_key(self, path: tuple[str, ...]) -> str | None:
        keys = self.visible_keys(path)
        return keys[0] if keys else None

    def _canvas_box_clicked(self, key: str) -> None:
        prepared = self.canvas.prepared
        box = prepared.box(key) if prepared is not None and key in prepared.index else None
        if box is not None and box.block:
            block = self.document.block_named(box.block)
            self._selected_block = box.block
            self.document.select(Selection())
            self.canvas.set_selected((key,))
            size = len(block.layers) if block is not None else len(box.layers)
            self.statusBar().showMessage(f"Block {box.block}: {size} layers. Double-click or Space to expand.", 8000)
            return
        self._selected_block = None
        self.document.select_layer(*layer_of_box(key).split(SEPARATOR))  # a call box selects its layer

    def _selection_to_canvas(self) -> None:
        selection = self.document.selection
        if not selection.is_empty:
            self._selected_block = None
        if selection.layer_path:
            keys = self.visible_keys(selection.layer_path)
            self.canvas.set_selected(keys)
            if keys:
                self.canvas.ensure_visible(keys[0])
        elif selection.tensor is not None:
            self.canvas.set_selected(())
        elif not self._selected_block:
            self.canvas.set_selected(())

    # --- blocks ----------------------------------------------------------------
    def toggle_collapse(self, name: str) -> None:
        """Double click / Space / tree menu: expand a collapsed block, or collapse the
        smallest block around a layer (or the named block)."""
        collapsed = set(self.document.collapsed)
        hidden_in = self._collapsed_holder(name)
        if name in collapsed:
            collapsed.discard(name)
        elif hidden_in is not None:  # a layer drawn inside a collapsed block: open that block
            collapsed.discard(hidden_in)
        else:
            block = self.document.block_named(name)
            if block is None:
                holders = self.document.blocks_of(name)
                if not holders:
                    self.statusBar().showMessage(f"{name} is not part of a block", 4000)
                    return
                block = holders[0]
            collapsed.add(block.name)
        self.document.set_collapsed(frozenset(collapsed))

    def _collapsed_holder(self, layer_key: str) -> str | None:
        """The collapsed block whose box currently draws ``layer_key``, if any."""
        prepared = self.canvas.prepared
        key = prepared.owner.get(layer_key) if prepared is not None else None
        if key is None or key == layer_key or key not in prepared.index:
            return None
        block = prepared.box(key).block
        return block if block in self.document.collapsed else None

    def toggle_selected_block(self) -> None:
        block = self._selected_block
        if block:
            self.toggle_collapse(block)
        elif self.document.selection.layer_path:
            self.toggle_collapse(SEPARATOR.join(self.document.selection.layer_path))

    def collapse_all(self) -> None:
        self.document.set_collapsed(frozenset(b.name for b in self.document.blocks if b.parent is None))

    def expand_all(self) -> None:
        self.document.set_collapsed(frozenset())

    def toggle_direction(self) -> None:
        self.document.set_direction("LR" if self.document.direction == "TB" else "TB")
        self.direction_action.setChecked(self.document.direction == "LR")

    # --- search ----------------------------------------------------------------
    def focus_search(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    def search(self, text: str) -> None:
        graph = self.document.graph
        matches = find_layers(graph, text) if graph is not None else []
        self._match_index = -1
        self.document.set_search_matches(tuple(SEPARATOR.join(p) for p in matches))
        self.match_label.setText(f"{len(matches)} match{'es' if len(matches) != 1 else ''}" if text.strip() else "")
        if matches:
            self.next_match()

    def next_match(self) -> None:
        matches = self.document.search_matches
        if not matches:
            return
        self._match_index = (self._match_index + 1) % len(matches)
        path = tuple(matches[self._match_index].split(SEPARATOR))
        self.match_label.setText(f"{self._match_index + 1} of {len(matches)}")
        self.document.select_layer(*path)
        key = self.visible_key(path)
        if key:
            self.canvas.ensure_visible(key)

    def _search_to_canvas(self) -> None:
        keys = (k for m in self.document.search_matches for k in self.visible_keys(tuple(m.split(SEPARATOR))))
        self.canvas.set_search_hits(tuple(dict.fromkeys(keys)))

    # --- export ----------------------------------------------------------------
    def _suggest(self, suffix: str) -> str:
        base = Path(self.document.path).stem if self.document.path else "graph"
        folder = os.path.dirname(self.document.path) if self.document.path else os.getcwd()
        return os.path.join(folder, base + suffix)

    def ask_export_picture(self) -> None:
        """The current scene (collapsed blocks and direction as shown) to SVG or PNG."""
        if self.document.scene is not None:
            filters = "SVG (*.svg);;PNG (*.png)"
            path = dialogs.ask_save_path(self, "Export picture", self._suggest(".svg"), filters)
            self._export("picture", exporting.write_picture, self.document.scene, path)

    def ask_export_summary(self) -> None:
        """The layer table as ``resect inspect`` prints it."""
        if self.document.graph is not None:
            path = dialogs.ask_save_path(self, "Export summary", self._suggest(".txt"), "Text (*.txt)")
            self._export("summary", exporting.write_summary, self.document.graph, path)

    def _export(self, what: str, write: Any, subject: Any, path: str) -> None:
        """Write on a worker; report in the status bar, or with an error dialog."""
        if not path:
            return

        def done(_: Any) -> None:
            self.statusBar().showMessage(f"Wrote {path}", 6000)

        def failed(error: BaseException) -> None:
            dialogs.show_error(self, f"Cannot export {what}", str(error))

        self.runner.submit(write, subject, path, on_done=done, on_error=failed, name="export")

    # --- status ----------------------------------------------------------------
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

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._docks_sized:  # after any add-on docks exist, and once the window has its size
            self._docks_sized = True
            QTimer.singleShot(0, self._restore_layout)

    def _restore_layout(self) -> None:
        """The last session's geometry and docks, or sensible dock widths the first time."""
        geometry, state = self.settings.value("window/geometry"), self.settings.value("window/state")
        if geometry is not None and state is not None:
            self.restoreGeometry(geometry)
            if self.restoreState(state):
                return
        self._fit_docks()

    def _fit_docks(self) -> None:
        """Side panels as a share of the window (about a fifth each, 200-430 px)."""
        side = max(200, min(430, int(self.width() * 0.21)))
        self.resizeDocks([self.tree_dock, self.properties_dock], [side, side - 10], Qt.Orientation.Horizontal)
        right = [
            dock
            for dock in self.findChildren(QDockWidget)
            if self.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea
            and dock.isVisible()
            and not self.tabifiedDockWidgets(dock)
        ]
        if len(right) == 2 and self.properties_dock in right:  # Properties above a small History
            other = right[1] if right[0] is self.properties_dock else right[0]
            height = self.properties_dock.height() + other.height()
            self.resizeDocks(
                [self.properties_dock, other], [int(height * 0.74), int(height * 0.26)], Qt.Orientation.Vertical
            )

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        compact = self.width() < COMPACT_WIDTH  # icons only, so no action hides behind the overflow
        style = Qt.ToolButtonStyle.ToolButtonIconOnly if compact else Qt.ToolButtonStyle.ToolButtonTextBesideIcon
        if self.main_toolbar.toolButtonStyle() != style:
            self.main_toolbar.setToolButtonStyle(style)
            self.search_edit.setMaximumWidth(170 if compact else 320)
        central = self.centralWidget().width()
        if self._docks_sized and self.isVisible() and central < 0.5 * self.width():
            self._fit_docks()  # the canvas keeps at least about half the window

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.may_discard("quit"):
            event.ignore()
            return
        self.session.shutdown()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()
        super().closeEvent(event)
