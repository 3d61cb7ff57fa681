"""Recipes: the DESIGN.md section 2 example round-trips; bad recipes fail with one line."""

from __future__ import annotations

import json
import os

import pytest

from resect.core.surgery.edits import (
    AddOutputs,
    Cut,
    DeleteLayer,
    InsertLayer,
    LayerSpec,
    Rename,
    ReplaceHead,
    ReplaceLayer,
    SetInputShape,
    SetTrainable,
    edit_from_json,
)
from resect.core.surgery.recipe import FORMAT, RecipeError, dump_recipe, load_recipe, parse_recipe, save_recipe

DESIGN_EXAMPLE = {
    "format": "resect-recipe/1",
    "edits": [
        {"op": "cut", "inputs": ["conv3_block4_out"], "outputs": ["conv4_block6_out"]},
        {"op": "add_outputs", "tensors": ["conv3_block4_out", "conv4_block6_out"]},
        {"op": "set_input_shape", "input": "input_layer", "shape": [128, 128, 3]},
        {
            "op": "replace_head",
            "at": "conv5_block3_out",
            "layers": [
                {"class_name": "GlobalAveragePooling2D", "config": {}},
                {"class_name": "Dropout", "config": {"rate": 0.5}},
                {"class_name": "Dense", "config": {"units": 2, "activation": "softmax"}},
            ],
        },
        {"op": "insert_layer", "after": "conv1_relu", "layer": {"class_name": "Dropout", "config": {"rate": 0.1}}},
        {"op": "delete_layer", "layer": "conv1_pad"},
        {"op": "replace_layer", "layer": "predictions", "with": {"class_name": "Dense", "config": {"units": 10}}},
        {"op": "set_trainable", "trainable": False, "layers": ["conv1_conv"], "below": "conv4_block6_out"},
        {"op": "rename", "layer": "predictions", "to": "logits"},
    ],
}


def test_design_example_parses_to_the_right_edits():
    edits = parse_recipe(DESIGN_EXAMPLE)
    assert edits == [
        Cut(("conv3_block4_out",), ("conv4_block6_out",)),
        AddOutputs(("conv3_block4_out", "conv4_block6_out")),
        SetInputShape("input_layer", (128, 128, 3)),
        ReplaceHead(
            "conv5_block3_out",
            (
                LayerSpec("GlobalAveragePooling2D", {}),
                LayerSpec("Dropout", {"rate": 0.5}),
                LayerSpec("Dense", {"units": 2, "activation": "softmax"}),
            ),
        ),
        InsertLayer("conv1_relu", LayerSpec("Dropout", {"rate": 0.1})),
        DeleteLayer("conv1_pad"),
        ReplaceLayer("predictions", LayerSpec("Dense", {"units": 10})),
        SetTrainable(False, ("conv1_conv",), below="conv4_block6_out"),
        Rename("predictions", "logits"),
    ]


def test_round_trip_is_exact():
    edits = parse_recipe(DESIGN_EXAMPLE)
    assert dump_recipe(edits) == DESIGN_EXAMPLE
    assert parse_recipe(json.loads(json.dumps(dump_recipe(edits)))) == edits
    for item in DESIGN_EXAMPLE["edits"]:
        assert edit_from_json(item).to_json() == item


def test_optional_fields_round_trip():
    edits = [
        Cut(inputs=("conv2_block2_1_relu",), complete=True),
        SetInputShape("input_layer", (None, 64, 3), batch_size=8, reinitialize=("*",)),
        SetTrainable(True, above="mixed9"),
    ]
    assert parse_recipe(dump_recipe(edits)) == edits
    assert dump_recipe(edits)["edits"][0] == {"op": "cut", "inputs": ["conv2_block2_1_relu"], "complete": True}


def test_describe_labels():
    labels = [edit.describe() for edit in parse_recipe(DESIGN_EXAMPLE)]
    assert labels[0] == "Cut at conv3_block4_out -> conv4_block6_out"
    assert labels[2] == "Input input_layer -> 128x128x3"
    assert labels[3] == "New head at conv5_block3_out: GlobalAveragePooling2D > Dropout(0.5) > Dense(2)"
    assert labels[7] == "Freeze conv1_conv; below conv4_block6_out"
    assert Cut(outputs=("conv4_block6_out",)).describe() == "End at conv4_block6_out"


def test_save_and_load(tmp_path):
    path = tmp_path / "cut.resect.json"
    edits = parse_recipe(DESIGN_EXAMPLE)
    save_recipe(path, edits)
    assert load_recipe(path) == edits
    assert json.loads(path.read_text())["format"] == FORMAT
    assert os.listdir(tmp_path) == ["cut.resect.json"]  # no temporary file left


def test_save_failure_leaves_the_old_file(tmp_path):
    path = tmp_path / "r.json"
    save_recipe(path, [DeleteLayer("a")])

    class Broken(DeleteLayer):
        def to_json(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        save_recipe(path, [DeleteLayer("b"), Broken("c")])
    assert load_recipe(path) == [DeleteLayer("a")]
    assert os.listdir(tmp_path) == ["r.json"]


@pytest.mark.parametrize(
    ("recipe", "message"),
    [
        ({"format": "resect-recipe/2", "edits": []}, "unsupported format 'resect-recipe/2'"),
        ({"format": FORMAT, "edits": {}}, "'edits' must be a list"),
        ({"edits": [{"op": "explode"}]}, "edit 0 (explode): unknown op 'explode'"),
        ({"edits": [{"op": "cut"}, {"op": "rename", "layer": "a"}]}, "edit 1 (rename): 'to' must be a layer name"),
        ({"edits": [{"op": "set_input_shape", "input": "x", "shape": [0, 3]}]}, "bad dimension 0"),
        ({"edits": [{"op": "replace_head", "at": "x", "layers": [{"config": {}}]}]}, "layers[0] has no class_name"),
        ({"edits": [{"op": "set_trainable", "trainable": False}]}, "give 'layers', 'below' or 'above'"),
        ({"edits": [{"op": "cut", "complete": "yes"}]}, "'complete' must be true or false"),
        ({"edits": [{"op": "add_outputs", "tensors": []}]}, "'tensors' is empty"),
        ([{"op": "cut", "inputs": [3]}], "edit 0 (cut): 'inputs' must be a list of tensor names"),
    ],
)
def test_bad_recipes_fail_with_one_line(recipe, message):
    with pytest.raises(RecipeError) as error:
        parse_recipe(recipe, "r.json")
    text = str(error.value)
    assert text.startswith("r.json: ") and message in text and "\n" not in text


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(RecipeError, match=r"missing\.json: no such file"):
        load_recipe(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": ')
    with pytest.raises(RecipeError, match=r"bad\.json: not valid JSON \(line 1"):
        load_recipe(bad)
    with pytest.raises(RecipeError, match="is a directory"):
        load_recipe(tmp_path)
