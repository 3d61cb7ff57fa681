"""Whole-layer edits as recipes, on the scenarios of kerassurgeon's public tests, and freezing.

Each scenario builds the original and the expected model in Keras, saves both, reads them
with ``core.reader`` and checks the edited graph has the expected layers, connections and
parameter counts (the expected model's ``count_params()``).
"""

from __future__ import annotations

import pytest

from resect.core.graph import ModelGraph
from resect.core.reader import read_model
from resect.core.surgery.apply import EditError, apply_edits
from resect.core.surgery.preview import preview
from resect.core.surgery.recipe import parse_recipe


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


def _read(keras, model, tmp_path, name) -> ModelGraph:
    path = tmp_path / f"{name}.keras"
    model.save(path)
    return read_model(path)


def _structure(graph: ModelGraph) -> dict[str, tuple]:
    """Layer name -> (class, params, the inputs of each call): what must match Keras."""
    return {
        layer.name: (layer.class_name, layer.params, tuple(tuple(str(r) for r in n.inputs) for n in layer.nodes))
        for layer in graph.layers
    }


def _check(keras, tmp_path, original, expected, recipe) -> ModelGraph:
    before = _read(keras, original, tmp_path, "original")
    after = _read(keras, expected, tmp_path, "expected")
    edited = apply_edits(before, parse_recipe({"format": "resect-recipe/1", "edits": recipe}))
    assert _structure(edited) == _structure(after)
    assert [str(r) for r in edited.outputs] == [str(r) for r in after.outputs]
    assert preview(before, edited).total_params == expected.count_params()
    return edited


def _dense_chain(keras, names, shape=(7, 7, 1), units=None):
    L = keras.layers
    layers = {n: L.Dense((units or {}).get(n, 3), name=n) for n in names}
    return layers, keras.Input(shape, name="in")


def test_delete_layer(keras, tmp_path):
    L = keras.layers
    inp = keras.Input((7, 7, 1), name="in")
    c1, c2, flat = L.Conv2D(3, 3, name="conv_1"), L.Conv2D(3, 3, name="conv_2"), L.Flatten(name="flat")
    d = {n: L.Dense(1 if n == "d4" else 3, name=n) for n in ("d1", "d2", "d3", "d4")}
    original = keras.Model(inp, d["d4"](d["d3"](d["d2"](d["d1"](flat(c2(c1(inp))))))))
    expected = keras.Model(inp, d["d4"](d["d3"](d["d1"](flat(c2(c1(inp)))))))
    edited = _check(keras, tmp_path, original, expected, [{"op": "delete_layer", "layer": "d2"}])
    assert edited.layer("d3").origin == ("d3",)


def test_delete_reused_layer(keras, tmp_path):
    layers, inp = _dense_chain(keras, ["d1", "d2", "d3", "d4"], shape=(3,))
    d1, d2, d3, d4 = (layers[n] for n in ("d1", "d2", "d3", "d4"))
    original = keras.Model(inp, d4(d2(d3(d2(d1(inp))))))
    expected = keras.Model(inp, d4(d3(d1(inp))))
    _check(keras, tmp_path, original, expected, [{"op": "delete_layer", "layer": "d2"}])


def test_replace_layer(keras, tmp_path):
    layers, inp = _dense_chain(keras, ["d1", "d2", "d3", "d4"], units={"d4": 1})
    d1, d2, d3, d4 = (layers[n] for n in ("d1", "d2", "d3", "d4"))
    original = keras.Model(inp, d4(d2(d1(inp))))
    expected = keras.Model(inp, d4(d3(d1(inp))))
    recipe = [
        {"op": "replace_layer", "layer": "d2", "with": {"class_name": "Dense", "config": {"units": 3, "name": "d3"}}}
    ]
    edited = _check(keras, tmp_path, original, expected, recipe)
    assert edited.layer("d3").origin is None
    assert edited.layer("d4").origin == ("d4",)


