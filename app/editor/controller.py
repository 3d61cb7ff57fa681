"""The editor controller: one core ``Document`` per opened file, a ``QUndoStack`` of
``EditCommand`` adapters, and the wiring from the viewer's canvas, menus and docks.

Data flows one way: a user action -> an ``Edit`` -> ``EditCommand.try_push`` ->
``Document.push`` -> document event -> ``_render`` hands ``document.edited`` (or the
original with removed parts greyed) to the session, the one writer of what is shown;
the overlays and the preview strip follow. Impossible edits show their one-line reason
and change nothing. Its helpers each do one job: ``actions`` (menus, toolbar),
``recipes`` (files), ``base_preview`` (the unedited preview off the UI thread),
``unsaved`` (the question before edits are dropped), ``menus`` (the context menu).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QDockWidget, QMenu

import resect.app.dialogs
from resect.app.editor import menus, prompts, recipes, unsaved
from resect.app.editor.actions import make_actions
from resect.app.editor.base_preview import BasePreview
from resect.app.editor.commands import EditCommand
from resect.app.editor.overlays import EditOverlays
from resect.app.editor.panels import HistoryPanel, PreviewStrip
from resect.app.editor.selection import boundary, output_tensors, picked_layers
from resect.core.errors import ResectError
from resect.core.graph import ModelGraph
from resect.core.layout.visible import layer_of_box
from resect.core.surgery.document import Document
from resect.core.surgery.edits import Cut, Edit
from resect.core.surgery.preview import Preview
from resect.core.tensor_ref import TensorRef

log = logging.getLogger(__name__)
SHORT_WINDOW = 760  # px


class EditorController(QObject):
    """Owns the editing state of one window (see module docstring)."""

    shown = Signal()  # the canvas shows the current state (after an edit, undo, redo, toggle)
    error_shown = Signal(str)

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.viewer = window.document
        self.session = window.session
        self.canvas = window.canvas
        self.doc: Document | None = None
        self._unsubscribe: Any = None
        self.stack = QUndoStack(self)
        self.mode = "edited"  # or "original": the file's graph with removed parts greyed
        self.picked: tuple[str, ...] = ()
        self.crossing: tuple[TensorRef, ...] = ()
        self.show_cut_points = False
        self.errors: list[str] = []
        self.export_dialogs: list[Any] = []
        self.windows: list[Any] = []
        self._blocks: dict[int, tuple[ModelGraph, list[Any]]] = {}  # id -> (graph, blocks)
        self._cut_points: dict[int, tuple[ModelGraph, tuple[str, ...]]] = {}
        self._started: float | None = None
        self.last_edit_seconds: float | None = None
        self.base_preview = BasePreview(window.runner, self._base_preview_ready)
        self._follow = False

        self.overlays = EditOverlays(self.canvas)
        self.strip = PreviewStrip(window)
        window.centralWidget().layout().addWidget(self.strip)
        self.history = HistoryPanel(self.stack, window)
        self.history_dock = QDockWidget("History", window)
        self.history_dock.setObjectName("historyDock")
        self.history_dock.setWidget(self.history)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.history_dock)
        if window.height() < SHORT_WINDOW:  # a short screen: History a tab beside Properties, not below it
            window.tabifyDockWidget(window.properties_dock, self.history_dock)
            window.properties_dock.raise_()
        make_actions(self)

        self.session.opened.connect(self._opened)
        self.session.closed.connect(self._closed)
        window.discard_checks.append(lambda action: unsaved.confirm_discard(self, action))
        window.edit_count = lambda: len(self.doc.edits) if self.doc is not None else 0
        self.session.shapes_filled.connect(self._shapes_filled)
        self.session.presenter = self._present
        self.session.prepared_ready.connect(self._scene_ready)
        self.canvas.first_paint.connect(self._first_paint)
        self.canvas.context_requested.connect(self._context_requested)
        self.canvas.boxes_picked.connect(self.pick)
        self.stack.indexChanged.connect(self._stack_changed)

    # --- state ---------------------------------------------------------------------
    def document(self) -> Document:
        if self.doc is None:
            raise ResectError("open a model first")
        return self.doc

    @property
    def edited(self) -> ModelGraph:
        return self.document().edited

    def _set_doc(self, doc: Document) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.doc = doc
        self._unsubscribe = doc.subscribe(self._changed)

    def _opened(self, _path: str) -> None:
        graph = self.session.file_graph
        self.stack.clear()
        self._blocks = {id(graph): (graph, list(self.viewer.blocks))}
        self._cut_points.clear()
        self.picked, self.crossing = (), ()
        self._set_doc(Document(graph))
        self.mode = "edited"
        self.original_action.setChecked(False)
        self.strip.show_preview(None)
        self.base_preview.reset(waiting=self.doc)  # computed once the graph is on screen
        self._update_title()

    def _closed(self) -> None:
        """File > Close: no document, no history, nothing marked."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.doc = None
        self.stack.clear()
        self._blocks.clear()
        self._cut_points.clear()
        self.base_preview.reset()
        self.picked, self.crossing = (), ()
        self.mode = "edited"
        self.original_action.setChecked(False)
        self.strip.show_preview(None)
        self.overlays.clear()
        self._update_title()

    def _shapes_filled(self) -> None:
        """Keras filled the shapes the file leaves out: re-base the document on the filled
        graph (the session then shows what ``_present`` makes of it)."""
        old = self.doc
        filled = self.session.file_graph
        if old is None or filled is None:
            return
        swapped = self.session.swapped_blocks  # a KerasHub layer graph: its own blocks
        self._blocks[id(filled)] = (filled, swapped if swapped is not None else self._blocks_of(old.original))
        if not old.can_redo:
            doc = Document(filled)
            try:
                doc.set_edits(old.edits)
            except ResectError:
                doc = old
            if doc is not old:
                self._set_doc(doc)
        if not self.document().edits:
            self.base_preview.start(self.document())

    def _present(self, file_graph: ModelGraph) -> tuple[ModelGraph, list[Any] | None]:
        """The session's question: what to show of the file's graph (edited, or the original)."""
        if self.doc is None or self.doc.original is not file_graph:
            return file_graph, None
        graph = self.shown_graph()
        self.strip.show_preview(self._preview_of(self.doc), len(self.doc.edits))
        return graph, self._blocks_of(graph)

    # --- applying edits ----------------------------------------------------------------
    def apply(self, edit: Edit) -> bool:
        """Push ``edit`` (undoable); on an impossible edit show why and change nothing."""
        self._started = time.perf_counter()
        try:
            EditCommand.try_push(self.stack, self.document, edit)
        except ResectError as error:
            self._started = None
            self.show_error("Cannot apply this edit", str(error))
            return False
        except Exception as error:  # an engine bug must not lose the user's work: nothing changed
            log.exception("edit failed: %s", edit)
            self._started = None
            self.show_error(
                "Cannot apply this edit", f"{edit.describe()}: internal error ({type(error).__name__}: {error})"
            )
            return False
        self.window.statusBar().showMessage(edit.describe(), 5000)
        return True

    def show_error(self, title: str, message: str) -> None:
        line = message.strip().splitlines()[0] if message.strip() else title
        self.errors.append(line)
        self.error_shown.emit(line)
        resect.app.dialogs.show_error(self.window, title, line)

    def undo(self) -> None:
        self._started = time.perf_counter()
        self.stack.undo()

    def redo(self) -> None:
        self._started = time.perf_counter()
        self.stack.redo()

    def _changed(self, _event: str) -> None:
        if self.crossing:
            self.window.banner.hide()
        self.crossing = ()
        self._follow = True  # the next drawing shows what this edit changed
        self.picked = tuple(k for k in self.picked if self._layer_exists(k))
        self._render()

    def _layer_exists(self, key: str) -> bool:
        return self.doc is not None and self.doc.edited.has_layer(layer_of_box(key).split("/", 1)[0])

    # --- drawing -------------------------------------------------------------------------
    def shown_graph(self) -> ModelGraph:
        doc = self.document()
        return doc.original if self.mode == "original" else doc.edited

    def _render(self) -> None:
        """Show the current state through the session (layout off the UI thread); the
        overlays follow in ``_scene_ready``."""
        if self.doc is None:
            return
        if self._started is None:
            self._started = time.perf_counter()
        graph = self.shown_graph()
        self.strip.show_preview(self._preview_of(self.doc), len(self.doc.edits))
        self._ask_exact_counts()
        self._update_title()
        if self.canvas.prepared is not None and self.session.same_drawing(graph):
            # same drawing (a freeze, or its undo): keep the scene, refresh tree and overlays only
            self._follow = False
            self.session.show(graph)
            self._scene_ready()
            return
        self.session.show(graph, self._blocks_of(graph))

    def _blocks_of(self, graph: ModelGraph) -> list[Any]:
        """Blocks of a graph, cached for the original and the last graph shown."""
        cached = self._blocks.get(id(graph))
        if cached is not None and cached[0] is graph:
            return cached[1]
        from resect.app.session import find_blocks_safely

        blocks = find_blocks_safely(graph)
        original = self.document().original
        keep = {k: v for k, v in self._blocks.items() if v[0] is original}
        self._blocks = {**keep, id(graph): (graph, blocks)}
        return blocks

    def _scene_ready(self, *_: Any) -> None:
        if self._follow:
            self._follow = False
            self.canvas.follow(self.overlays.box_keys(self.changed_layers()))
        self.refresh_overlays()
        if self._started is not None:
            self.last_edit_seconds = time.perf_counter() - self._started
            self._started = None
        self.shown.emit()

    def changed_layers(self) -> list[str]:
        """What the last edit is about, for the view to follow: the new inputs and outputs,
        else the new layers (an insert or a new head)."""
        doc = self.doc
        if doc is None or self.mode != "edited":
            return []
        inputs = [r.layer for r in doc.edited.inputs if r not in doc.original.inputs]
        outputs = [r.layer for r in doc.edited.outputs if r not in doc.original.outputs]
        if inputs or outputs:
            return [*inputs, *outputs]
        preview = self._preview_of(doc)
        return list(preview.new) if preview is not None else []

    def refresh_overlays(self) -> None:
        if self.doc is None or self.canvas.prepared is None:
            return
        preview = self._preview_of(self.doc)
        o = self.overlays
        if preview is None:  # the unedited state, its preview still on a worker: nothing marked yet
            for kind in ("new", "frozen", "io", "removed"):
                o.show_layers(kind, ())
        elif self.mode == "edited":
            new_inputs = [r.layer for r in self.doc.edited.inputs if r not in self.doc.original.inputs]
            new_outputs = [r.layer for r in self.doc.edited.outputs if r not in self.doc.original.outputs]
            o.show_layers("new", [n for n in preview.new if n not in new_inputs])
            o.show_layers("frozen", preview.frozen)
            o.show_layers("io", [*new_inputs, *new_outputs], margin=6.0)
            o.show_layers("removed", ())
        else:
            frozen = [self._origin(name) for name in preview.frozen]
            o.show_layers("removed", preview.removed, margin=1.0)
            o.show_layers("frozen", [f for f in frozen if f])
            o.show_layers("new", ())
            sources = [info.source.layer for info in preview.inputs if info.source is not None]
            outputs = [self._origin(str(info.ref.layer)) for info in preview.outputs]
            o.show_layers("io", [*sources, *[x for x in outputs if x]], margin=6.0)
        o.show("picked", self.picked, margin=4.0)
        o.show_layers("cutpoints", self.cut_point_layers() if (self.show_cut_points or self.picked) else (), 5.0)
        o.show_tensors(self.crossing)

    def _ask_exact_counts(self) -> None:
        """Ask the Keras worker for the new layers' exact shapes and counts; until it
        answers, the strip shows the proved estimates marked (or "?")."""
        from resect.core.surgery import exact

        doc = self.doc
        if doc is None or not doc.edits or not self.session.use_keras:
            return
        jobs = exact.pending_jobs(doc.edited)
        if not jobs:
            return
        exact.mark_asked(jobs)

        def done(result: Any) -> None:
            for job, answer in zip(jobs, (result or {}).get("answers", []), strict=False):
                exact.remember(job, answer)
            if doc is self.doc:
                doc.refresh()

        def failed(message: str) -> None:
            log.info("exact layer counts unavailable: %s", message)

        self.session.keras.request("layer_answers", {"jobs": jobs}, on_done=done, on_error=failed, owner=self.window)

    # --- the unedited state's preview, off the UI thread ----------------------------------
    def _preview_of(self, doc: Document) -> Preview | None:
        """``doc.preview``; for the unedited state ``None`` until the worker's arrives."""
        return self.base_preview.of(doc)

    def _first_paint(self, _when: float) -> None:
        self.base_preview.first_paint(self.doc)

    def _base_preview_ready(self, doc: Document, result: Preview) -> None:
        if doc is self.doc and not doc.edits:
            self.strip.show_preview(result, 0)
            self.refresh_overlays()

    def _origin(self, name: str) -> str | None:
        edited = self.document().edited
        if not edited.has_layer(name):
            return None
        origin = edited.layer(name).origin
        return "/".join(origin) if origin else None

    def cut_point_layers(self) -> tuple[str, ...]:
        """Layers whose output is a valid single-tensor cut point of the shown graph."""
        graph = self.shown_graph()
        cached = self._cut_points.get(id(graph))
        if cached is not None and cached[0] is graph:
            return cached[1]
        from resect.core.analysis.cutpoints import single_tensor_cut_points

        refs = single_tensor_cut_points(graph)
        found = tuple(r.layer for r in refs if not graph.layer(r.layer).is_input)
        self._cut_points = {id(graph): (graph, found)}
        return found

    def set_mode(self, original: bool) -> None:
        self.mode = "original" if original else "edited"
        self.original_action.setChecked(original)
        self._render()

    def toggle_cut_points(self, on: bool) -> None:
        self.show_cut_points = on
        self.refresh_overlays()

    def _stack_changed(self, _index: int) -> None:
        if shiboken6.isValid(self.window):  # the stack emits while the window is torn down
            self._update_title()

    def _update_title(self) -> None:
        self.window._update_title()  # reads ``edit_count`` below

    # --- picking ---------------------------------------------------------------------------
    def pick(self, keys: tuple[str, ...], additive: bool) -> None:
        """Rubber band / shift-click: replace (or toggle into) the pick."""
        if additive:
            current = dict.fromkeys(self.picked)
            for key in keys:
                if key in current and len(keys) == 1:
                    current.pop(key)
                else:
                    current[key] = None
            self.picked = tuple(current)
        else:
            self.picked = tuple(keys)
        self.crossing = ()
        self.refresh_overlays()
        count = len(self.picked_layer_names())
        self.window.statusBar().showMessage(
            f"Picked {count} layer(s): X extracts them as a model, Ctrl+Shift+P makes them the outputs, Esc clears",
            8000,
        )

    def clear_pick(self) -> None:
        self.picked, self.crossing = (), ()
        self.refresh_overlays()

    def picked_layer_names(self) -> list[str]:
        prepared = self.canvas.prepared
        owners = {box.key: tuple(box.layers) for box in prepared.scene.boxes if box.layers} if prepared else {}
        return picked_layers(self.picked, owners)

    def extract_picked(self) -> bool:
        """ "Extract selection as model": the pick's boundary tensors become inputs and outputs."""
        if self.doc is None or not self.picked:
            self.window.statusBar().showMessage("Pick layers first: Shift+drag or Shift+click on the canvas", 6000)
            return False
        inputs, outputs = boundary(self.edited, self.picked_layer_names())
        return self.cut([str(r) for r in inputs], [str(r) for r in outputs])

    def picked_as_outputs(self) -> bool:
        """End the model at the picked layers (a multi-output feature extractor)."""
        if self.doc is None or not self.picked:
            return False
        refs = output_tensors(self.edited, self.picked_layer_names())
        done = self.apply(Cut(outputs=tuple(str(r) for r in refs)))
        if done:
            self.picked = ()
        return done

    def cut(self, inputs: list[str], outputs: list[str]) -> bool:
        """A cut; when skip tensors cross it, show them and offer the multi-input completion."""
        from resect.core.analysis.cutpoints import cut_region

        graph = self.edited
        try:
            region = cut_region(
                graph,
                [graph.resolve(t) for t in inputs] or list(graph.inputs),
                [graph.resolve(t) for t in outputs] or list(graph.outputs),
            )
        except ResectError:  # e.g. a layer inside a nested model: the engine inlines it and checks
            region = None
        complete = False
        if region is not None and region.crossing:
            self.crossing = tuple(region.crossing)
            self.refresh_overlays()
            parts = [f"{ref} (read by {', '.join(region.readers[ref])})" for ref in region.crossing]
            text = (
                "This cut lies inside a branch: these skip tensors cross it:\n  "
                + "\n  ".join(parts)
                + "\n\nComplete it as a multi-input cut (they become extra inputs)?"
            )
            self.window.statusBar().showMessage("Crossing: " + "; ".join(parts), 15000)
            self.window.banner.show_note(
                "<b>This cut lies inside a branch.</b> Skip tensor(s) crossing it (red): "
                + "; ".join(parts)
                + ". Complete it as a multi-input cut to keep them as extra inputs.",
                "Complete as multi-input cut",
                lambda: self._complete_cut(inputs, outputs, graph),
            )
            if not prompts.ask_yes_no(self.window, "Skip connection crosses the cut", text):
                return False  # the banner keeps the offer: its button completes the cut later
            complete = True
        done = self.apply(Cut(tuple(inputs), tuple(outputs), complete))
        if done:
            self.picked = ()
        return done

    def _complete_cut(self, inputs: list[str], outputs: list[str], graph: ModelGraph) -> bool:
        """The banner's "complete" button: the refused cut, completed (if nothing changed since)."""
        if self.doc is None or self.doc.edited is not graph:
            self.window.statusBar().showMessage("The model changed since: choose the cut again", 6000)
            return False
        done = self.apply(Cut(tuple(inputs), tuple(outputs), True))
        if done:
            self.picked = ()
        return done

    # --- context menu --------------------------------------------------------------------
    def _context_requested(self, target: Any, position: Any) -> None:
        self.select_target(target)
        menu = self.context_menu(target)
        if menu is not None:
            prompts.run_menu(menu, position)

    def select_target(self, target: Any) -> None:
        """A right-click selects what its menu acts on (the properties show that layer or tensor)."""
        if isinstance(target, TensorRef):
            self.viewer.select_tensor(target)
        elif target is not None:
            self.window._canvas_box_clicked(str(target))

    def context_menu(self, target: Any) -> QMenu | None:
        if self.doc is None or target is None:
            return None
        return menus.build(self, target)

    # --- recipes, export (app.editor.recipes) ------------------------------------------------
    def save_recipe(self, path: str | None = None) -> bool:
        return recipes.save_recipe(self, path)

    def open_recipe(self, path: str | None = None) -> bool:
        return recipes.open_recipe(self, path)

    def export(self) -> Any:
        return recipes.export(self)

    def open_in_new_window(self, path: str) -> Any:
        return recipes.open_in_new_window(self, path)
