"""The layer tree (left): a real ``QAbstractItemModel`` over the ``ModelGraph``.

Columns: name, class, output shape, parameters, trainable. Nested models are expandable
rows. A proxy gives sorting (numbers sort as numbers) and a filter on name or class that
keeps the parents of matching nested rows. Totals sit under the view.
"""

from __future__ import annotations

from itertools import compress
from operator import is_not
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QLineEdit, QMenu, QTreeView, QVBoxLayout, QWidget

from resect.app.document import ViewerDocument
from resect.app.formatting import count_text, graph_totals, layer_shape_text, size_text
from resect.core.graph import Layer, ModelGraph

COLUMNS = ("Name", "Class", "Output shape", "Params", "Trainable")
_COLUMN_COUNT = len(COLUMNS)
PATH_ROLE = Qt.ItemDataRole.UserRole + 2
FILTER_ROLE = Qt.ItemDataRole.UserRole + 3  # "name\nclass": what the filter box matches, in Qt's own code
_NO_INDEX = QModelIndex()  # the invisible root, as a default argument


class _Row:
    __slots__ = ("layer", "path", "parent", "children", "row", "original_row")

    def __init__(self, layer: Layer | None, path: tuple[str, ...], parent: _Row | None, row: int) -> None:
        self.layer = layer
        self.path = path
        self.parent = parent
        self.row = row
        self.original_row = row
        self.children: list[_Row] = []


def _sort_key(layer: Layer, column: int, original_row: int) -> Any:
    if column == 0:
        return original_row
    if column == 1:
        return layer.class_name.lower()
    if column == 2:
        return layer_shape_text(layer)
    if column == 3:
        return layer.params
    return layer.trainable


def _build_rows(graph: ModelGraph, parent: _Row) -> None:
    for i, layer in enumerate(graph.layers):
        row = _Row(layer, parent.path + (layer.name,), parent, i)
        parent.children.append(row)
        if layer.subgraph is not None:
            _build_rows(layer.subgraph, row)


_prebuilt: dict[int, tuple[ModelGraph, _Row, dict[tuple[str, ...], _Row]]] = {}


def prebuild_rows(graph: ModelGraph) -> tuple[_Row, dict[tuple[str, ...], _Row]]:
    """The tree's rows for ``graph`` (plain Python objects). The loader calls this on its
    worker so a 20,000-layer model's rows are ready before the tree asks; each prebuilt set
    is handed out once (the model re-sorts and renumbers the rows it owns)."""
    root = _Row(None, (), None, 0)
    _build_rows(graph, root)
    by_path: dict[tuple[str, ...], _Row] = {}
    stack = list(root.children)
    while stack:
        row = stack.pop()
        by_path[row.path] = row
        stack.extend(row.children)
    return root, by_path


def remember_rows(graph: ModelGraph) -> None:
    """Prebuild (on a worker) the rows ``LayerTreeModel.set_graph`` will use for ``graph``."""
    root, by_path = prebuild_rows(graph)
    if len(_prebuilt) >= 4:
        _unlink(_prebuilt.pop(next(iter(_prebuilt)))[2])
    _prebuilt[id(graph)] = (graph, root, by_path)


def _unlink(by_path: dict[tuple[str, ...], _Row]) -> None:
    """Break the parent <-> children cycles of rows no longer used, so reference counting
    frees them (the session freezes the heap after a load: the cyclic GC never sees them)."""
    for row in by_path.values():
        row.parent = None
        row.children = []


LAYOUT_DEFER_MS = 5  # before the session's scene build (SCENE_DEFER_MS, 40 ms)
_ANSWERED_ROLES = frozenset(
    {
        PATH_ROLE,
        FILTER_ROLE,
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.TextAlignmentRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.ForegroundRole,
    }
)