def test_replace_layer_keeps_the_name_by_default(keras, tmp_path):
    layers, inp = _dense_chain(keras, ["d1", "d2", "d4"], units={"d4": 1})
    original = keras.Model(inp, layers["d4"](layers["d2"](layers["d1"](inp))))
    graph = _read(keras, original, tmp_path, "original")
    recipe = [{"op": "replace_layer", "layer": "d2", "with": {"class_name": "Dense", "config": {"units": 5}}}]
    edited = apply_edits(graph, parse_recipe(recipe))
    assert edited.layer("d2").origin is None
    assert edited.layer("d2").params == 3 * 5 + 5
    assert edited.layer("d4").nodes[0].input_shapes == ((None, 7, 7, 5),)
    assert preview(graph, edited).total_params == graph.total_params - 12 + 20 + (5 * 1 + 1) - (3 * 1 + 1)


def test_insert_layer(keras, tmp_path):
    layers, inp = _dense_chain(keras, ["d1", "d2", "d3", "d4"], units={"d4": 1})
    d1, d2, d3, d4 = (layers[n] for n in ("d1", "d2", "d3", "d4"))
    original = keras.Model(inp, d4(d2(d1(inp))))
    expected = keras.Model(inp, d4(d3(d2(d1(inp)))))
    recipe = [
        {"op": "insert_layer", "after": "d2", "layer": {"class_name": "Dense", "config": {"units": 3, "name": "d3"}}}
    ]
    edited = _check(keras, tmp_path, original, expected, recipe)
    assert edited.layer("d3").nodes[0].output_shapes == ((None, 7, 7, 3),)


def test_delete_layer_feeding_a_shared_layer(keras, tmp_path):
    """kerassurgeon's 'same layer outputs': a shared d4 reads d3 and d2; delete d3."""
    layers, inp = _dense_chain(keras, ["d1", "d2", "d3", "d4"], shape=(10,), units={"d4": 1})
    d1, d2, d3, d4 = (layers[n] for n in ("d1", "d2", "d3", "d4"))
    x = d1(inp)
    original = keras.Model(inp, [d4(d3(x)), d4(d2(x))])
    x = d1(inp)
    expected = keras.Model(inp, [d4(x), d4(d2(x))])
    _check(keras, tmp_path, original, expected, [{"op": "delete_layer", "layer": "d3"}])


def test_delete_layer_whose_output_feeds_one_layer_twice(keras, tmp_path):
    L = keras.layers
    inp = keras.Input((4,), name="in")
    d1, act, join, out = L.Dense(4, name="d1"), L.Activation("relu", name="act"), L.Concatenate(name="join"), None
    out = L.Dense(2, name="out")
    a = act(d1(inp))
    original = keras.Model(inp, out(join([a, a])))
    b = d1(inp)
    expected = keras.Model(inp, out(join([b, b])))
    edited = _check(keras, tmp_path, original, expected, [{"op": "delete_layer", "layer": "act"}])
    assert edited.layer("join").nodes[0].args == ([edited.layer("d1").nodes[0].outputs[0]] * 2,)


def test_delete_shape_changing_layer_is_refused(keras, tmp_path):
    L = keras.layers
    inp = keras.Input((8,), name="in")
    original = keras.Model(inp, L.Dense(2, name="out")(L.Dense(4, name="d1")(inp)))
    graph = _read(keras, original, tmp_path, "original")
    with pytest.raises(EditError, match=r"^edit 0 \(delete_layer\): d1 changes the shape \(None, 8\) -> \(None, 4\)"):
        apply_edits(graph, parse_recipe([{"op": "delete_layer", "layer": "d1"}]))
    with pytest.raises(EditError, match=r"^edit 0 \(delete_layer\): in is an input layer"):
        apply_edits(graph, parse_recipe([{"op": "delete_layer", "layer": "in"}]))


def test_rename_keeps_origin_and_rewires(zoo):
    graph = read_model(zoo.path("small_resnet"))
    edited = apply_edits(graph, parse_recipe([{"op": "rename", "layer": "conv2_block1_out", "to": "stage2_first"}]))
    layer = edited.layer("stage2_first")
    assert layer.origin == ("conv2_block1_out",) and layer.config["name"] == "stage2_first"
    readers = [n for lay in edited.layers for n in lay.nodes if any(r.layer == "stage2_first" for r in n.inputs)]
    assert {n.layer for n in readers} == {"conv2_block2_1_conv", "conv2_block2_add"}
    assert not edited.has_layer("conv2_block1_out")
    with pytest.raises(EditError, match="a layer named 'conv1_bn' already exists"):
        apply_edits(graph, parse_recipe([{"op": "rename", "layer": "conv1_conv", "to": "conv1_bn"}]))


