"""The seeds' operations on ResNet50 (Keras 3 .keras and a tf.keras 2 .h5), checked against Keras.

The engine works on the graph read from the file (no TensorFlow); parameter counts of
the result are compared with ``count_params()`` of the same sub-model built directly in
Keras from the loaded model.
"""

from __future__ import annotations

import pytest

from resect.core.analysis.cutpoints import crossing_tensors
from resect.core.reader import read_model
from resect.core.surgery.apply import EditError, apply_edits
from resect.core.surgery.edits import AddOutputs, Cut, LayerSpec, ReplaceHead, SetInputShape
from resect.core.surgery.preview import preview
from resect.core.tensor_ref import TensorRef

FORMATS = ["keras", "h5", "tf2.h5"]


@pytest.fixture(scope="module")
def keras_resnet(zoo):
    import keras

    return keras.models.load_model(zoo.path("resnet50", "keras"))


@pytest.fixture(scope="module", params=FORMATS)
def resnet(request, zoo):
    return read_model(zoo.path("resnet50", request.param))


def _sub_params(keras_model, start: str | None, end: str | None) -> int:
    import keras

    inputs = keras_model.get_layer(start).output if start else keras_model.inputs
    outputs = keras_model.get_layer(end).output if end else keras_model.outputs
    return keras.Model(inputs, outputs).count_params()


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("conv3_block4_out", "conv4_block6_out"),  # split from the middle
        ("conv2_block3_out", None),  # drop the first stage
        (None, "conv4_block6_out"),  # drop the last stage
        ("conv2_block3_out", "conv4_block6_out"),  # both
    ],
)
def test_cut_matches_keras_submodel(resnet, keras_resnet, start, end):
    edit = Cut(inputs=(start,) if start else (), outputs=(end,) if end else ())
    edited = apply_edits(resnet, [edit])
    p = preview(resnet, edited)
    assert p.total_params == _sub_params(keras_resnet, start, end)
    assert p.delta_total == p.total_params - keras_resnet.count_params()
    if start:
        (info,) = p.inputs
        assert info.source == TensorRef(start)
        assert edited.layer(info.ref.layer).is_input
        assert edited.layer(info.ref.layer).origin is None
        # recorded in a .keras file; inferred in pure Python for a tf.keras 2 .h5
        assert info.shape == tuple(keras_resnet.get_layer(start).output.shape)
    else:
        assert [i.ref for i in p.inputs] == list(resnet.inputs)
    assert [o.ref for o in p.outputs] == [TensorRef(end or "predictions")]
    assert p.outputs[0].shape == tuple(keras_resnet.get_layer(end or "predictions").output.shape)
    # every kept layer is an original layer with its original name and calls
    for layer in edited.layers:
        if layer.origin is not None:
            assert layer.origin == (layer.name,)
            assert [n.origin_index for n in layer.nodes] == [0]


def test_cut_layers_match_keras(resnet, keras_resnet):
    import keras

    edited = apply_edits(resnet, [Cut(("conv3_block4_out",), ("conv4_block6_out",))])
    sub = keras.Model(
        keras_resnet.get_layer("conv3_block4_out").output, keras_resnet.get_layer("conv4_block6_out").output
    )
    ours = {layer.name for layer in edited.layers if not layer.is_input}
    theirs = {layer.name for layer in sub.layers if layer.__class__.__name__ != "InputLayer"}
    assert ours == theirs


def test_start_inside_a_branch_names_the_skip_tensor(resnet):
    with pytest.raises(EditError) as error:
        apply_edits(resnet, [Cut(inputs=("conv2_block2_1_relu",))])
    message = str(error.value)
    assert message.startswith("edit 0 (cut): cut inputs do not separate the graph")
    assert "conv2_block1_out:0:0 also feeds conv2_block2_add" in message
    assert "\n" not in message
    assert crossing_tensors(resnet, ["conv2_block2_1_relu"]) == [TensorRef("conv2_block1_out")]


def test_start_inside_a_branch_completed_is_a_two_input_graph(resnet, keras_resnet):
    import keras

    edited = apply_edits(resnet, [Cut(inputs=("conv2_block2_1_relu",), complete=True)])
    p = preview(resnet, edited)
    assert [i.source for i in p.inputs] == [TensorRef("conv2_block2_1_relu"), TensorRef("conv2_block1_out")]
    # Keras: the same two tensors as inputs
    sub = keras.Model(
        [keras_resnet.get_layer("conv2_block2_1_relu").output, keras_resnet.get_layer("conv2_block1_out").output],
        keras_resnet.outputs,
    )
    assert p.total_params == sub.count_params()
    assert {layer.name for layer in edited.layers if not layer.is_input} == {
        layer.name for layer in sub.layers if layer.__class__.__name__ != "InputLayer"
    }


def test_multi_output_extractor(resnet, keras_resnet):
    import keras

    tensors = ("conv3_block4_out", "conv4_block6_out", "conv5_block3_out")
    edited = apply_edits(resnet, [Cut(outputs=tensors)])
    p = preview(resnet, edited)
    sub = keras.Model(keras_resnet.inputs, [keras_resnet.get_layer(t).output for t in tensors])
    assert p.total_params == sub.count_params()
    assert [o.ref for o in p.outputs] == [TensorRef(t) for t in tensors]
    extra = apply_edits(resnet, [AddOutputs(tensors[:2])])
    assert [str(r) for r in extra.outputs] == ["predictions:0:0", "conv3_block4_out:0:0", "conv4_block6_out:0:0"]
    assert preview(resnet, extra).delta_total == 0


