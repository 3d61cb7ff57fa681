"""What the window shows, as one observable object: the graph, its blocks, which blocks
are collapsed, the drawing direction, the current scene and the selection.

Panels subscribe to the signals and never talk to each other: a click in the tree sets
``document.select(...)``, and the canvas and the properties panel follow. The editor
(issue 5) will feed edited graphs through ``set_graph`` the same way the file loader does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from resect.core.graph import Layer, ModelGraph
from resect.core.tensor_ref import TensorRef


@dataclass(frozen=True)
class Selection:
    """The selected layer (path through nested models), or tensor, and optionally one weight.
    ``call``: one call of a shared layer (0-based, in call order), when its box was clicked."""

    layer_path: tuple[str, ...] = ()
    tensor: TensorRef | None = None
    weight: str | None = None
    call: int | None = None

    @property
    def is_empty(self) -> bool:
        return not self.layer_path and self.tensor is None


@dataclass
class KerasStatus:
    """State of the background Keras work, shown in the status bar."""

    state: str = "idle"  # idle | importing | loading | ready | failed | off
    message: str = ""


class ViewerDocument(QObject):
    """The observable state of one window."""

    model_replaced = Signal()  # another file (or none): per-model view state (filters, scroll) resets
    graph_changed = Signal()  # a new graph (new file, shapes filled, or an edit)
    scene_changed = Signal()  # a new drawing of the current graph is ready
    collapsed_changed = Signal()
    direction_changed = Signal()
    selection_changed = Signal()
    keras_status_changed = Signal()
    search_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path: str = ""
        self.graph: ModelGraph | None = None
        self.blocks: list[Any] = []  # core.analysis.blocks.Block
        self.collapsed: frozenset[str] = frozenset()
        self.direction: str = "TB"
        self.scene: Any = None  # core.render.scene.Scene
        self.selection = Selection()
        self.search_matches: tuple[str, ...] = ()
        self.keras = KerasStatus()
        self.generation = 0  # bumped on every new file, so late results from an old one are dropped

    # --- graph -----------------------------------------------------------------
    def set_graph(self, graph: ModelGraph, path: str | None = None, blocks: list[Any] | None = None) -> None:
        """Show ``graph``; passing ``path`` means a (re)opened file: selection and search reset."""
        new_file = path is not None
        if new_file:
            self.path = path
            self.generation += 1
            self.selection = Selection()
            self.search_matches = ()
            self.model_replaced.emit()  # before the rows are built: a stale filter costs a pass
        self.graph = graph
        if blocks is not None:
            self.blocks = list(blocks)
        self.graph_changed.emit()
        if new_file:
            self.selection_changed.emit()

    def clear(self) -> None:
        """No model (File > Close): every panel shows its empty state."""
        self.path, self.graph, self.blocks, self.scene = "", None, [], None
        self.collapsed = frozenset()
        self.generation += 1
        self.selection = Selection()
        self.search_matches = ()
        self.model_replaced.emit()
        self.graph_changed.emit()
        self.selection_changed.emit()
        self.search_changed.emit()

    def set_collapsed(self, collapsed: frozenset[str]) -> None:
        if collapsed != self.collapsed:
            self.collapsed = frozenset(collapsed)
            self.collapsed_changed.emit()

    def set_direction(self, direction: str) -> None:
        if direction not in ("TB", "LR"):
            raise ValueError(f"direction must be TB or LR, not {direction!r}")
        if direction != self.direction:
            self.direction = direction
            self.direction_changed.emit()

    def set_scene(self, scene: Any) -> None:
        self.scene = scene
        self.scene_changed.emit()

    def set_keras_status(self, state: str, message: str = "") -> None:
        self.keras = KerasStatus(state, message)
        self.keras_status_changed.emit()

    # --- selection -------------------------------------------------------------
    def select(self, selection: Selection) -> None:
        if selection != self.selection:
            self.selection = selection
            self.selection_changed.emit()

    def select_layer(self, *path: str, call: int | None = None) -> None:
        self.select(Selection(layer_path=tuple(path), call=call))

    def select_tensor(self, tensor: TensorRef) -> None:
        self.select(Selection(tensor=tensor))

    def select_weight(self, weight: str | None) -> None:
        self.select(Selection(layer_path=self.selection.layer_path, weight=weight, call=self.selection.call))

    def set_search_matches(self, names: tuple[str, ...]) -> None:
        self.search_matches = tuple(names)
        self.search_changed.emit()

    # --- lookups ---------------------------------------------------------------
    def layer_at(self, path: tuple[str, ...]) -> Layer | None:
        """The layer at a nested path such as ``("func_block", "inner_dense")``."""
        graph = self.graph
        layer = None
        for name in path:
            if graph is None or not graph.has_layer(name):
                return None
            layer = graph.layer(name)
            graph = layer.subgraph
        return layer

    @property
    def selected_layer(self) -> Layer | None:
        return self.layer_at(self.selection.layer_path) if self.selection.layer_path else None

    def block_named(self, name: str) -> Any:
        return next((block for block in self.blocks if block.name == name), None)

    def blocks_of(self, layer_name: str) -> list[Any]:
        """Blocks containing a top-level layer, smallest first."""
        found = [block for block in self.blocks if layer_name in block.layers]
        return sorted(found, key=lambda block: len(block.layers))