def _keras_ancestors(model, name: str) -> set[str]:
    """Every layer ``name`` depends on (itself included), walked with Keras' own nodes."""
    found, todo = set(), [model.get_layer(name)._inbound_nodes[0]]
    while todo:
        node = todo.pop()
        if node.operation.name in found:
            continue
        found.add(node.operation.name)
        todo.extend(node.parent_nodes)
    return found


def _seed_layers_above(model, name: str) -> set[str]:
    """The seed's ``get_layers_above``: breadth-first over layers reading each layer's output."""
    readers: dict[str, set[str]] = {}
    for layer in model.layers:
        for node in layer._inbound_nodes:
            for parent in node.parent_nodes:
                readers.setdefault(parent.operation.name, set()).add(layer.name)
    seen, todo = set(), {name}
    while todo:
        current = todo.pop()
        seen.add(current)
        todo |= readers.get(current, set()) - seen
    return seen


@pytest.mark.parametrize("fmt", ["keras", "tf2.h5"])
def test_freeze_below_mixed9_of_inception(zoo, keras, fmt):
    graph = read_model(zoo.path("inception_v3", fmt))
    model = keras.models.load_model(zoo.path("inception_v3", "keras"))
    edited = apply_edits(graph, parse_recipe([{"op": "set_trainable", "trainable": False, "below": "mixed9"}]))
    frozen = {layer.name for layer in edited.layers if not layer.trainable}
    inputs = {layer.name for layer in model.layers if layer.__class__.__name__ == "InputLayer"}
    keras_names = {layer.name for layer in model.layers}
    ours_to_keras = dict(zip([lay.name for lay in graph.layers], [lay.name for lay in model.layers], strict=True))
    frozen_keras = {ours_to_keras[n] for n in frozen}
    assert frozen_keras == _keras_ancestors(model, "mixed9") - inputs
    # the seed's listing: everything not above mixed9 (mixed9 itself has no weights)
    assert frozen_keras == (keras_names - _seed_layers_above(model, "mixed9") - inputs) | {"mixed9"}
    for layer in model.layers:
        if layer.name in frozen_keras:
            layer.trainable = False
    p = preview(graph, edited)
    assert p.trainable_params == sum(int(w.numpy().size) for w in model.trainable_weights)
    assert p.non_trainable_params == sum(int(w.numpy().size) for w in model.non_trainable_weights)
    assert p.total_params == model.count_params()


def test_unfreeze_above_keeps_statistics_frozen(zoo):
    graph = read_model(zoo.path("frozen_block"))
    assert graph.layer("block1_bn").trainable is False
    edited = apply_edits(graph, parse_recipe([{"op": "set_trainable", "trainable": True, "layers": ["block1_bn"]}]))
    weights = {w.name: w.trainable for w in edited.layer("block1_bn").weights}
    assert weights == {"gamma": True, "beta": True, "moving_mean": False, "moving_variance": False}
    frozen = apply_edits(graph, parse_recipe([{"op": "set_trainable", "trainable": False, "above": "block1_relu"}]))
    assert {lay.name for lay in frozen.layers if not lay.trainable} == {
        lay.name for lay in graph.layers if not lay.is_input
    }


def test_insert_after_the_model_input(keras, tmp_path):
    L = keras.layers
    inp = keras.Input((6,), name="in")
    d1 = L.Dense(3, name="d1")
    original = keras.Model(inp, d1(inp))
    expected = keras.Model(inp, d1(L.Rescaling(0.5, name="scale")(inp)))
    recipe = [
        {
            "op": "insert_layer",
            "after": "in",
            "layer": {"class_name": "Rescaling", "config": {"scale": 0.5, "name": "scale"}},
        }
    ]
    edited = _check(keras, tmp_path, original, expected, recipe)
    assert [str(r) for r in edited.inputs] == ["in:0:0"]
