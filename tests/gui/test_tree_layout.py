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