class LayerTreeModel(QStandardItemModel):
    """Rows are layers in file order; a nested model's rows are its inner layers.

    The row structure lives in C++: a ``QStandardItemModel`` holding only row counts, with an
    item only where a row has children (a nested model). The view's layout then asks Python
    nothing per row: with ``index``/``hasChildren`` written in Python, laying out 20,000 rows
    made 40,000 Python calls, 100-200 ms of UI-thread time (issue 18). Texts come from the
    ``_Row`` objects through ``data``, which is only asked for the rows on screen."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._root = _Row(None, (), None, 0)
        self._by_path: dict[tuple[str, ...], _Row] = {}
        self._graph: ModelGraph | None = None
        self.was_reset = False  # did the last set_graph reset the model (new rows)?
        self._sort: tuple[int, Qt.SortOrder] = (0, Qt.SortOrder.AscendingOrder)
        self.setColumnCount(_COLUMN_COUNT)

    def set_graph(self, graph: ModelGraph | None) -> None:
        """Show ``graph``. The same layers with new shapes (Keras' answer) update the rows in
        place (``dataChanged`` on the changed columns): a reset would make the view and the
        filter proxy walk all 20,000 rows again, about half a second on the UI thread."""
        hit = _prebuilt.pop(id(graph), None) if graph is not None else None
        if hit is not None and hit[0] is not graph:
            hit = None
        self.was_reset = not (graph is not None and self._update_in_place(graph))
        if not self.was_reset:
            if hit is not None:  # rows prebuilt for ``graph``, not needed: unlinked in a later turn
                QTimer.singleShot(0, lambda: _unlink(hit[2]))
            return
        old = self._by_path
        self.beginResetModel()
        if hit is not None:
            self._root, self._by_path = hit[1], hit[2]
        elif graph is not None:
            self._root, self._by_path = prebuild_rows(graph)
        else:
            self._root, self._by_path = _Row(None, (), None, 0), {}
        self._graph = graph
        if self._sort != (0, Qt.SortOrder.AscendingOrder):
            self._apply_sort(*self._sort)
        self._build_skeleton()
        self.endResetModel()
        _unlink(old)

    def _build_skeleton(self) -> None:
        """Row counts per level and an item per nested model, matching ``self._root`` in its
        current order. Signals are held back: the caller brackets this with a model reset."""
        blocked = self.blockSignals(True)
        try:
            root = self.invisibleRootItem()
            root.setRowCount(0)
            self._fill(root, self._root)
        finally:
            self.blockSignals(blocked)

    def _fill(self, item: QStandardItem, row: _Row) -> None:
        item.setColumnCount(_COLUMN_COUNT)
        item.setRowCount(len(row.children))
        for child in row.children:
            if child.children:
                sub = QStandardItem()
                sub.setEditable(False)
                item.setChild(child.row, 0, sub)
                self._fill(sub, child)

    def _update_in_place(self, graph: ModelGraph) -> bool:
        """Give the rows whose layer ``graph`` replaced their new layer, when ``graph`` has
        the same rows. Keras' shapes make a new ``Layer`` only where something changed, so
        only those are visited: found in C (``is not`` over the layer tuples), not by a
        Python loop over 20,000 rows on the UI thread (40 ms)."""
        if self._graph is None or not self._by_path:
            return False
        swaps: list[tuple[_Row, Layer]] = []
        if not self._replaced_rows((), self._graph, graph, swaps):
            return False
        changed: dict[int, tuple[_Row, list[int]]] = {}  # parent -> positions of its changed rows
        root = self._root
        for row, layer in swaps:
            row.layer = layer
            parent = row.parent or root
            changed.setdefault(id(parent), (parent, []))[1].append(row.row)
        self._graph = graph
        if self._sort[0] in (2, 3, 4) and swaps:  # the values sorted on may have changed
            self.sort(*self._sort)
            changed = {id(p): (p, list(range(len(p.children)))) for p, _ in changed.values()}
        for parent, rows in changed.values():
            where = self.index_of(parent.path) if parent.path else QModelIndex()
            for first, last in _runs(sorted(rows)):  # only the rows that changed: views and
                # the filter proxy look again at what ``dataChanged`` names, nothing else
                self.dataChanged.emit(self.index(first, 1, where), self.index(last, _COLUMN_COUNT - 1, where))
        return True

    def _replaced_rows(
        self, path: tuple[str, ...], old: ModelGraph, new: ModelGraph, swaps: list[tuple[_Row, Layer]]
    ) -> bool:
        """Collect (row, new layer) where ``new`` replaced a layer of ``old`` (below
        ``path``); ``False`` when the rows would differ (another name, a nested model more
        or less, another count)."""
        before, after = old.layers, new.layers
        if len(before) != len(after):
            return False
        for i in compress(range(len(after)), map(is_not, before, after)):
            was, now = before[i], after[i]
            if was.name != now.name or (was.subgraph is None) != (now.subgraph is None):
                return False
            row = self._by_path.get(path + (now.name,))
            if row is None or row.layer is not was:
                return False
            swaps.append((row, now))
            if now.subgraph is not None and now.subgraph is not was.subgraph:
                if not self._replaced_rows(row.path, was.subgraph, now.subgraph, swaps):  # type: ignore[arg-type]
                    return False
        return True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort rows at every level by ``column``; name ascending is the file's own order.
        Flat rows have no items, so only the ``_Row`` lists move; with nested models the
        skeleton's items must move too, done as a reset (their expansion is not kept)."""
        if any(row.children for row in self._root.children):
            self.beginResetModel()
            self._apply_sort(column, order)
            self._build_skeleton()
            self.endResetModel()
            return
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        before = [(self._row(index), index.column()) for index in persistent]
        self._apply_sort(column, order)
        self.changePersistentIndexList(persistent, [self.index(row.row, col) for row, col in before])
        self.layoutChanged.emit()

    def _apply_sort(self, column: int, order: Qt.SortOrder) -> None:
        self._sort = (column, order)
        reverse = order == Qt.SortOrder.DescendingOrder
        stack = [self._root]
        while stack:
            node = stack.pop()
            node.children.sort(key=lambda r: _sort_key(r.layer, column, r.original_row), reverse=reverse)
            for i, child in enumerate(node.children):
                child.row = i
            stack.extend(node.children)

    def index_of(self, path: tuple[str, ...], column: int = 0) -> QModelIndex:
        row = self._by_path.get(tuple(path))
        if row is None:
            return QModelIndex()
        parent = row.parent
        where = self.index_of(parent.path) if parent is not None and parent.path else QModelIndex()
        return self.index(row.row, column, where)

    def _row(self, index: QModelIndex | QPersistentModelIndex) -> _Row:
        """The ``_Row`` shown at ``index``: its position under the rows of its parent."""
        if not index.isValid():
            return self._root
        parent = index.parent()
        if not parent.isValid():  # a top-level row: no recursion (the common case)
            return self._root.children[index.row()]
        return self._row(parent).children[index.row()]

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # a repaint asks about ten roles per cell and most have no answer: those return
        # before the row lookup (half the tree's paint time at 20,000 rows, issue 18)
        if role not in _ANSWERED_ROLES or not index.isValid():
            return None
        row = self._row(index)
        layer = row.layer
        column = index.column()
        if role == PATH_ROLE:
            return row.path
        if role == FILTER_ROLE:
            return f"{layer.name}\n{layer.class_name}"
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return layer.name
            if column == 1:
                return layer.class_name
            if column == 2:
                return layer_shape_text(layer)
            if column == 3:
                return count_text(layer.params)
            if column == 4:
                return "yes" if layer.trainable else "no"
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 3:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return layer.problem or f"{layer.name} ({layer.class_name})"
        if role == Qt.ItemDataRole.ForegroundRole and layer.problem:
            from PySide6.QtGui import QColor

            return QColor("#b3261e")
        return None


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    """Sorted positions as (first, last) runs of consecutive ones: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for position in positions:
        if runs and position == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], position)
        else:
            runs.append((position, position))
    return runs


class LayerFilterProxy(QSortFilterProxyModel):
    """Filter on name or class (case-insensitive); parents of matches stay visible.

    Qt's own filter, on ``FILTER_ROLE`` of column 0: a Python ``filterAcceptsRow`` was
    called for every row the source model reports changed, filter or not, and Keras'
    shapes arriving at 20,000 layers spent 70 ms of the UI thread there."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self.setDynamicSortFilter(False)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(0)
        self.setFilterRole(FILTER_ROLE)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting happens in the source model (a Python key sort of each row list: 20,000
        rows in milliseconds, where the proxy's comparisons would call ``data()`` 300,000
        times); the proxy only filters."""
        self.sourceModel().sort(column, order)


class LayerTreePanel(QWidget):
    """Filter box, tree view and totals; follows and drives ``document.selection``."""

    collapse_requested = Signal(str)  # a block or nested model name to toggle

    def __init__(self, document: ViewerDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.model = LayerTreeModel(self)
        self.proxy = LayerFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter layers by name or class")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._filter)

        self.view = QTreeView(self)
        self.view.setObjectName("layerTree")
        # The view shows the model itself and switches to the filter proxy only while a
        # filter is typed: a proxy re-maps all rows (a Python call per row) on every reset.
        self.view.setModel(self.model)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)  # rows read-only
        self.view.header().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.view.setSortingEnabled(True)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        header = self.view.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 160)
        header.resizeSection(1, 100)
        header.resizeSection(2, 120)
        self.view.selectionModel().currentChanged.connect(self._current_changed)

        self.totals = QLabel(self)
        self.totals.setObjectName("layerTotals")
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.totals.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.totals)

        self._syncing = False
        document.model_replaced.connect(self.reset_view_state)
        document.graph_changed.connect(self._graph_changed)
        document.selection_changed.connect(self._selection_changed)

    def reset_view_state(self) -> None:
        """Another model: its filter and scroll position were about the old one."""
        self.filter_edit.clear()
        self.view.scrollToTop()

    # --- document -> view ------------------------------------------------------
    def _graph_changed(self) -> None:
        graph = self.document.graph
        self._syncing = True
        try:
            self.model.set_graph(graph)
            if self.model.was_reset:
                # Lay the rows out in the next slice of the event loop, before the scene
                # build starts on a worker (the session queues it after this): with a worker
                # running Python, each of the view's per-row calls (index, rowCount) waits
                # for the GIL, and 50 ms of layout became 270 ms to 7 s. A few ms later,
                # not at once: the event loop then runs its timers and paints in between
                # (at once, the open slot and this layout ran as one 50-ms stall).
                QTimer.singleShot(LAYOUT_DEFER_MS, self, self._layout_rows)
            else:
                self._paint_now()  # the scene build is queued after this
        finally:
            self._syncing = False
        if graph is None:
            self.totals.setText("")
            return
        totals = graph_totals(graph)
        self.totals.setText(
            f"<b>Total params:</b> {count_text(totals.total)}<br>"
            f"Trainable: {count_text(totals.trainable)} · "
            f"Non-trainable: {count_text(totals.non_trainable)}<br>"
            f"Size: {size_text(totals.nbytes)} · {len(graph.layers)} layers"
        )
        self._selection_changed()

    def view_index(self, source: QModelIndex) -> QModelIndex:
        """``source`` (an index of ``self.model``) as an index of the model the view shows."""
        return self.proxy.mapFromSource(source) if self.view.model() is self.proxy else source

    def _show_model(self, model: QAbstractItemModel) -> None:
        if self.view.model() is model:
            return
        self.view.setModel(model)
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        self._selection_changed()

    def _layout_rows(self) -> None:
        self.view.doItemsLayout()
        self._selection_changed()
        self._paint_now()

    def _paint_now(self) -> None:
        """Paint the rows now, while no worker runs: painted later, during the scene build,
        each of the ~2,000 ``data()`` calls of a repaint waits for the GIL (400 ms seen)."""
        if self.view.isVisible():
            self.view.viewport().repaint()

    def _selection_changed(self) -> None:
        path = self.document.selection.layer_path
        if not path:
            return
        source = self.model.index_of(path)
        index = self.view_index(source)
        if not index.isValid() or index == self.view.currentIndex():
            return
        self._syncing = True
        try:
            self.view.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            )
            self.view.scrollTo(index)
        finally:
            self._syncing = False

    # --- view -> document ------------------------------------------------------
    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._syncing or not current.isValid():
            return
        path = current.data(PATH_ROLE)
        if path and path != self.document.selection.layer_path:
            self.document.select_layer(*path)

    def _filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        self._show_model(self.proxy if text.strip() else self.model)
        if text.strip():
            self.view.expandAll()

    def _context_menu(self, point: Any) -> None:
        index = self.view.indexAt(point)
        if not index.isValid():
            return
        path = index.data(PATH_ROLE)
        menu = QMenu(self)
        for name in self.collapse_targets(path):
            verb = "Expand" if name in self.document.collapsed else "Collapse"
            menu.addAction(f"{verb} {name}", lambda n=name: self.collapse_requested.emit(n))
        if not menu.isEmpty():
            menu.exec(self.view.viewport().mapToGlobal(point))

    def collapse_targets(self, path: tuple[str, ...]) -> list[str]:
        """Blocks (smallest first) that the top-level layer of ``path`` belongs to."""
        return [block.name for block in self.document.blocks_of(path[0])] if path else []
