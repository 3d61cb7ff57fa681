"""A KerasHub model in the window: it opens at once as what the file records (no layers),
then the Keras worker builds its real layer graph and the window swaps it in without a
reload (tree, canvas, status, counts equal Keras' ``count_params()``); surgery then works
on it. A tiny BertBackbone built here in a fresh Python, never downloaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from resect.core.reader import read_model
from tests.gui.helpers import open_and_wait
from tests.gui.test_editor import click_menu, open_editor

BUILD = """
import json, sys
import keras_hub
model = keras_hub.models.BertBackbone(
    vocabulary_size=100, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32,
    max_sequence_length=32, name="bert",
)
model.save(sys.argv[1] + "/bert.keras")
graph = __import__("keras").Model(model.input, model.output)
shapes = {op.name: list(op.output.shape) if hasattr(op.output, "shape") else None for op in graph.operations
          if not isinstance(op.output, dict)}
json.dump({"params": model.count_params(), "layers": [op.name for op in model.operations], "shapes": shapes},
          open(sys.argv[1] + "/bert.json", "w"))
"""


@pytest.fixture(scope="module")
def bert(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("hub_gui")
    run = subprocess.run([sys.executable, "-c", BUILD, str(folder)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return folder / "bert.keras", json.loads((folder / "bert.json").read_text())


def _swapped(window) -> bool:
    graph = window.document.graph
    return (
        graph is not None
        and bool(graph.layers)
        and not window.session.scene_pending
        and window.canvas.prepared is not None
        and window.document.scene is window.canvas.prepared.scene
    )


def test_keras_hub_graph_is_swapped_in_without_a_reload(qtbot, make_window, bert) -> None:
    path, keras_facts = bert
    window, editor = open_editor(qtbot, make_window, path, use_keras=True)
    read = read_model(path)
    assert not read.layers and read.code_defined is not None  # what opens first: no layer graph
    assert window.windowTitle().startswith("bert.keras")
    generation = window.document.generation
    qtbot.waitUntil(lambda: _swapped(window), timeout=180_000)
    graph = window.document.graph
    assert window.document.generation == generation  # swapped in place, not reopened
    assert window.document.path == str(path.resolve())
    assert [layer.name for layer in graph.layers] == keras_facts["layers"]
    assert graph.total_params == keras_facts["params"]
    assert f"{keras_facts['params']:,} params" in window.model_label.text()
    assert window.document.keras.message == "Layer graph from Keras"
    # the tree lists every layer, the canvas draws them, shapes are Keras' own
    tree = window.tree.model
    assert tree.index_of(("transformer_layer_1",)).isValid()
    assert window.canvas.prepared.box("transformer_layer_1") is not None
    layer = graph.layer("transformer_layer_1")
    assert list(layer.nodes[0].output_shapes[0]) == keras_facts["shapes"]["transformer_layer_1"]
    # properties follow a selection in the new graph
    window.document.select_layer("transformer_layer_0")
    qtbot.waitUntil(lambda: "transformer_layer_0" in window.properties.header.text(), timeout=5_000)
    # surgery on it: end the model after the first transformer layer
    assert editor.doc is not None and editor.doc.original is window.session.file_graph
    click_menu(qtbot, window, editor, "transformer_layer_0", "End model here")
    edited = window.document.graph
    assert "transformer_layer_1" not in {lay.name for lay in edited.layers}
    assert [str(r.layer) for r in edited.outputs] == ["transformer_layer_0"]
    assert edited.total_params < keras_facts["params"]
    assert "(edited: 1)" in window.windowTitle()


def test_keras_hub_without_keras_stays_the_file_reading(qtbot, make_window, bert) -> None:
    """With the worker off nothing is swapped: the file's reading (counts) stays."""
    path, keras_facts = bert
    window = make_window(use_keras=False)
    open_and_wait(qtbot, window, path)
    assert not window.document.graph.layers
    assert f"{keras_facts['params']:,} params" in window.model_label.text()
