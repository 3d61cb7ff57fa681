"""The window's view of the graph: canvas selection, collapsing blocks, direction and
the toolbar search, all kept per model (reset on open)."""

from __future__ import annotations

from resect.app.canvas.prepared import PreparedScene
from resect.app.document import Selection
from resect.app.search import find_layers
from resect.core.layout.visible import layer_of_box

SEPARATOR = "/"


class GraphView:
    """Mixin of ``MainWindow``: what the canvas shows and selects."""

    def _reset_view_state(self) -> None:
        """Another model: the toolbar search (and its "n of m") belonged to the old one."""
        self.search_edit.blockSignals(True)
        self.search_edit.clear()
        self.search_edit.blockSignals(False)
        self.match_label.setText("")
        self._match_index = -1

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
        call = prepared.call_position(key) if prepared is not None else None  # a shared layer's call box: that call
        self.document.select_layer(*layer_of_box(key).split(SEPARATOR), call=call)

    def _selection_to_canvas(self) -> None:
        selection = self.document.selection
        if not selection.is_empty:
            self._selected_block = None
        if selection.layer_path:
            keys = self.visible_keys(selection.layer_path)
            if selection.call is not None and self.canvas.prepared is not None:
                calls = self.canvas.prepared.call_boxes(SEPARATOR.join(selection.layer_path))
                keys = calls[selection.call : selection.call + 1] or keys
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
