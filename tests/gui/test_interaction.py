"""Drive the viewer as a user: click rows and boxes, search, collapse, hover, export."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QMouseEvent
from PySide6.QtWidgets import QApplication

from resect.core.reader import read_model
from tests.gui.helpers import open_and_wait


def click_tree_row(qtbot, window, path: tuple[str, ...]) -> None:
    panel = window.tree
    index = panel.view_index(panel.model.index_of(path))
    panel.view.scrollTo(index)
    rect = panel.view.visualRect(index)
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def box_point(window, key: str) -> QPoint:
    canvas = window.canvas
    canvas.zoom_to_keys((key,))
    QApplication.processEvents()
    x, y = canvas.prepared.box(key).center
    return canvas.scene_point_to_widget(x, y)


def empty_point(window) -> QPoint:
    """A viewport pixel with neither a box nor an edge under it."""
    canvas = window.canvas
    viewport = canvas.view.viewport()
    for x in range(5, viewport.width(), 15):
        for y in range(5, viewport.height(), 15):
            scene_point = canvas.viewbox.mapSceneToView(canvas.view.mapToScene(QPoint(x, y)))
            if canvas._pick(scene_point.x(), scene_point.y()) == (None, None):
                return QPoint(x, y)
    raise AssertionError("no empty spot on the canvas")


def click_box(qtbot, window, key: str, double: bool = False) -> None:
    point = box_point(window, key)
    viewport = window.canvas.view.viewport()
    if double:  # the events a real double click delivers (QTest's own depends on the previous click's time)
        left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
        for kind, buttons in (
            (QEvent.Type.MouseButtonPress, left),
            (QEvent.Type.MouseButtonRelease, none),
            (QEvent.Type.MouseButtonDblClick, left),
            (QEvent.Type.MouseButtonRelease, none),
        ):
            event = QMouseEvent(
                kind,
                QPointF(point),
                QPointF(viewport.mapToGlobal(point)),
                left,
                buttons,
                Qt.KeyboardModifier.NoModifier,
            )
            QApplication.sendEvent(viewport, event)
    else:
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=point)


@pytest.fixture
def resnet_window(qtbot, make_window, zoo):
    window = make_window()
    open_and_wait(qtbot, window, zoo.path("resnet50", "keras"))
    return window


def test_tree_click_moves_canvas_and_properties(qtbot, resnet_window):
    window = resnet_window
    click_tree_row(qtbot, window, ("conv3_block2_2_conv",))
    assert window.document.selection.layer_path == ("conv3_block2_2_conv",)
    assert window.canvas.selected_keys == ("conv3_block2_2_conv",)
    assert window.canvas.viewbox.viewRect().contains(window.canvas.prepared.rect_of("conv3_block2_2_conv"))
    header = window.properties.header.text()
    assert "conv3_block2_2_conv" in header and "Conv2D" in header and "147,584" in header
    calls = window.properties.calls
    assert calls.item(0, 1).text() == "conv3_block2_1_relu:0:0"
    assert calls.item(0, 3).text() == "(None, 28, 28, 128)"
    weights = window.properties.weights
    assert [weights.item(r, 0).text() for r in range(weights.rowCount())] == ["kernel", "bias"]
    assert weights.item(0, 1).text() == "(3, 3, 128, 128)"


def test_canvas_click_moves_tree(qtbot, resnet_window):
    window = resnet_window
    click_box(qtbot, window, "conv4_block1_0_conv")
    assert window.document.selection.layer_path == ("conv4_block1_0_conv",)
    current = window.tree.view.currentIndex()
    assert current.data() == "conv4_block1_0_conv"
    assert "conv4_block1_0_conv" in window.properties.header.text()
    # clicking empty canvas keeps the app consistent (nothing breaks, selection stays)
    qtbot.mouseClick(window.canvas.view.viewport(), Qt.MouseButton.LeftButton, pos=empty_point(window))
    assert window.document.selection.layer_path == ("conv4_block1_0_conv",)


def test_edge_hover_shows_tensor_shape_and_click_selects_tensor(qtbot, resnet_window):
    window = resnet_window
    canvas = window.canvas
    edge_index = next(i for i, e in enumerate(canvas.prepared.scene.edges) if e.source == "conv2_block1_0_conv")
    edge = canvas.prepared.scene.edges[edge_index]
    canvas.zoom_to_keys(("conv2_block1_0_conv", "conv2_block1_0_bn"))
    QApplication.processEvents()
    (x0, y0), (x1, y1) = edge.points[-2], edge.points[-1]
    point = canvas.scene_point_to_widget((x0 + x1) / 2, (y0 + y1) / 2)
    qtbot.mouseMove(canvas.view.viewport(), QPoint(point.x() + 40, point.y()))

    jiggle = iter(range(10**6))

    def hovered() -> bool:  # pyqtgraph drops moves faster than 100 Hz: keep moving until one lands
        qtbot.mouseMove(canvas.view.viewport(), point + QPoint(0, next(jiggle) % 2))
        return canvas.hovered_edge == edge_index

    qtbot.waitUntil(hovered, timeout=3000)
    assert "56×56×256" in canvas.view.toolTip() and "conv2_block1_0_conv:0:0" in canvas.view.toolTip()
    qtbot.mouseClick(canvas.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert window.document.selection.tensor == edge.tensor
    text = window.properties.header.text()
    assert "(None, 56, 56, 256)" in text and "conv2_block1_0_bn" in text


def test_search_jumps_and_highlights(qtbot, resnet_window):
    window = resnet_window
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.search_edit.hasFocus()
    qtbot.keyClicks(window.search_edit, "conv5_block3_")
    graph = window.document.graph
    expected = [layer.name for layer in graph.layers if "conv5_block3_" in layer.name]
    assert window.document.search_matches == tuple(expected)
    assert set(window.canvas._search_keys) == set(expected)
    assert window.document.selection.layer_path == (expected[0],)
    qtbot.keyClick(window.search_edit, Qt.Key.Key_Return)
    assert window.document.selection.layer_path == (expected[1],)
    assert window.match_label.text() == f"2 of {len(expected)}"
    assert window.tree.view.currentIndex().data() == expected[1]
    # by class name
    window.search_edit.clear()
    qtbot.keyClicks(window.search_edit, "globalaveragepooling")
    assert window.document.search_matches == ("avg_pool",)


def test_tree_filter_keeps_matching_rows(qtbot, resnet_window):
    window = resnet_window
    qtbot.keyClicks(window.tree.filter_edit, "_add")
    proxy = window.tree.proxy
    names = {proxy.index(r, 0).data() for r in range(proxy.rowCount())}
    assert names == {layer.name for layer in window.document.graph.layers if layer.class_name == "Add"}
    assert len(names) == 16
    window.tree.filter_edit.clear()
    qtbot.keyClicks(window.tree.filter_edit, "zeropadding")  # by class, case-insensitive
    assert {proxy.index(r, 0).data() for r in range(proxy.rowCount())} == {"conv1_pad", "pool1_pad"}


def test_tree_sorts_by_params(qtbot, resnet_window):
    window = resnet_window
    window.tree.view.sortByColumn(3, Qt.SortOrder.DescendingOrder)
    proxy = window.tree.proxy
    shown = [int(proxy.index(r, 3).data().replace(",", "")) for r in range(proxy.rowCount())]
    assert shown == sorted((layer.params for layer in window.document.graph.layers), reverse=True)
    assert proxy.index(0, 0).data() == "conv5_block1_2_conv"  # 3*3*512*512 + 512 beats the 2048x1000 head


def test_collapse_and_expand_block_from_canvas(qtbot, resnet_window):
    window = resnet_window
    click_box(qtbot, window, "conv3_block2_1_conv")
    qtbot.keyClick(window.canvas.view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: "conv3_block2" in window.canvas.prepared.index, timeout=10_000)
    assert window.document.collapsed == frozenset({"conv3_block2"})
    block_box = window.canvas.prepared.box("conv3_block2")
    assert "conv3_block2_2_conv" in block_box.layers and "conv3_block2_1_conv" not in window.canvas.prepared.index
    # the selected layer is inside the block: the block box carries the selection
    assert window.canvas.selected_keys == ("conv3_block2",)
    assert len(window.canvas.prepared.keys) == 177 - len(block_box.layers) + 1
    click_box(qtbot, window, "conv3_block2", double=True)
    qtbot.waitUntil(lambda: "conv3_block2_1_conv" in window.canvas.prepared.index, timeout=10_000)
    assert window.document.collapsed == frozenset()


def test_collapse_from_tree_and_collapse_all(qtbot, resnet_window):
    window = resnet_window
    assert window.tree.collapse_targets(("conv2_block1_add",))[:2] == ["conv2_block1", "conv2"]
    window.tree.collapse_requested.emit("conv2")
    qtbot.waitUntil(lambda: "conv2" in window.canvas.prepared.index, timeout=10_000)
    window.collapse_all_action.trigger()
    qtbot.waitUntil(lambda: "conv4" in window.canvas.prepared.index, timeout=10_000)
    assert len(window.canvas.prepared.keys) < 30
    window.expand_all_action.trigger()
    qtbot.waitUntil(lambda: len(window.canvas.prepared.keys) == 177, timeout=10_000)


def test_direction_toggle_lays_out_left_to_right(qtbot, resnet_window):
    window = resnet_window
    tall = window.canvas.prepared.bounds
    assert tall.height() > tall.width()
    qtbot.keyClick(window.canvas.view, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: window.canvas.prepared.scene.direction == "LR", timeout=10_000)
    wide = window.canvas.prepared.bounds
    assert wide.width() > wide.height()
    assert window.direction_action.isChecked()


def test_fit_and_readable_opening(qtbot, resnet_window):
    window = resnet_window
    canvas = window.canvas
    # a tall model opens at a readable scale at its input, not fitted into a thin column
    assert canvas.scale() == pytest.approx(1.0, rel=0.05)
    assert canvas.viewbox.viewRect().intersects(canvas.prepared.rect_of("input_layer"))
    qtbot.keyClick(canvas.view, Qt.Key.Key_F)
    assert canvas.viewbox.viewRect().contains(canvas.prepared.bounds.adjusted(5, 5, -5, -5))
    assert canvas.scale() < 0.2
    assert canvas.overview.isHidden()


def test_siamese_shared_layer_properties(qtbot, make_window, zoo):
    window = make_window()
    open_and_wait(qtbot, window, zoo.path("siamese", "keras"))
    click_box(qtbot, window, "tower_dense")  # the box of call 1: that call alone (issue 13)
    calls = window.properties.calls
    assert calls.rowCount() == 1 and calls.item(0, 1).text() == "tower_pool:0:0"
    assert window.tree.view.currentIndex().data(Qt.ItemDataRole.DisplayRole) == "tower_dense"
    assert "×2 calls" in window.tree.view.currentIndex().siblingAtColumn(2).data()
    window.document.select_layer("tower_dense")  # the layer (tree, search): every call
    assert [calls.item(r, 1).text() for r in range(calls.rowCount())] == ["tower_pool:0:0", "tower_pool:1:0"]


def test_nested_model_rows_expand_and_select_inner_layer(qtbot, make_window, zoo):
    window = make_window()
    open_and_wait(qtbot, window, zoo.path("nested", "keras"))
    parent = window.tree.view_index(window.tree.model.index_of(("func_block",)))
    window.tree.view.expand(parent)
    click_tree_row(qtbot, window, ("func_block", "inner_dense"))
    assert window.document.selection.layer_path == ("func_block", "inner_dense")
    assert window.canvas.selected_keys == ("func_block/inner_dense",)
    assert "inner_dense" in window.properties.header.text()
    click_tree_row(qtbot, window, ("func_block",))
    assert set(window.canvas.selected_keys) == {
        "func_block/inner_in",
        "func_block/inner_skip",
        "func_block/inner_dense",
        "func_block/inner_add",
    }
    assert window.properties.calls.rowCount() == 2  # the nested model is called twice
    # collapse the nested model from the tree: one box, carrying the selection
    window.tree.collapse_requested.emit("func_block")
    qtbot.waitUntil(lambda: "func_block" in window.canvas.prepared.index, timeout=10_000)
    assert window.canvas.selected_keys == ("func_block",)


@pytest.mark.parametrize("fmt", ["keras", "tf2.h5"])
def test_weight_histogram_matches_keras_values(qtbot, make_window, zoo, fmt):
    from resect.core.keras_backend.runtime import import_keras

    path = zoo.path("small_resnet", fmt)
    keras = import_keras()
    model = keras.models.load_model(path, compile=False)
    conv = next(layer for layer in model.layers if layer.__class__.__name__ == "Conv2D")
    window = make_window()
    open_and_wait(qtbot, window, path)
    click_tree_row(qtbot, window, (conv.name,))
    table = window.properties.weights
    row = [table.item(r, 0).text() for r in range(table.rowCount())].index("kernel")
    with qtbot.waitSignal(window.properties.weight_loaded, timeout=10_000):
        qtbot.mouseClick(
            table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(table.item(row, 0)).center()
        )
    values = np.asarray(conv.kernel.numpy(), dtype=np.float64)
    stats = window.properties.histogram.stats
    assert stats.count == values.size
    assert stats.minimum == pytest.approx(values.min(), abs=1e-7)
    assert stats.maximum == pytest.approx(values.max(), abs=1e-7)
    assert stats.mean == pytest.approx(values.mean(), abs=1e-7)
    assert stats.std == pytest.approx(values.std(), abs=1e-7)
    assert window.properties.histogram.counts.sum() == values.size
    assert f"{values.std():.6g}" in window.properties.histogram.stats_label.text()
    assert window.document.selection.weight == "kernel"


def test_batch_norm_statistics_are_non_trainable_in_properties(qtbot, resnet_window):
    window = resnet_window
    click_tree_row(qtbot, window, ("conv1_bn",))
    table = window.properties.weights
    flags = {table.item(r, 0).text(): table.item(r, 4).text() for r in range(table.rowCount())}
    assert flags == {"gamma": "True", "beta": "True", "moving_mean": "False", "moving_variance": "False"}
    assert "non-trainable 128" in window.properties.header.text()


def test_corrupt_file_shows_error_and_app_still_works(qtbot, make_window, zoo, dialog_log, tmp_path):
    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    window = make_window()
    open_and_wait(qtbot, window, zoo.path("siamese", "keras"))
    window.open_path(bad)
    qtbot.waitUntil(lambda: bool(dialog_log.errors), timeout=10_000)
    title, message = dialog_log.errors[0]
    assert title == "Cannot open model"
    assert str(bad) in message and "\n" not in message
    assert window.document.graph.name == "siamese"  # what was open stays open
    open_and_wait(qtbot, window, zoo.path("small_resnet", "keras"))
    assert window.document.graph.name == "small_resnet"
    assert window.windowTitle() == "small_resnet.keras — Resect"


def test_recent_files_and_drag_and_drop(qtbot, make_window, zoo, settings):
    window = make_window()
    first, second = zoo.path("siamese", "keras"), zoo.path("nested", "keras")
    open_and_wait(qtbot, window, first)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(second))])
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(QPoint(200, 200), *args)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(200, 200), *args)
    QApplication.sendEvent(window, drop)
    assert drop.isAccepted()
    qtbot.waitUntil(
        lambda: window.document.graph is not None and window.document.graph.name == "nested", timeout=10_000
    )
    assert window.recent.paths()[:2] == [str(second), str(first)]
    assert settings.value("recent_files")[:2] == [str(second), str(first)]
    window.recent_menu.aboutToShow.emit()
    action = next(a for a in window.recent_menu.actions() if a.toolTip() == str(first))
    assert action.text() == f"{first.name}  —  {first.parent}"  # the name, then where it is
    action.trigger()
    qtbot.waitUntil(
        lambda: window.document.graph.name == "siamese" and not window.session.scene_pending, timeout=10_000
    )


def test_export_svg_png_and_summary(qtbot, make_window, zoo, dialog_log, tmp_path):
    window = make_window()
    path = zoo.path("small_resnet", "keras")
    open_and_wait(qtbot, window, path)
    graph = read_model(path)
    svg, png, txt = tmp_path / "graph.svg", tmp_path / "graph.png", tmp_path / "summary.txt"
    dialog_log.save_paths[:] = [str(svg), str(png), str(txt)]
    window.export_picture_action.trigger()
    window.export_picture_action.trigger()
    window.export_summary_action.trigger()
    qtbot.waitUntil(lambda: svg.exists() and png.exists() and txt.exists(), timeout=30_000)
    tree = ET.parse(svg)
    texts = {"".join(node.itertext()) for node in tree.iter() if node.tag.endswith("text")}
    assert {layer.name for layer in graph.layers} <= texts
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    with Image.open(png) as image:
        assert image.width > 100 and image.height > 500
        assert len(set(image.convert("L").getdata())) > 10  # not blank
    summary = txt.read_text()
    assert f"{graph.total_params:,}" in summary and "conv2_block1_add" in summary
    assert not dialog_log.errors
    assert not list(tmp_path.glob(".resect-*"))  # no temp files left


def test_about_box_and_shortcuts(qtbot, make_window, dialog_log):
    window = make_window()
    window.about_action.trigger()
    assert dialog_log.errors == [("about", "")]
    shortcuts = {a.shortcut().toString() for a in window.actions() if not a.shortcut().isEmpty()}
    assert {"Ctrl+O", "Ctrl+F", "F", "Z", "D", "Space", "Ctrl+E"} <= shortcuts


def test_sorted_tree_keeps_selection_sync_and_survives_reopen(qtbot, make_window, zoo):
    window = make_window()
    path = zoo.path("small_resnet", "keras")
    open_and_wait(qtbot, window, path)
    window.tree.view.header().setSortIndicator(1, Qt.SortOrder.DescendingOrder)  # like a header click
    proxy = window.tree.proxy
    classes = [proxy.index(r, 1).data() for r in range(proxy.rowCount())]
    assert classes == sorted(classes, key=str.lower, reverse=True)
    click_tree_row(qtbot, window, ("avg_pool",))
    assert window.document.selection.layer_path == ("avg_pool",)
    assert window.canvas.selected_keys == ("avg_pool",)
    window.document.select_layer("predictions")  # canvas -> tree still finds the moved row
    assert window.tree.view.currentIndex().data() == "predictions"
    open_and_wait(qtbot, window, path)
    assert [proxy.index(r, 1).data() for r in range(proxy.rowCount())] == classes


def test_window_layout_is_remembered(qtbot, make_window, settings):
    window = make_window()
    qtbot.waitUntil(lambda: window._docks_sized, timeout=2000)
    window.properties_dock.hide()
    window.close()
    assert settings.value("window/state") is not None
    again = make_window()
    qtbot.waitUntil(lambda: again.properties_dock.isHidden(), timeout=3000)
    assert again.tree_dock.isVisible()


def test_search_into_a_collapsed_block_selects_the_block_box(qtbot, make_window, zoo):
    window = make_window()
    open_and_wait(qtbot, window, zoo.path("densenet121", "keras"))
    assert "conv3_block2" in window.document.collapsed
    qtbot.keyClicks(window.search_edit, "conv3_block2_1_conv")
    assert window.document.selection.layer_path == ("conv3_block2_1_conv",)
    assert window.canvas.selected_keys == ("conv3_block2",)
    assert window.canvas.viewbox.viewRect().intersects(window.canvas.prepared.rect_of("conv3_block2"))
    assert "conv3_block2_1_conv" in window.properties.header.text()
    # Space on the selection expands its block; the layer's own box then carries the selection
    qtbot.keyClick(window.canvas.view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: "conv3_block2_1_conv" in window.canvas.prepared.index, timeout=10_000)
    assert window.canvas.selected_keys == ("conv3_block2_1_conv",)


def test_export_to_a_bad_place_shows_one_line_and_writes_nothing(qtbot, make_window, zoo, dialog_log, tmp_path):
    window = make_window()
    open_and_wait(qtbot, window, zoo.path("siamese", "keras"))
    target = tmp_path / "missing-folder" / "graph.svg"
    dialog_log.save_paths[:] = [str(target), str(tmp_path / "graph.jpg")]
    window.export_picture_action.trigger()
    qtbot.waitUntil(lambda: len(dialog_log.errors) == 1, timeout=10_000)
    window.export_picture_action.trigger()
    qtbot.waitUntil(lambda: len(dialog_log.errors) == 2, timeout=10_000)
    (title, first), (_, second) = dialog_log.errors
    assert title == "Cannot export picture" and "\n" not in first and "missing-folder" in first
    assert "choose a .svg or .png" in second
    assert not any(p.suffix in (".svg", ".jpg") for p in tmp_path.rglob("*"))
