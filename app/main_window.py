"""The main window: menus, toolbar, the three panels and the status bar, wired to one
``ViewerDocument``. Its jobs live in mixins, one module each: file actions
(``window_files``), status and title (``window_status``), the graph view, blocks and search
(``window_view``) and the docks (``window_layout``); this module builds and wires them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QLineEdit, QMainWindow, QMenu, QVBoxLayout, QWidget

from resect.app import dialogs
from resect.app.banner import NoteBanner
from resect.app.canvas import GraphCanvas
from resect.app.consent_controller import ConsentController
from resect.app.document import ViewerDocument
from resect.app.layer_tree import LayerTreePanel
from resect.app.properties import PropertiesPanel
from resect.app.qactions import icon, make_action
from resect.app.recent import RecentFiles
from resect.app.session import ModelSession
from resect.app.window_files import FileActions
from resect.app.window_layout import COMPACT_WIDTH, DockLayout
from resect.app.window_status import StatusAndTitle
from resect.app.window_view import SEPARATOR, GraphView
from resect.app.workers import TaskRunner

__all__ = ["COMPACT_WIDTH", "SEPARATOR", "MainWindow", "NoteBanner", "icon"]

KERAS_START_DELAY_MS = 1500


class MainWindow(FileActions, StatusAndTitle, GraphView, DockLayout, QMainWindow):
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
        self.consent = ConsentController(self)  # the banner asking to run the user's code
        central_layout.addWidget(self.consent.banner)
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

    def _action(self, text: str, slot: Any, shortcut: Any = None, icon_name: str = "", tip: str = "") -> QAction:
        return make_action(self, text, slot, shortcut, icon_name, tip)

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
        file_menu.addAction(self.consent.revoke_action)
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

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.may_discard("quit"):
            event.ignore()
            return
        self.session.shutdown()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()
        super().closeEvent(event)
