"""Blocks found in real Keras models: residual, inception, name-prefix groups and nested models."""

from __future__ import annotations

import pytest

from resect.core.analysis.blocks import default_collapsed, find_blocks
from resect.core.reader import read_model
from resect.core.tensor_ref import TensorRef

RESNET50_BLOCKS = [f"conv{s}_block{b}" for s, n in ((2, 3), (3, 4), (4, 6), (5, 3)) for b in range(1, n + 1)]


def _blocks(zoo, name, fmt="keras"):
    graph = read_model(zoo.path(name, fmt))
    return graph, {block.name: block for block in find_blocks(graph)}


def _all_keys(graph, prefix=()):
    keys = set()
    for path, _ in graph.iter_layers_deep():
        keys.add("/".join(path))
    return keys


def _check_tree(graph, blocks):
    """Blocks nest (disjoint or contained), parents contain children, keys are real."""
    keys = _all_keys(graph)
    items = list(blocks.values())
    for block in items:
        assert set(block.layers) <= keys, block.name
        assert len(set(block.layers)) == len(block.layers)
        if block.parent is not None:
            assert set(block.layers) < set(blocks[block.parent].layers)
    for i, a in enumerate(items):
        for b in items[i + 1 :]:
            sa, sb = set(a.layers), set(b.layers)
            assert not (sa & sb) or sa <= sb or sb <= sa, (a.name, b.name)


@pytest.mark.parametrize("fmt", ["keras", "tf2.h5"])
def test_resnet50_has_its_16_residual_blocks(zoo, fmt):
    graph, blocks = _blocks(zoo, "resnet50", fmt)
    residual = [name for name, b in blocks.items() if b.kind == "residual"]
    assert sorted(residual) == sorted(RESNET50_BLOCKS)
    block = blocks["conv3_block2"]
    assert set(block.layers) == {layer.name for layer in graph.layers if layer.name.startswith("conv3_block2_")}
    assert block.entry == TensorRef("conv3_block1_out")
    assert block.exit == TensorRef("conv3_block2_out")
    assert blocks["conv2_block1"].entry == TensorRef("pool1_pool")
    assert "conv2_block1_0_conv" in blocks["conv2_block1"].layers  # the projection shortcut belongs to it
    assert blocks["conv3_block2"].parent == "conv3"  # the stage groups its blocks
    _check_tree(graph, blocks)


def test_inception_v3_mixed_blocks(zoo):
    graph, blocks = _blocks(zoo, "inception_v3")
    for i in range(11):
        block = blocks[f"mixed{i}"]
        assert block.kind == "inception"
        assert block.layers[-1] == f"mixed{i}"
        assert block.entry == TensorRef(f"mixed{i - 1}" if i else "max_pooling2d_1")
        assert len(block.layers) >= 10  # several conv/bn/relu branches
    # mixed9's inner concatenations are blocks inside it
    assert blocks["mixed9_0"].parent == "mixed9"
    _check_tree(graph, blocks)


def test_densenet121_dense_blocks_and_transitions(zoo):
    graph, blocks = _blocks(zoo, "densenet121")
    dense = [f"conv{s}_block{b}" for s, n in ((2, 6), (3, 12), (4, 24), (5, 16)) for b in range(1, n + 1)]
    for name in dense:
        assert set(blocks[name].layers) == {layer.name for layer in graph.layers if layer.name.startswith(name + "_")}
    for name in ("pool2", "pool3", "pool4"):
        assert blocks[name].kind == "prefix"
        assert len(blocks[name].layers) == 4
    _check_tree(graph, blocks)


def test_mobilenet_v2_and_efficientnet_blocks(zoo):
    graph, blocks = _blocks(zoo, "mobilenet_v2")
    for i in range(1, 17):
        assert f"block_{i}" in blocks
    assert blocks["block_5"].kind == "residual"  # has block_5_add
    assert blocks["block_3"].kind == "prefix"  # stride 2: no shortcut
    assert set(blocks["block_5"].layers) == {layer.name for layer in graph.layers if layer.name.startswith("block_5_")}
    _check_tree(graph, blocks)
    graph, blocks = _blocks(zoo, "efficientnet_b0")
    assert blocks["block2b"].kind == "residual" and "block2b_add" in blocks["block2b"].layers
    assert blocks["block2a"].kind == "prefix" and "block2a_se_excite" in blocks["block2a"].layers
    _check_tree(graph, blocks)


def test_small_resnet_and_defaults(zoo):
    graph, blocks = _blocks(zoo, "small_resnet")
    assert {n for n, b in blocks.items() if b.kind == "residual"} == {
        "conv2_block1",
        "conv2_block2",
        "conv3_block1",
        "conv3_block2",
    }
    collapsed = default_collapsed(list(blocks.values()))
    assert collapsed == {"conv1", "conv2_block1", "conv2_block2", "conv3_block1", "conv3_block2"}


def test_nested_models_are_blocks_with_inner_keys(zoo):
    graph, blocks = _blocks(zoo, "nested")
    assert blocks["seq_block"].kind == "nested"
    assert set(blocks["seq_block"].layers) == {
        "seq_block",
        "seq_block/input_layer",
        "seq_block/seq_dense",
        "seq_block/seq_bn",
    }
    inner = blocks["func_block/inner_add"]
    assert inner.kind == "residual" and inner.parent == "func_block"
    assert set(inner.layers) == {"func_block/inner_skip", "func_block/inner_dense", "func_block/inner_add"}
    assert inner.entry == TensorRef("func_block/inner_in")
    _check_tree(graph, blocks)


def test_models_without_blocks(zoo):
    graph, blocks = _blocks(zoo, "siamese")
    assert blocks == {}  # the shared tower is one chain; Subtract is not a block join
    assert default_collapsed([]) == frozenset()


@pytest.mark.parametrize("name", ["resnet50", "inception_v3", "mobilenet_v2", "efficientnet_b0", "densenet121"])
def test_app_and_render_auto_collapse_agree(zoo, tmp_path, name):
    """The app's first view and ``render --collapse auto`` draw the same boxes (one rule)."""
    import xml.etree.ElementTree as ET

    from resect.app.session import read_and_analyse
    from resect.cli.main import main

    graph, blocks = read_and_analyse(str(zoo.path(name, "keras")))
    expected = default_collapsed(blocks, len(graph.layers))
    assert bool(expected) == (len(graph.layers) > 300)
    out = tmp_path / "auto.svg"
    assert main(["render", str(zoo.path(name, "keras")), "-o", str(out), "--collapse"]) == 0
    keys = {g.get("data-key") for g in ET.parse(out).getroot().iter() if g.get("data-key")}
    assert expected <= keys  # every block the app collapses is one box in the picture
    assert not any(key.startswith(tuple(f"{b}/" for b in expected)) for key in keys)
    hidden = {layer for block in blocks if block.name in expected for layer in block.layers}
    assert not (keys - expected) & hidden  # a collapsed block's layers are not drawn on their own
    assert {layer.name for layer in graph.layers} - hidden <= keys  # every other layer is
