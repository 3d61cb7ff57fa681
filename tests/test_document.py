"""The undo document: exact undo / redo, events, errors leave the state unchanged, recipes."""

from __future__ import annotations

import pytest

from resect.core.reader import read_model
from resect.core.surgery.apply import EditError, apply_edits
from resect.core.surgery.document import Document
from resect.core.surgery.edits import Cut, LayerSpec, Rename, ReplaceHead, SetInputShape, SetTrainable
from resect.core.surgery.recipe import load_recipe, save_recipe

EDITS = [
    SetInputShape("input_layer", (64, 64, 3)),
    Cut(inputs=("conv2_block1_out",), outputs=("conv3_block2_out",)),
    SetTrainable(False, below="conv3_block1_out"),
    ReplaceHead("conv3_block2_out", (LayerSpec("GlobalAveragePooling2D", {}), LayerSpec("Dense", {"units": 2}))),
    Rename("dense", "logits"),
]


@pytest.fixture
def graph(zoo):
    return read_model(zoo.path("small_resnet"))


def test_undo_is_exact(graph):
    doc = Document(graph)
    for n, edit in enumerate(EDITS, start=1):
        doc.push(edit)
        assert doc.edited == apply_edits(graph, EDITS[:n])
    for n in range(len(EDITS) - 1, -1, -1):
        assert doc.undo() == EDITS[n]
        assert doc.edited == apply_edits(graph, EDITS[:n])
        assert doc.edits == tuple(EDITS[:n])
    assert doc.edited is graph and doc.undo() is None and not doc.can_undo


def test_redo_and_push_clears_redo(graph):
    doc = Document(graph)
    for edit in EDITS[:3]:
        doc.push(edit)
    after_three = doc.edited
    doc.undo()
    doc.undo()
    assert doc.can_redo
    assert doc.redo() == EDITS[1]
    assert doc.redo() == EDITS[2]
    assert doc.edited == after_three and not doc.can_redo
    doc.undo()
    doc.push(Rename("conv3_block2_out", "stage3"))
    assert not doc.can_redo and doc.redo() is None
    assert doc.edits == (EDITS[0], EDITS[1], Rename("conv3_block2_out", "stage3"))


def test_failed_edit_changes_nothing(graph):
    doc = Document(graph)
    doc.push(EDITS[0])
    events: list[str] = []
    doc.subscribe(events.append)
    before = doc.edited
    with pytest.raises(EditError, match=r"^edit 1 \(cut\): cut inputs do not separate the graph"):
        doc.push(Cut(inputs=("conv2_block2_1_conv",)))
    assert doc.edited is before and doc.edits == (EDITS[0],) and events == []


def test_events_and_unsubscribe(graph):
    doc = Document(graph)
    events: list[str] = []
    unsubscribe = doc.subscribe(events.append)
    doc.push(EDITS[0])
    doc.undo()
    doc.redo()
    doc.from_recipe({"format": "resect-recipe/1", "edits": [e.to_json() for e in EDITS[:2]]})
    assert events == ["pushed", "undone", "redone", "reset"]
    unsubscribe()
    doc.undo()
    assert events == ["pushed", "undone", "redone", "reset"]


def test_preview_follows_the_state(graph):
    doc = Document(graph)
    assert doc.preview.total_params == graph.total_params and doc.preview.delta_total == 0
    doc.push(Cut(outputs=("conv2_block2_out",)))
    cut_total = doc.preview.total_params
    assert cut_total < graph.total_params
    assert doc.preview.delta_total == cut_total - graph.total_params
    doc.push(SetTrainable(False, below="conv2_block1_out"))
    assert doc.preview.total_params == cut_total and doc.preview.trainable_params < cut_total
    doc.undo()
    statistics = sum(lay.non_trainable_params for lay in doc.edited.layers)  # batch-norm moving stats
    assert doc.preview.trainable_params == cut_total - statistics


def test_recipe_round_trip_gives_the_same_graph(graph, tmp_path):
    doc = Document(graph)
    for edit in EDITS:
        doc.push(edit)
    path = tmp_path / "edits.resect.json"
    save_recipe(path, doc.edits)
    other = Document(graph)
    other.from_recipe(load_recipe(path))
    assert other.edits == doc.edits
    assert other.edited == doc.edited
    assert other.to_recipe() == doc.to_recipe()


def test_bad_recipe_leaves_the_document_unchanged(graph):
    doc = Document(graph)
    doc.push(EDITS[0])
    with pytest.raises(EditError, match=r"^edit 1 \(rename\)"):
        doc.from_recipe([EDITS[0], Rename("nope", "x")])
    assert doc.edits == (EDITS[0],)
