"""The layer tree's row structure lives in C++ (issue 18): laying out 20,000 rows asks Python
nothing per row (it made 40,000 Python calls, 100-200 ms of UI-thread time), and the rows
still show the right layers at every level, sorted or not, nested models included."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QTreeView

from resect.app.layer_tree import LayerTreeModel, remember_rows
from resect.core.graph import ModelGraph
from resect.core.reader import read_model

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from deep_model import write_deep_model  # noqa: E402


def _view(qtbot, model: LayerTreeModel) -> QTreeView:
    view = QTreeView()
    qtbot.addWidget(view)
    view.setUniformRowHeights(True)
    view.setModel(model)
    view.resize(500, 600)
    view.show()
    return view


def _python_calls_during(action) -> int:  # noqa: ANN001
    """How many Python functions run on this thread while ``action`` runs (from C++ too)."""
    calls = 0

    def count(frame, event, arg) -> None:  # noqa: ANN001
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(count)
    try:
        action()
    finally:
        sys.setprofile(None)
    return calls


def _shown(model: LayerTreeModel, parent: QModelIndex | None = None) -> list[tuple[str, list]]:
    """(name, children) per row as the model shows them, walking the C++ structure."""
    parent = parent if parent is not None else QModelIndex()
    rows = []
    for r in range(model.rowCount(parent)):
        index = model.index(r, 0, parent)
        rows.append((index.data(), _shown(model, index) if model.hasChildren(index) else []))
    return rows


def _expected(graph: ModelGraph, key) -> list[tuple[str, list]]:  # noqa: ANN001
    layers = sorted(graph.layers, key=key) if key else graph.layers
    return [(layer.name, _expected(layer.subgraph, key) if layer.subgraph else []) for layer in layers]


def test_laying_out_20000_rows_asks_python_nothing_per_row(qtbot, tmp_path: Path) -> None:
    graph = read_model(write_deep_model(tmp_path / "deep.keras", 20_000))
    remember_rows(graph)
    model = LayerTreeModel()
    view = _view(qtbot, model)
    model.set_graph(graph)
    calls = _python_calls_during(view.doItemsLayout)
    assert calls < 200, calls  # 40,000+ with index/hasChildren in Python
    assert model.rowCount() == len(graph.layers) == 19_999
    last = model.index_of((graph.layers[-1].name,), 1)
    view.scrollTo(last)
    assert view.visualRect(last).isValid()
    assert last.data() == graph.layers[-1].class_name
    assert model.index_of((graph.layers[-1].name,), 3).data() == f"{graph.layers[-1].params:,}"


def test_nested_rows_follow_sorting_at_every_level(qtbot, zoo) -> None:
    graph = read_model(str(zoo.path("nested", "keras")))
    model = LayerTreeModel()
    view = _view(qtbot, model)
    model.set_graph(graph)
    assert _shown(model) == _expected(graph, None)
    assert model.hasChildren(model.index_of(("func_block",)))
    assert not model.hasChildren(model.index_of(("stem",)))
    view.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    shown = _shown(model)
    classes = [model.index_of((name,), 1).data().lower() for name, _ in shown]
    assert classes == sorted((layer.class_name.lower() for layer in graph.layers), reverse=True)
    inner = dict(shown)["func_block"]
    inner_classes = [model.index_of(("func_block", name), 1).data().lower() for name, _ in inner]
    assert inner_classes == sorted(inner_classes, reverse=True)
    assert sorted(name for name, _ in inner) == sorted(
        layer.name for layer in graph.layer("func_block").subgraph.layers
    )
    view.sortByColumn(0, Qt.SortOrder.AscendingOrder)  # back to the file's order
    assert _shown(model) == _expected(graph, None)
    assert model.index_of(("func_block", "inner_dense"), 0).data() == "inner_dense"


def test_keras_shapes_for_one_layer_update_that_row_only(qtbot, tmp_path: Path) -> None:
    """Keras' answer usually changes a few layers of a large model (here one shape the file
    did not record): the rows update in place, ``dataChanged`` names only the changed row,
    and the filter proxy behind the tree asks Python nothing per row (a Python
    ``filterAcceptsRow`` ran for all 20,000 rows: 70 ms of the UI thread, issue 18)."""
    from resect.app.layer_tree import LayerFilterProxy
    from resect.core.shape_table import apply_shape_table

    graph = read_model(write_deep_model(tmp_path / "deep.keras", 5_000))
    model = LayerTreeModel()
    proxy = LayerFilterProxy()
    proxy.setSourceModel(model)
    view = _view(qtbot, model)
    model.set_graph(graph)
    target = graph.layers[2_345]
    shapes = [[list(node.input_shapes), [[None, 99]]] for node in target.nodes]
    filled = apply_shape_table(graph, {"layers": {target.name: {"nodes": shapes}}})
    assert filled.layers[2_345] is not target and filled.layers[2_344] is graph.layers[2_344]
    ranges: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda top, bottom, *_: ranges.append((top.row(), bottom.row())))
    remember_rows(filled)
    calls = _python_calls_during(lambda: model.set_graph(filled))
    assert not model.was_reset
    assert ranges == [(2_345, 2_345)]
    assert calls < 100, calls  # was 5,000+ (the proxy's filterAcceptsRow per row)
    assert model.index_of((target.name,), 2).data() == "(None, 99)"
    # Keras fills every layer (a file that records no shapes): one range, still no Python per row
    table = {
        layer.name: {"nodes": [[list(node.input_shapes), [[None, 7]]] for node in layer.nodes]}
        for layer in filled.layers
    }
    refilled = apply_shape_table(filled, {"layers": table})
    remember_rows(refilled)
    ranges.clear()
    calls = _python_calls_during(lambda: model.set_graph(refilled))
    assert not model.was_reset and ranges == [(0, len(graph.layers) - 1)]
    assert calls < 100, calls
    view.scrollTo(model.index_of((target.name,), 0))
    proxy.setFilterFixedString(target.name.upper())  # the filter still matches names ...
    assert [proxy.index(r, 0).data() for r in range(proxy.rowCount())] == [target.name]
    proxy.setFilterFixedString(target.class_name.lower())  # ... and classes, case-insensitive
    assert proxy.rowCount() == sum(layer.class_name == target.class_name for layer in graph.layers)
