"""Open zoo models as a user would and check what the tree, totals and canvas show
against our graph and against Keras itself."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt

from resect.app.layer_tree import PATH_ROLE
from resect.core.layout.visible import layer_of_box
from resect.core.reader import read_model
from tests.gui.helpers import open_and_wait

CASES = [
    ("resnet50", "keras"),
    ("resnet50", "tf2.h5"),
    ("inception_v3", "h5"),
    ("siamese", "keras"),
    ("siamese", "tf2.h5"),
    ("nested", "keras"),
    ("nested", "tf2.h5"),
    ("multi_io", "keras"),
    ("lstm", "tf2.h5"),
    ("densenet121", "keras"),
    ("efficientnet_b0", "keras"),
    ("mobilenet_v2", "h5"),
]


def tree_rows(panel, parent=None) -> list[tuple[tuple[str, ...], str, str, str]]:
    """Every row of the tree (recursively) as (path, class, params text, trainable text)."""
    proxy = panel.proxy
    parent = parent or QModelIndex()
    rows = []
    for row in range(proxy.rowCount(parent)):
        index = proxy.index(row, 0, parent)
        cells = [proxy.index(row, c, parent).data(Qt.ItemDataRole.DisplayRole) for c in (1, 3, 4)]
        rows.append((index.data(PATH_ROLE), *cells))
        rows.extend(tree_rows(panel, index))
    return rows


@pytest.mark.parametrize(("name", "fmt"), CASES, ids=[f"{n}.{f}" for n, f in CASES])
def test_open_model_shows_every_layer_and_totals(qtbot, make_window, zoo, name, fmt):
    path = zoo.path(name, fmt)
    graph = read_model(path)
    window = make_window()
    open_and_wait(qtbot, window, path)

    rows = tree_rows(window.tree)
    expected = [
        (p, layer.class_name, f"{layer.params:,}", "yes" if layer.trainable else "no")
        for p, layer in graph.iter_layers_deep()
    ]
    assert rows == expected
    totals = window.tree.totals.text()
    assert f"{graph.total_params:,}" in totals
    assert f"{graph.trainable_params:,}" in totals and f"{graph.non_trainable_params:,}" in totals
    mib = graph.weight_bytes / 2**20
    assert (f"{mib:,.1f} MB" if mib >= 1 else f"{graph.weight_bytes / 1024:,.1f} KB") in totals
    assert window.windowTitle() == f"{path.name} — Resect"

    # every layer is drawn: as its own box, or inside exactly the collapsed block box that owns it
    prepared = window.canvas.prepared
    for layer_path, _ in graph.iter_layers_deep():
        keys = window.visible_keys(layer_path)
        assert keys, layer_path
        layer_key = "/".join(layer_path)
        drawn = [{layer_of_box(k) for k in prepared.box(key).layers} for key in keys]  # a call box: its layer
        assert all(layer_key in d or k.startswith(layer_key + "/") for k, d in zip(keys, drawn, strict=True))
    if len(graph.layers) > 300:  # large models open with blocks collapsed
        assert window.document.collapsed and len(prepared.keys) < len(graph.layers) / 2
    else:
        assert not window.document.collapsed


@pytest.mark.parametrize(("name", "fmt"), [("siamese", "keras"), ("nested", "keras"), ("small_resnet", "tf2.h5")])
def test_tree_numbers_equal_keras(qtbot, make_window, zoo, name, fmt):
    """Per-layer parameter counts and the totals shown equal Keras' own count_params()."""
    from resect.core.keras_backend.runtime import import_keras

    keras = import_keras()
    model = keras.models.load_model(zoo.path(name, fmt), compile=False)
    window = make_window()
    open_and_wait(qtbot, window, zoo.path(name, fmt))

    shown = {path: params for path, _, params, _ in tree_rows(window.tree) if len(path) == 1}
    assert shown == {(layer.name,): f"{layer.count_params():,}" for layer in model.layers}
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    totals = window.tree.totals.text()
    assert f"Total params:</b> {model.count_params():,}" in totals
    assert f"Trainable: {trainable:,}" in totals
    assert f"Non-trainable: {model.count_params() - trainable:,}" in totals


@pytest.fixture(scope="module")
def keras():
    from resect.core.keras_backend.runtime import import_keras

    return import_keras()


def test_keras_fills_shapes_in_background(qtbot, make_window, zoo, keras):
    """A tf.keras 2 file records no output shapes; the Keras worker process fills them
    (equal to Keras' own), the tree updates, and the UI stayed usable meanwhile."""
    path = zoo.path("siamese", "tf2.h5")
    window = make_window(use_keras=True)
    open_and_wait(qtbot, window, path)
    score_row = window.tree.model.index_of(("score",), 2)
    qtbot.waitUntil(
        lambda: window.document.keras.state == "ready" and window.session.keras_model is not None, timeout=120_000
    )
    qtbot.waitUntil(lambda: not window.session.scene_pending, timeout=10_000)
    assert window.session.keras_model.path == str(path.resolve())
    assert window.session.keras.pid is not None  # the worker process did the loading
    model = keras.models.load_model(path, compile=False)
    assert score_row.model().data(window.tree.model.index_of(("score",), 2)) == "(None, 1)"
    assert tuple(model.get_layer("tower_dense").output.shape) == (None, 16)
    assert window.canvas.prepared.box("score").subtitle == "1"
    assert window.document.graph.layer("tower_dense").nodes[1].output_shapes == ((None, 16),)


def test_keras_failure_is_a_note_and_the_graph_stays(qtbot, make_window, tmp_path):
    """A model with a Lambda: Keras refuses in safe mode; a non-modal banner names the layer
    (the consent banner, which offers to run the Lambda's code: test_consent_gui.py)."""
    from resect.core.keras_backend.runtime import import_keras

    keras = import_keras()
    inp = keras.Input((4,), name="x")
    out = keras.layers.Lambda(lambda t: t * 2, name="double_it")(keras.layers.Dense(3, name="d")(inp))
    path = tmp_path / "with_lambda.keras"
    keras.Model(inp, out).save(path)

    window = make_window(use_keras=True)
    open_and_wait(qtbot, window, path)
    qtbot.waitUntil(lambda: window.document.keras.state == "failed", timeout=120_000)
    banner = window.consent.banner
    qtbot.waitUntil(lambda: banner.isVisible() and not window.banner.isVisible(), timeout=5_000)
    assert "double_it" in banner.label.text() and banner.lambda_button.isVisible()
    assert [r[0] for r in tree_rows(window.tree)] == [("x",), ("d",), ("double_it",)]
    assert window.canvas.prepared is not None and "double_it" in window.canvas.prepared.index


def test_expanded_nested_models_are_framed_on_the_canvas(qtbot, make_window, zoo):
    """Each expanded nested model gets a frame around exactly its inner boxes, as in the SVG."""
    path = zoo.path("nested", "keras")
    window = make_window()
    open_and_wait(qtbot, window, path)
    frames = window.canvas.frames_item
    assert frames is not None and frames.isVisible()
    assert {g.key for g in frames.groups} == {"seq_block", "func_block"}
    prepared = window.canvas.prepared
    for group, rect in zip(frames.groups, frames._rects, strict=True):
        inner = [k for k in prepared.keys if k.startswith(group.key + "/")]
        assert inner
        for key in inner:
            box = prepared.box(key)
            assert rect.contains(box.x, box.y) and rect.contains(box.x + box.w, box.y + box.h), key
    outer = prepared.box("stem")
    assert not any(r.contains(outer.x + outer.w / 2, outer.y + outer.h / 2) for r in frames._rects)
