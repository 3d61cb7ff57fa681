"""Loading a model into a ``ViewerDocument`` without ever blocking the UI thread.

Order of events when a file opens: the reader runs on a worker (milliseconds), the graph
and its blocks land in the document, a scene is laid out and prepared on a worker, the
canvas paints it. Meanwhile TensorFlow (imported in the background since start-up) loads
the model to fill shapes the file does not record; when it finishes, the graph is
replaced by the filled one and the scene is redrawn in place. If Keras cannot load the
model, a note names the layer and the graph stays as the file describes it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.canvas.prepared import PreparedScene, prepare
from app.document import ViewerDocument
from app.formatting import graph_totals
from app.layer_tree import remember_rows
from app.workers import TaskRunner
from core.errors import ResectError
from core.graph import ModelGraph
from core.render.perf import paused_gc

log = logging.getLogger(__name__)

LARGE_MODEL_LAYERS = 300  # above this, a model opens with its blocks collapsed


def read_and_analyse(path: str) -> tuple[ModelGraph, list[Any]]:
    """Reader plus block detection, both pure Python (runs on a worker)."""
    from core.reader import read_model

    graph = read_model(path)
    with paused_gc():  # warm the caches here, off the UI thread (GC paused: see core.render.perf)
        graph_totals(graph)
        remember_rows(graph)
    return graph, find_blocks_safely(graph)


def find_blocks_safely(graph: ModelGraph) -> list[Any]:
    """Blocks are a convenience: a failure there must never stop a model from opening."""
    try:
        from core.analysis.blocks import find_blocks

        return list(find_blocks(graph))
    except Exception:  # noqa: BLE001 - logged, the graph still shows
        log.exception("block detection failed")
        return []


def build_prepared(
    graph: ModelGraph, collapsed: frozenset[str], direction: str, blocks: list[Any] | None = None
) -> PreparedScene:
    """Layout + scene (core.render) and the canvas' arrays, on a worker."""
    from core.render.scene import build_scene

    return prepare(build_scene(graph, collapsed=collapsed, direction=direction, blocks=blocks or None))


def import_keras_quietly() -> None:
    from core.keras_backend.runtime import import_keras

    import_keras()


def load_shapes(path: str, graph: ModelGraph) -> tuple[ModelGraph, Any]:
    """The Keras model and our graph with every shape filled (runs on the Keras thread)."""
    from core.keras_backend.loading import fill_shapes, load_keras_model

    model = load_keras_model(path, graph)
    filled = fill_shapes(graph, model)
    with paused_gc():
        graph_totals(filled)
        remember_rows(filled)
    return filled, model


def default_collapsed(graph: ModelGraph, blocks: list[Any]) -> frozenset[str]:
    """Large models open with their innermost blocks (a residual block, an inception
    module, a ``block_3_`` group) collapsed, so the structure reads at a glance; small
    ones open flat."""
    if len(graph.layers) <= LARGE_MODEL_LAYERS:
        return frozenset()
    parents = {getattr(block, "parent", None) for block in blocks}
    return frozenset(block.name for block in blocks if block.name not in parents and block.kind != "nested")


class ModelSession(QObject):
    """Drives the document: open files, lay out scenes, run the Keras load."""

    opened = Signal(str)  # path, once the graph is in the document
    open_failed = Signal(str, str)  # path, one-line reason
    prepared_ready = Signal(object, bool)  # PreparedScene, keep_view
    keras_note = Signal(str)  # non-modal: why Keras could not load the model
    shapes_filled = Signal()

    def __init__(self, document: ViewerDocument, runner: TaskRunner, use_keras: bool = True) -> None:
        super().__init__(document)
        self.document = document
        self.runner = runner
        self.use_keras = use_keras
        self.keras_model: Any = None
        self._keras_import_started = False
        self._deferred_load: tuple[str, ModelGraph, int] | None = None
        self._scene_request = 0
        self.scene_pending = False
        document.collapsed_changed.connect(lambda: self.request_scene(keep_view=True))
        document.direction_changed.connect(lambda: self.request_scene(keep_view=False))

    # --- TensorFlow ------------------------------------------------------------
    def start_keras_import(self) -> None:
        """Import TensorFlow now, in the background, so it is ready when needed."""
        self._keras_import_started = True
        if not self.use_keras:
            self.document.set_keras_status("off", "Keras off")
            return
        self.document.set_keras_status("importing", "Importing TensorFlow…")

        def done(_: Any) -> None:
            if self.document.keras.state == "importing":
                self.document.set_keras_status("ready", "TensorFlow ready")

        def failed(error: BaseException) -> None:
            self.document.set_keras_status("failed", f"TensorFlow could not be imported: {error}")

        self.runner.submit(import_keras_quietly, on_done=done, on_error=failed, pool="keras", name="import-tf")

    # --- files -----------------------------------------------------------------
    def open(self, path: str) -> None:
        path = os.path.abspath(os.fspath(path))

        def done(result: tuple[ModelGraph, list[Any]]) -> None:
            graph, blocks = result
            self.keras_model = None
            self.document.collapsed = default_collapsed(graph, blocks)
            self.document.set_graph(graph, path=path, blocks=blocks)
            self.request_scene(keep_view=False)
            self.opened.emit(path)
            self._deferred_load = (path, graph, self.document.generation)

        def failed(error: BaseException) -> None:
            message = str(error) if isinstance(error, ResectError) else f"{path}: {type(error).__name__}: {error}"
            self.open_failed.emit(path, message.splitlines()[0] if message else path)

        self.runner.submit(read_and_analyse, path, on_done=done, on_error=failed, name="read")

    def start_deferred_keras(self) -> None:
        """Start TensorFlow work once the graph is on screen: importing it holds the GIL for
        seconds, so starting earlier would delay the first picture the user waits for."""
        if not self._keras_import_started:
            self.start_keras_import()
        pending, self._deferred_load = self._deferred_load, None
        if pending is not None and pending[2] == self.document.generation:
            self._load_with_keras(pending[0], pending[1])

    def _load_with_keras(self, path: str, graph: ModelGraph) -> None:
        if not self.use_keras:
            return
        generation = self.document.generation
        self.document.set_keras_status("loading", "Keras is loading the model…")

        def done(result: tuple[ModelGraph, Any]) -> None:
            if generation != self.document.generation:
                return
            filled, model = result
            self.keras_model = model
            self.document.set_graph(filled)
            self.request_scene(keep_view=True)
            self.document.set_keras_status("ready", "Shapes from Keras")
            self.shapes_filled.emit()

        def failed(error: BaseException) -> None:
            if generation != self.document.generation:
                return
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            self.document.set_keras_status("failed", message)
            self.keras_note.emit(message)

        self.runner.submit(load_shapes, path, graph, on_done=done, on_error=failed, pool="keras", name="keras-load")

    # --- scenes ----------------------------------------------------------------
    def request_scene(self, keep_view: bool = True) -> None:
        graph = self.document.graph
        if graph is None:
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

        document = self.document
        self.runner.submit(
            build_prepared,
            graph,
            document.collapsed,
            document.direction,
            list(document.blocks),
            on_done=done,
            on_error=failed,
            name="scene",
        )