def test_input_128_with_flatten_dropout_dense_head(resnet, keras_resnet):
    import keras

    edits = [
        SetInputShape(resnet.inputs[0].layer, (128, 128, 3)),
        ReplaceHead(
            "conv5_block3_out",
            (
                LayerSpec("Flatten", {}),
                LayerSpec("Dropout", {"rate": 0.5}),
                LayerSpec("Dense", {"units": 2, "activation": "softmax", "name": "predictions"}),
            ),
        ),
    ]
    edited = apply_edits(resnet, edits)
    p = preview(resnet, edited)
    # Keras: the seed's own recipe (include_top=False at 128x128, then the head)
    trunk = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(128, 128, 3))
    x = keras.layers.Flatten()(trunk.output)
    x = keras.layers.Dropout(0.5)(x)
    out = keras.layers.Dense(2, activation="softmax")(x)
    expected = keras.Model(trunk.input, out)
    assert p.total_params == expected.count_params()
    assert p.trainable_params == sum(int(w.numpy().size) for w in expected.trainable_weights)
    assert p.outputs[0].shape == (None, 2)
    assert edited.shape(TensorRef("conv5_block3_out")) == tuple(trunk.output.shape)
    assert p.new == ("flatten", "dropout", "predictions")
    assert p.weights_not_fitting == ()
    assert "avg_pool" in p.removed


def test_input_shape_rank_mismatch_is_one_line(resnet):
    name = resnet.inputs[0].layer
    with pytest.raises(EditError, match=r"^edit 0 \(set_input_shape\): shape \[128, 128\] has 2 dimension"):
        apply_edits(resnet, [SetInputShape(name, (128, 128))])


def test_cut_at_unknown_tensor_names_it(resnet):
    with pytest.raises(EditError, match=r"^edit 0 \(cut\): .*no_such_layer"):
        apply_edits(resnet, [Cut(outputs=("no_such_layer",))])


def test_backwards_cut_is_refused(resnet):
    with pytest.raises(EditError, match="does not depend on the cut inputs"):
        apply_edits(resnet, [Cut(("conv4_block6_out",), ("conv3_block4_out",))])


@pytest.mark.parametrize("name", ["inception_v3", "densenet121", "mobilenet_v2", "efficientnet_b0"])
def test_cuts_between_cut_points_match_keras(zoo, name):
    """Several cuts between single-tensor cut points of other zoo models, each against Keras."""
    import keras

    from resect.core.analysis.cutpoints import single_tensor_cut_points

    graph = read_model(zoo.path(name))
    model = keras.models.load_model(zoo.path(name))
    points = [p for p in single_tensor_cut_points(graph) if p not in graph.inputs]
    picks = [points[len(points) * i // 6] for i in range(1, 6)]
    for start, end in zip(picks, picks[2:], strict=False):
        edited = apply_edits(graph, [Cut((str(start),), (str(end),))])
        sub = keras.Model(model.get_layer(start.layer).output, model.get_layer(end.layer).output)
        assert preview(graph, edited).total_params == sub.count_params(), (start, end)
        assert {lay.name for lay in edited.layers if not lay.is_input} == {
            lay.name for lay in sub.layers if lay.__class__.__name__ != "InputLayer"
        }


@pytest.mark.parametrize("name", ["inception_v3", "small_resnet"])
def test_random_completed_cuts_match_keras(zoo, name):
    """Cuts from any tensor to a tensor after it: refused exactly when tensors cross, and
    once completed equal to Keras' own model on all the boundary tensors."""
    import random

    import keras

    from resect.core.surgery.graph_ops import descendants

    graph = read_model(zoo.path(name))
    model = keras.models.load_model(zoo.path(name))
    rng = random.Random(7)
    layers = [lay for lay in graph.layers if not lay.is_input]
    checked = crossed = 0
    while checked < 12:
        start = TensorRef(rng.choice(layers).name)
        after = sorted(descendants(graph, [start]))
        if not after:
            continue
        end = TensorRef(rng.choice(after)[0])
        crossing = crossing_tensors(graph, [start], [end])
        if crossing:
            crossed += 1
            with pytest.raises(EditError, match="cut inputs do not separate the graph"):
                apply_edits(graph, [Cut((str(start),), (str(end),))])
        edited = apply_edits(graph, [Cut((str(start),), (str(end),), complete=True)])
        sources = [lay.source_tensor for lay in edited.layers if lay.is_input]
        assert sources == [start, *crossing]
        sub = keras.Model([model.get_layer(t.layer).output for t in sources], model.get_layer(end.layer).output)
        assert preview(graph, edited).total_params == sub.count_params(), (start, end)
        assert {lay.name for lay in edited.layers if not lay.is_input} == {
            lay.name for lay in sub.layers if lay.__class__.__name__ != "InputLayer"
        }
        checked += 1
    assert crossed >= 3  # the draw did exercise completion
