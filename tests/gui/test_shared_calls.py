"""Issue 13 item 7 (and the right-click half of 12): a shared layer is drawn once per call,
as Keras' graph is (one node per call, tensors ``layer:node:index``). Each call has its box,
its edges, its tooltip and its menu; the calls of one layer share a colour band."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF

import resect.app.editor.prompts as prompts
from resect.core.tensor_ref import TensorRef
from tests.gui import test_editor, test_editor_export
from tests.gui.test_editor import click_menu, open_editor

accept_dialogs = test_editor.accept_dialogs  # the same fixtures: dialogs answered like a user,
keras = test_editor_export.keras  # and Keras imported once


def edge_between(prepared, source: str, target: str) -> int:
    found = [i for i, e in enumerate(prepared.scene.edges) if (e.source, e.target) == (source, target)]
    assert len(found) == 1, (source, target, [(e.source, e.target) for e in prepared.scene.edges])
    return found[0]


def test_siamese_draws_each_call_with_its_own_edges(qtbot, make_window, zoo):
    window, editor = open_editor(qtbot, make_window, zoo.path("siamese", "keras"))
    prepared = window.canvas.prepared
    scene = prepared.scene
    graph = window.document.graph
    for layer in graph.layers:  # one box per call, as many as Keras has nodes
        assert len(prepared.calls_of(layer.name)) == len(layer.nodes), layer.name
    # each input reaches its own call; Subtract reads two different boxes
    assert {e.target for e in scene.edges if e.source in ("left", "right")} == {"tower_conv", "tower_conv:1"}
    assert edge_between(prepared, "right", "tower_conv:1") >= 0
    into_difference = [e for e in scene.edges if e.target == "difference"]
    assert sorted(e.source for e in into_difference) == ["tower_dense", "tower_dense:1"]
    # the calls are tied: the same band, "call n of 2", the weights marked shared once
    first, second = prepared.box("tower_dense"), prepared.box("tower_dense:1")
    assert first.band and first.band == second.band
    assert (first.title, second.title) == ("tower_dense (call 1 of 2)", "tower_dense (call 2 of 2)")
    assert first.badge == "144" and second.badge == "shared weights"
    assert prepared.box("tower_conv").band != first.band or prepared.box("tower_conv").band  # banded too
    assert not prepared.box("difference").band
    assert any(chunk.bands for chunk in prepared.chunks)  # the canvas paints the bands
    # the tooltip of the second tower's edge names its call
    edge = edge_between(prepared, "tower_dense:1", "difference")
    assert window.canvas.edge_tooltip(edge).startswith("tower_dense:1:0")
    # selecting the layer (tree, search) marks every call
    window.document.select_layer("tower_dense")
    assert window.canvas.selected_keys == ("tower_dense", "tower_dense:1")


def test_menus_act_on_the_call_right_clicked(qtbot, make_window, zoo, accept_dialogs, monkeypatch):
    window, editor = open_editor(qtbot, make_window, zoo.path("siamese", "keras"))
    menus = []
    monkeypatch.setattr(prompts, "run_menu", lambda menu, position: menus.append(menu))  # no blocking exec()
    # a right-click on the canvas (the view's own handler) selects its target before the menu opens
    window.document.select_layer("score")
    canvas = window.canvas
    x, y = (float(v) for v in canvas.prepared.rect_of("tower_dense:1").center().toTuple())
    canvas._context(x, y, QPointF(10, 10))
    assert menus and menus[-1].title() == "tower_dense (call 2 of 2)"
    assert window.document.selection.layer_path == ("tower_dense",)
    assert "tower_dense" in window.properties.header.text()
    edge = edge_between(canvas.prepared, "tower_pool:1", "tower_dense:1")
    points = canvas.prepared.scene.edges[edge].points
    middle = ((points[0][0] + points[-1][0]) / 2, (points[0][1] + points[-1][1]) / 2)
    canvas._context(*middle, QPointF(10, 10))
    assert window.document.selection.tensor == TensorRef("tower_pool", 1, 0)
    # "End model here" on call 2 ends at call 2's output, not call 0's
    click_menu(qtbot, window, editor, "tower_dense:1", "End model here")
    assert editor.doc.edits[-1].outputs == ("tower_dense:1",)
    edited = editor.doc.edited  # the kept call is the edited model's only one, from the file's call 1
    assert [node.origin_index for node in edited.layer("tower_dense").nodes] == [1]
    assert [r.layer for r in edited.inputs] == ["right"]
    assert editor.doc.preview.total_params == 224 + 144  # the tower, shared weights counted once


def test_end_model_at_call_2_exports_what_keras_computes(qtbot, make_window, zoo, keras, tmp_path):
    from tests.gui.test_editor_export import export

    path = zoo.path("siamese", "keras")
    window, editor = open_editor(qtbot, make_window, path)
    click_menu(qtbot, window, editor, "tower_dense:1", "End model here")
    dialog = export(qtbot, editor, tmp_path / "right_tower.keras")
    assert dialog.result.verify.ok
    model = keras.models.load_model(tmp_path / "right_tower.keras", compile=False)
    original = keras.models.load_model(path, compile=False)
    right_call = original.get_layer("tower_dense")._inbound_nodes[1].output_tensors[0]
    probe = keras.Model(original.inputs, right_call)
    rng = np.random.default_rng(3)
    left, right = (rng.normal(size=(2, 32, 32, 3)).astype("float32") for _ in range(2))
    feed = [left, right][: len(model.inputs)] if len(model.inputs) == 2 else [right]
    np.testing.assert_allclose(model.predict(feed, verbose=0), probe.predict([left, right], verbose=0), atol=1e-5)


def test_clicking_a_call_box_picks_only_that_call(qtbot, make_window, zoo, monkeypatch):
    """Issue 13, a shared layer's call box: a click selects that call alone (its box, its
    row in Properties, the Edit menu's target), not every call of the layer."""
    from resect.app.editor import menus
    from tests.gui.test_interaction import click_box

    window, editor = open_editor(qtbot, make_window, zoo.path("siamese", "keras"))
    graph = window.document.graph
    assert [n.index for n in graph.layer("tower_dense").nodes] == [0, 1]
    click_box(qtbot, window, "tower_dense:1")
    selection = window.document.selection
    assert (selection.layer_path, selection.call) == (("tower_dense",), 1)
    assert window.canvas.selected_keys == ("tower_dense:1",)
    calls = window.properties.calls
    assert calls.rowCount() == 1 and calls.item(0, 0).text() == "1"
    assert "tower_pool:1:0" in calls.item(0, 1).text()
    assert "Call 2 of 2" in window.properties.header.text()
    targets = []
    monkeypatch.setattr(menus, "replace_head", lambda editor, tensor: targets.append(tensor))
    editor.head_action.trigger()  # Edit > Replace head from selection
    assert targets == ["tower_dense:1"] and TensorRef.parse(targets[0]) == TensorRef("tower_dense", 1, 0)

    click_box(qtbot, window, "tower_dense")  # the first call's box: call 1 of 2 alone
    assert window.document.selection.call == 0
    assert window.canvas.selected_keys == ("tower_dense",)
    assert calls.rowCount() == 1 and calls.item(0, 0).text() == "0"
    editor.head_action.trigger()
    assert targets[-1] == "tower_dense:0"

    click_box(qtbot, window, "difference")  # an unshared layer: the layer, no call
    assert window.document.selection.call is None and calls.rowCount() == 1
    window.document.select_layer("tower_dense")  # the tree or search: every call, both rows
    assert window.canvas.selected_keys == ("tower_dense", "tower_dense:1")
    assert calls.rowCount() == 2
