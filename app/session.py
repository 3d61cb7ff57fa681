"""Loading a model into a ``ViewerDocument`` without ever blocking the UI thread.

Order of events when a file opens: the reader runs on a worker (milliseconds), the graph
and its blocks land in the document, a scene is laid out and prepared on a worker, the
canvas paints it. Then the Keras worker process (``app.keras_client``; TensorFlow never
enters this process) loads the model to fill shapes the file does not record; when its
shape table arrives, the graph is replaced by the filled one and the scene is redrawn in
place. If Keras cannot load the
model, a note names the layer and the graph stays as the file describes it.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from resect.app import keras_client
from resect.app.canvas.prepared import PreparedScene, prepare
from resect.app.document import ViewerDocument
from resect.app.formatting import graph_totals
from resect.app.keras_client import KerasClient
from resect.app.layer_tree import remember_rows
from resect.app.workers import TaskRunner
from resect.core.errors import ResectError
from resect.core.graph import ModelGraph
from resect.core.perf import paused_gc
from resect.core.shape_table import apply_shape_table

log = logging.getLogger(__name__)


def settle_heap() -> None:
    """Move everything alive now (a graph, its rows, a prepared scene: hundreds of thousands
    of long-lived, acyclic objects) out of the cyclic collector's reach. Called on a worker
    at the end of each big build. Without it the collector's next passes scan them all while
    holding the GIL: measured at 20,000 layers, a 390 ms gen-2 pass and 160-240 ms gen-0/1
    passes (their counts grow while ``paused_gc`` holds collection off) froze the UI thread.
    Frozen objects are still freed by reference counting when dropped; only a reference
    cycle among them would stay, and the graph objects are immutable trees."""
    gc.freeze()


GIL_SWITCH_INTERVAL_S = 0.0005
SCENE_DEFER_MS = 40


def share_gil_with_ui() -> None:
    """Let the UI thread take the GIL within 0.5 ms of asking (Python's default: 5 ms).
    While a worker runs Python (read, layout), every Python call the UI thread makes from
    Qt (a pyqtgraph paint, the tree's ``data()``) waits for the GIL; at 5 ms a repaint made
    of a few hundred such calls stalled the UI for 500 ms at 20,000 layers, at 0.5 ms about
    200-280 ms (measured with a 10 ms heartbeat, bench/bench_gui.py). Switching only happens
    when another thread asks, so a lone worker runs as fast as before."""
    if sys.getswitchinterval() > GIL_SWITCH_INTERVAL_S:
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


def read_and_analyse(path: str) -> tuple[ModelGraph, list[Any]]:
    """Reader plus block detection, both pure Python (runs on a worker)."""
    from resect.core.reader import read_model

    with paused_gc():  # warm the caches here, off the UI thread (GC paused: see core.perf)
        graph = read_model(path)
        warm_caches(graph)
        blocks = find_blocks_safely(graph)
        settle_heap()  # before collection resumes: its counts start from zero again
    return graph, blocks


def read_for_window(path: str) -> tuple[ModelGraph, list[Any], frozenset[str]]:
    """``read_and_analyse`` plus the blocks a large model opens collapsed (8 ms of Python
    at 20,000 layers, done here rather than in the UI thread's open slot)."""
    from resect.core.analysis.blocks import default_collapsed

    graph, blocks = read_and_analyse(path)
    return graph, blocks, default_collapsed(blocks, len(graph.layers))


def warm_caches(graph: ModelGraph) -> None:
    """Compute on the worker what the UI thread asks for first once the graph lands: the
    totals, the tree's rows, the graph's layer-by-name table (the properties panel's
    first lookup built it on the UI thread: 20,000 layers, about 60 ms) and its drawing key."""
    graph_totals(graph)
    remember_rows(graph)
    graph.has_layer("")
    drawing_key(graph)  # compared with the shown graph's when Keras' shapes arrive


def find_blocks_safely(graph: ModelGraph) -> list[Any]:
    """Blocks are a convenience: a failure there must never stop a model from opening."""
    try:
        from resect.core.analysis.blocks import find_blocks

        return list(find_blocks(graph))
    except Exception:  # noqa: BLE001 - logged, the graph still shows
        log.exception("block detection failed")
        return []


def build_prepared(
    graph: ModelGraph, collapsed: frozenset[str], direction: str, blocks: list[Any] | None = None
) -> PreparedScene:
    """Layout + scene (core.render) and the canvas' arrays, on a worker."""
    from resect.core.render.scene import build_scene

    with paused_gc():
        prepared = prepare(build_scene(graph, collapsed=collapsed, direction=direction, blocks=blocks or None))
        settle_heap()
    return prepared


def fill_from_table(graph: ModelGraph, table: dict[str, Any]) -> ModelGraph:
    """Our graph with the shapes the Keras worker found (pure Python, on a worker thread)."""
    with paused_gc():
        filled = apply_shape_table(graph, table)
        warm_caches(filled)
        settle_heap()
    return filled


def swap_in_layer_graph(read: ModelGraph, answer: dict[str, Any]) -> tuple[ModelGraph, list[Any]]:
    """A code-defined model (KerasHub): the layer graph the Keras worker built, with its
    shapes, and its blocks (pure Python, on a worker thread)."""
    from resect.core.layer_graph_json import graph_from_layer_json

    with paused_gc():
        graph = apply_shape_table(graph_from_layer_json(read, answer["layer_graph"]), answer["table"])
        warm_caches(graph)
        blocks = find_blocks_safely(graph)
        settle_heap()
    return graph, blocks


_drawing_keys: dict[int, tuple[ModelGraph, tuple]] = {}


def drawing_key(graph: ModelGraph) -> tuple:
    """What the canvas draws of a graph (names, classes, calls, shapes, parameter badges):
    two graphs with the same key share one scene, so a freeze needs no new layout.
    Remembered for the last few graphs: the workers that make a graph compute its key, so
    the UI thread only compares (building both keys there took 43 ms at 5,000 layers when
    Keras' shapes arrived)."""
    hit = _drawing_keys.get(id(graph))
    if hit is not None and hit[0] is graph:
        return hit[1]
    key = _drawing_key(graph)
    if len(_drawing_keys) >= 4:
        _drawing_keys.pop(next(iter(_drawing_keys)))
    _drawing_keys[id(graph)] = (graph, key)
    return key


def _drawing_key(graph: ModelGraph) -> tuple:
    return (
        graph.inputs,
        graph.outputs,
        tuple(
            (layer.name, layer.class_name, layer.params, tuple((n.inputs, n.output_shapes) for n in layer.nodes))
            for layer in graph.layers
        ),
    )


def _as_read(graph: ModelGraph) -> tuple[ModelGraph, list[Any] | None]:
    return graph, None


@dataclass(frozen=True)
class RemoteModel:
    """The model as loaded by the Keras worker process: what ``session.keras_model`` is
    once shapes are in. Requests about it (``input_report``) go through ``client``."""

    client: KerasClient
    path: str


class ModelSession(QObject):
    """Drives the document: open files, lay out scenes, run the Keras load. The one writer
    of what the window shows (``show``): the file's graph as read, as Keras filled it, or
    what the ``presenter`` (the editor) makes of it - edited, or the original view."""

    opened = Signal(str)  # path, once the graph is in the document
    open_failed = Signal(str, str)  # path, one-line reason
    prepared_ready = Signal(object, bool)  # PreparedScene, keep_view
    keras_note = Signal(str)  # non-modal: why Keras could not load the model
    shapes_filled = Signal()
    closed = Signal()  # File > Close: the document holds no model now

    def __init__(self, document: ViewerDocument, runner: TaskRunner, use_keras: bool = True) -> None:
        super().__init__(document)
        share_gil_with_ui()
        self.document = document
        self.runner = runner
        self.use_keras = use_keras
        self.keras = keras_client.acquire()  # the Keras worker process (shared), started when needed
        self._released = False
        self.keras_model: RemoteModel | None = None
        self._keras_import_started = False
        self._deferred_load: tuple[str, ModelGraph, int] | None = None
        self._scene_request = 0
        self.scene_pending = False
        self.file_graph: ModelGraph | None = None  # as read, then as Keras filled it: what edits apply to
        self.read_graph: ModelGraph | None = None  # the file's graph as read (before Keras)
        self.swapped_blocks: list[Any] | None = None  # set while ``shapes_filled`` announces a KerasHub graph
        # the file's graph -> (graph to show, its blocks or None to keep them); the editor installs its own
        self.presenter: Callable[[ModelGraph], tuple[ModelGraph, list[Any] | None]] = _as_read
        document.collapsed_changed.connect(lambda: self.request_scene(keep_view=True))
        document.direction_changed.connect(lambda: self.request_scene(keep_view=False))
        self.keras.ready.connect(self._keras_ready)
        self.keras.import_failed.connect(self._keras_import_failed)
        self.keras.died.connect(self._keras_died)
        application = QApplication.instance()
        if application is not None:
            application.aboutToQuit.connect(self.shutdown)

    def shutdown(self) -> None:
        """This window closes (called once its close is accepted, so a Cancel keeps Keras):
        let go of the Keras worker (the last window stops it)."""
        if self._released:
            return
        self._released = True
        self.keras_model = None
        self.keras.forget(self.document.parent())  # answers for this window go nowhere now
        for signal, slot in (
            (self.keras.ready, self._keras_ready),
            (self.keras.import_failed, self._keras_import_failed),
            (self.keras.died, self._keras_died),
        ):
            signal.disconnect(slot)
        keras_client.release(self.keras)

    # --- TensorFlow (in the worker process) ----------------------------------------------
    def start_keras_import(self) -> None:
        """Start the Keras worker now: TensorFlow imports there while the user looks at
        the graph, so it is ready by the time shapes or an export need it."""
        self._keras_import_started = True
        if not self.use_keras or self._released:
            self.document.set_keras_status("off", "Keras off")
            return
        if self.keras.is_ready:
            self.document.set_keras_status("ready", "TensorFlow ready")
        else:
            self.document.set_keras_status("importing", "Importing TensorFlow…")
        self.keras.start()

    def _keras_ready(self) -> None:
        if self.document.keras.state == "importing":
            self.document.set_keras_status("ready", "TensorFlow ready")

    def _keras_import_failed(self, message: str) -> None:
        self.document.set_keras_status("failed", f"TensorFlow could not be imported: {message}")

    def _keras_died(self, message: str) -> None:
        self.keras_model = None
        if self.use_keras:
            self.document.set_keras_status("failed", message)
            self.keras_note.emit(message + "; it restarts with the next request")

    # --- files -----------------------------------------------------------------
    def open(self, path: str) -> None:
        path = os.path.abspath(os.fspath(path))

        def done(result: tuple[ModelGraph, list[Any], frozenset[str]]) -> None:
            graph, blocks, collapsed = result
            self.keras_model = None
            self.file_graph = self.read_graph = graph
            self.document.collapsed = collapsed
            self.document.set_graph(graph, path=path, blocks=blocks)
            # after the tree's layout slice (queued by set_graph): a worker running Python
            # meanwhile would make each of the tree's per-row calls wait for the GIL
            self.request_scene(keep_view=False, defer=True)
            self.opened.emit(path)
            self._deferred_load = (path, graph, self.document.generation)

        def failed(error: BaseException) -> None:
            message = str(error) if isinstance(error, ResectError) else f"{path}: {type(error).__name__}: {error}"
            self.open_failed.emit(path, message.splitlines()[0] if message else path)

        self.runner.submit(read_for_window, path, on_done=done, on_error=failed, name="read")

    def close_model(self) -> None:
        """Drop the current model: late answers about it (read, scene, shapes) are ignored."""
        self.keras_model = self.file_graph = self.read_graph = None
        self._deferred_load = None
        self._scene_request += 1
        self.scene_pending = False
        self.document.clear()
        self.closed.emit()

    def start_deferred_keras(self) -> None:
        """Start TensorFlow work once the graph is on screen: importing it holds the GIL for
        seconds, so starting earlier would delay the first picture the user waits for."""
        if not self._keras_import_started:
            self.start_keras_import()
        pending, self._deferred_load = self._deferred_load, None
        if pending is not None and pending[2] == self.document.generation:
            self._load_with_keras(pending[0], pending[1])

    def retry_keras(self, reset: bool = False) -> None:
        """Load the open model with Keras again (the user's consent changed); ``reset``
        first shows the file's graph as read (a revoked consent: Keras' shapes go too)."""
        path, read = self.document.path, self.read_graph
        if not path or read is None:
            return
        self.keras_model = None
        self._deferred_load = None
        if reset and self.file_graph is not read:
            self.file_graph = read
            self.shapes_filled.emit()
            shown, blocks = self.presenter(read)
            self.show(shown, blocks, keep_view=True)
        self._load_with_keras(path, read)

    def _load_with_keras(self, path: str, graph: ModelGraph) -> None:
        if not self.use_keras or self._released:
            return
        generation = self.document.generation
        self.document.set_keras_status("loading", "Keras is loading the model…")

        def filled(result: ModelGraph) -> None:
            if generation != self.document.generation:
                return
            self.keras_model = RemoteModel(self.keras, path)
            self.document.set_keras_status("ready", "Shapes from Keras")
            if result is graph:  # the file recorded everything Keras knows: nothing to redraw
                return
            self.file_graph = result
            self.shapes_filled.emit()  # the editor re-bases its edits on the filled graph
            shown, blocks = self.presenter(result)
            self.show(shown, blocks, defer=True)  # drawn after the UI has taken the new shapes

        def swapped(result: tuple[ModelGraph, list[Any]]) -> None:
            if generation != self.document.generation:
                return
            self.keras_model = RemoteModel(self.keras, path)
            self.document.set_keras_status("ready", "Layer graph from Keras")
            self.file_graph, blocks = result
            self.swapped_blocks = blocks
            from resect.core.analysis.blocks import default_collapsed

            self.document.collapsed = default_collapsed(blocks, len(result[0].layers))
            self.shapes_filled.emit()  # the editor re-bases on the real graph (no edits can exist yet)
            self.swapped_blocks = None
            shown, shown_blocks = self.presenter(result[0])
            self.show(shown, blocks if shown_blocks is None else shown_blocks, defer=True, keep_view=False)

        def done(result: dict[str, Any]) -> None:
            if generation != self.document.generation:
                return
            if "layer_graph" in result:  # a code-defined model: Keras built its layer graph
                self.runner.submit(
                    swap_in_layer_graph, graph, result, on_done=swapped, on_error=failed, name="keras-graph"
                )
            else:
                self.runner.submit(
                    fill_from_table, graph, result["table"], on_done=filled, on_error=failed, name="keras-shapes"
                )

        def failed(error: BaseException | str) -> None:
            if generation != self.document.generation:
                return
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            self.document.set_keras_status("failed", message)
            self.keras_note.emit(message)

        self.keras.request("shapes", {"path": path}, on_done=done, on_error=failed, owner=self.document.parent())

    # --- what is shown -----------------------------------------------------------
    def same_drawing(self, graph: ModelGraph) -> bool:
        """``graph`` draws exactly as the scene on screen (a freeze): no new layout needed."""
        current = self.document.graph
        return current is not None and self.document.scene is not None and drawing_key(current) == drawing_key(graph)

    def show(
        self, graph: ModelGraph, blocks: list[Any] | None = None, defer: bool = False, keep_view: bool = True
    ) -> bool:
        """The one way a graph of the open file reaches the window after it opens (Keras'
        shapes or layer graph, an edit, undo, the original view). Lays out a new scene unless
        ``graph`` draws as the current one; ``True`` when a new scene is on its way.
        ``keep_view=False`` starts the view afresh (a KerasHub graph replacing no layers)."""
        redraw = not self.same_drawing(graph)
        self.document.set_graph(graph, blocks=blocks)
        if redraw:
            self.request_scene(keep_view=keep_view, defer=defer)
        return redraw

    # --- scenes ----------------------------------------------------------------
    def request_scene(self, keep_view: bool = True, defer: bool = False) -> None:
        """Lay out and prepare the document's scene on a worker; ``defer`` submits it
        ``SCENE_DEFER_MS`` later, once the UI has laid out and painted the new graph (the
        tree's rows): painted during the build, each of the paint's Python calls waits for
        the GIL, and a 20-ms paint of the tree took 220 ms."""
        if self.document.graph is None:
            return
        self._scene_request += 1
        request = self._scene_request
        self.scene_pending = True

        def done(prepared: PreparedScene) -> None:
            if request != self._scene_request:
                return
            self.scene_pending = False
            self.document.set_scene(prepared.scene)
            self.prepared_ready.emit(prepared, keep_view)

        def failed(error: BaseException) -> None:
            if request == self._scene_request:
                self.scene_pending = False
                log.error("drawing failed: %s", error)
                self.keras_note.emit(f"The graph could not be drawn: {error}")

        def submit() -> None:
            document = self.document
            if request != self._scene_request or document.graph is None:
                return
            self.runner.submit(
                build_prepared,
                document.graph,
                document.collapsed,
                document.direction,
                list(document.blocks),
                on_done=done,
                on_error=failed,
                name="scene",
            )

        if defer:
            QTimer.singleShot(SCENE_DEFER_MS, self, submit)
        else:
            submit()
