"""Scene, SVG and PNG from real models: colours by kind, every layer named, pictures not blank."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
from PIL import Image

from resect.core.analysis.blocks import find_blocks
from resect.core.reader import read_model
from resect.core.render import style
from resect.core.render.labels import format_count, format_shape
from resect.core.render.png import MAX_SIDE, fitted_scale, scene_to_png
from resect.core.render.scene import build_scene
from resect.core.render.svg import scene_to_svg
from resect.core.tensor_ref import TensorRef

SVG = "{http://www.w3.org/2000/svg}"


def test_kind_of_covers_the_palette():
    expected = {
        "Conv2D": "convolution",
        "DepthwiseConv2D": "convolution",
        "SeparableConv1D": "convolution",
        "BatchNormalization": "normalization",
        "LayerNormalization": "normalization",
        "ReLU": "activation",
        "Activation": "activation",
        "Add": "merge",
        "Concatenate": "merge",
        "MaxPooling2D": "pooling",
        "GlobalAveragePooling2D": "pooling",
        "Dense": "dense",
        "Embedding": "dense",
        "InputLayer": "input",
        "Functional": "nested",
        "Sequential": "nested",
        "Dropout": "dropout",
        "SpatialDropout2D": "dropout",
        "Reshape": "reshape",
        "ZeroPadding2D": "reshape",
        "Flatten": "reshape",
        "LSTM": "recurrent",
        "ConvLSTM2D": "recurrent",
        "MultiHeadAttention": "recurrent",
        "Lambda": "other",
        "MyCustomThing": "other",
    }
    assert {name: style.kind_of(name) for name in expected} == expected
    fills = [style.kind_style(kind).fill for kind in style.KINDS]
    assert len(set(fills)) == len(fills)  # every kind its own colour


def test_labels():
    assert format_shape((None, 56, 56, 256)) == "56×56×256"
    assert format_shape((None, None, 16)) == "?×16"
    assert format_shape(None) == ""
    assert format_count(9472) == "9.5K" and format_count(25_636_712) == "25.6M" and format_count(64) == "64"
    assert style.fit_text("conv4_block6_2_conv", style.TITLE_SIZE, 80, bold=True).count("…") == 1
    assert style.fit_text("add", style.TITLE_SIZE, 80, bold=True) == "add"


def test_scene_of_resnet50(zoo):
    graph = read_model(zoo.path("resnet50"))
    scene = build_scene(graph, highlight={"conv1_conv", "conv1_bn"})
    assert len(scene.boxes) == len(graph.layers)
    conv = scene.box("conv1_conv")
    assert (conv.kind, conv.fill) == ("convolution", style.KINDS["convolution"].fill)
    assert conv.subtitle == "112×112×64" and conv.badge == "9.5K"
    assert conv.highlighted and conv.stroke == style.HIGHLIGHT_STROKE
    assert scene.box("conv1_bn").kind == "normalization"
    assert scene.box("conv2_block1_add").kind == "merge"
    assert scene.box("input_layer").kind == "input"
    assert scene.box("predictions").is_output
    lit = [e for e in scene.edges if e.highlighted]
    assert [(e.source, e.target) for e in lit] == [("conv1_conv", "conv1_bn")]
    edge = next(e for e in scene.edges if e.target == "conv1_conv")
    assert edge.label == "230×230×3" and str(edge.tensor) == "conv1_pad:0:0"
    assert scene.bounds[2] >= max(b.x + b.w for b in scene.boxes)
    assert scene.bounds[3] >= max(b.y + b.h for b in scene.boxes)


def test_scene_marks_collapsed_blocks(zoo):
    graph = read_model(zoo.path("nested"))
    blocks = find_blocks(graph)
    scene = build_scene(graph, collapsed={"func_block"}, blocks=blocks)
    box = scene.box("func_block")
    assert box.kind == "nested" and box.block == "func_block" and len(box.layers) == 5
    graph = read_model(zoo.path("small_resnet"))
    scene = build_scene(graph, collapsed={"conv2_block2"}, blocks=find_blocks(graph))
    box = scene.box("conv2_block2")
    assert box.kind == "block" and box.block == "conv2_block2" and box.class_name == "residual"
    assert box.subtitle == "32×32×8 · 7 layers"  # the block's output shape
    assert scene.box("conv2_block1_add").block is None


@pytest.mark.parametrize("name", ["resnet50", "nested", "multi_io"])
def test_svg_parses_and_names_every_layer(zoo, name):
    graph = read_model(zoo.path(name))
    scene = build_scene(graph)
    text = scene_to_svg(scene, legend=False)
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == f"{SVG}svg"
    keys = {g.get("data-key") for g in root.iter(f"{SVG}g") if g.get("data-key")}
    assert keys == {box.key for box in scene.boxes}
    titles = " ".join(t.text or "" for t in root.iter(f"{SVG}title"))
    for _path, layer in graph.iter_layers_deep():
        if layer.subgraph is None:
            assert layer.name in titles
    assert len(list(root.iter(f"{SVG}polyline"))) == len(scene.edges)
    assert len(list(root.iter(f"{SVG}rect"))) == len(scene.boxes) + len(scene.groups) + 1  # + background
    assert float(root.get("width")) == pytest.approx(scene.width, abs=0.1)


def test_png_has_the_size_and_the_colours(zoo, tmp_path):
    graph = read_model(zoo.path("small_resnet"))
    scene = build_scene(graph)
    path = tmp_path / "small.png"
    size = scene_to_png(scene, path, scale=1.0, legend=False)
    image = Image.open(path).convert("RGB")
    assert image.size == size == (round(scene.width), round(scene.height))
    colours = image.getcolors(maxcolors=1_000_000)
    non_white = sum(count for count, rgb in colours if rgb != (255, 255, 255))
    assert non_white > 0.1 * image.size[0] * image.size[1]
    conv_fill = tuple(int(style.KINDS["convolution"].fill[i : i + 2], 16) for i in (1, 3, 5))
    assert any(rgb == conv_fill and count > 500 for count, rgb in colours)
    # the conv box interior has the conv colour
    box = scene.box("conv1_conv")
    assert image.getpixel((round(box.x + 4), round(box.y + box.h / 2))) == conv_fill


def test_png_size_is_capped_for_huge_graphs(zoo, tmp_path):
    graph = read_model(zoo.path("resnet50"))
    scene = build_scene(graph)
    assert fitted_scale(scene, 10.0) < 10.0
    assert round(scene.height * fitted_scale(scene, 10.0)) <= MAX_SIDE
    size = scene_to_png(scene, tmp_path / "r.png", scale=0.2, legend=False)
    assert size == (round(scene.width * 0.2), round(scene.height * 0.2))


def test_pictures_carry_a_colour_key_of_the_kinds_they_show(zoo, tmp_path):
    from resect.core.render.legend import build_legend, canvas_bounds

    scene = build_scene(read_model(zoo.path("small_resnet")))
    key = build_legend(scene)
    labels = [entry.label for entry in key.entries]
    assert labels == ["Convolution", "Normalisation", "Activation", "Merge", "Pooling", "Dense / embedding", "Input"]
    assert key.x > scene.bounds[2]  # beside the graph, not over it
    root = ET.fromstring(scene_to_svg(scene).encode("utf-8"))
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend")
    assert [t.text for t in legend.iter(f"{SVG}text")] == labels
    x0, y0, x1, y1 = canvas_bounds(scene, key)
    assert float(root.get("width")) == pytest.approx(x1 - x0, abs=0.1)
    size = scene_to_png(scene, tmp_path / "k.png", scale=1.0)
    assert size == (round(x1 - x0), round(y1 - y0))
    image = Image.open(tmp_path / "k.png").convert("RGB")
    swatch = key.entries[0]
    inside = (round(swatch.x - x0 + 7), round(swatch.y - y0 + 7))
    assert image.getpixel(inside) == tuple(int(style.KINDS["convolution"].fill[i : i + 2], 16) for i in (1, 3, 5))


def test_expanded_nested_models_get_frames_that_hold_only_their_layers(zoo):
    graph = read_model(zoo.path("nested"))
    for direction in ("TB", "LR"):
        scene = build_scene(graph, direction=direction)
        frames = {g.key: g for g in scene.groups}
        assert set(frames) == {"seq_block", "func_block"}
        assert frames["func_block"].title == "func_block · Functional"
        for key, frame in frames.items():
            for box in scene.boxes:
                inside = frame.x <= box.x and box.x + box.w <= frame.x + frame.w
                inside = inside and frame.y <= box.y and box.y + box.h <= frame.y + frame.h
                overlaps = not (
                    box.x >= frame.x + frame.w
                    or box.x + box.w <= frame.x
                    or box.y >= frame.y + frame.h
                    or box.y + box.h <= frame.y
                )
                mine = box.key.startswith(key + "/")
                assert inside == mine and overlaps == mine, (direction, key, box.key)
        x0, y0, x1, y1 = scene.bounds
        assert all(x0 <= g.x and g.x + g.w <= x1 and y0 <= g.y and g.y + g.h <= y1 for g in scene.groups)
    folded = build_scene(graph, collapsed={"func_block"})
    assert [g.key for g in folded.groups] == ["seq_block"]
    root = ET.fromstring(scene_to_svg(folded).encode("utf-8"))
    assert [g.get("data-group") for g in root.iter(f"{SVG}g") if g.get("data-group")] == ["seq_block"]


def test_shapes_the_producer_does_not_record_come_from_consumers(zoo):
    graph = read_model(zoo.path("resnet50"))
    assert build_scene(graph).box("conv1_bn").subtitle == "112×112×64"
    # The case this fallback exists for: a producer whose own output shape the file does not
    # record (a model output, a legacy file); its consumer's recorded input shape is used.
    bn = graph.layer("conv1_bn")
    unrecorded = replace(bn, nodes=tuple(replace(node, output_shapes=(None,)) for node in bn.nodes))
    blind = graph.with_layers(tuple(unrecorded if layer is bn else layer for layer in graph.layers))
    assert blind.shape(TensorRef("conv1_bn")) is None
    scene = build_scene(blind)
    assert scene.box("conv1_bn").subtitle == "112×112×64"
    edge = next(e for e in scene.edges if e.source == "conv1_bn")
    assert edge.label == "112×112×64"


def test_boxes_agree_with_keras(zoo):
    """Every box's shape and parameter badge, and a collapsed block's total, match Keras' own model."""
    import keras

    model = keras.models.load_model(zoo.path("small_resnet"))
    graph = read_model(zoo.path("small_resnet"))
    scene = build_scene(graph)
    for layer in model.layers:
        box = scene.box(layer.name)
        assert box.badge == (format_count(layer.count_params()) if layer.count_params() else ""), layer.name
        if layer.name != "predictions":  # a model output: no consumer records its shape in the file
            assert box.subtitle == format_shape(tuple(layer.output.shape)), layer.name
    blocks = find_blocks(graph)
    folded = build_scene(graph, collapsed={"conv3_block1"}, blocks=blocks)
    inside = next(b for b in blocks if b.name == "conv3_block1").layers
    expected = sum(model.get_layer(name).count_params() for name in inside)
    assert folded.box("conv3_block1").badge == format_count(expected)
    assert folded.box("conv3_block1").subtitle.startswith(
        format_shape(tuple(model.get_layer("conv3_block1_out").output.shape))
    )
