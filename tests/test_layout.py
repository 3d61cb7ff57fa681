"""The layered layout on real models: no overlaps, edges flow down, every layer drawn once."""

from __future__ import annotations

import pytest

from resect.core.analysis.blocks import find_blocks
from resect.core.layout import layout
from resect.core.layout.visible import layer_of_box
from resect.core.reader import read_model
from resect.core.tensor_ref import TensorRef


def leaf_keys(graph, prefix=(), collapsed=frozenset()):
    """Layer keys a fully expanded drawing shows: every layer, nested models by their insides."""
    keys = []
    for layer in graph.layers:
        key = "/".join(prefix + (layer.name,))
        if layer.subgraph is not None and key not in collapsed:
            keys += leaf_keys(layer.subgraph, prefix + (layer.name,), collapsed)
        else:
            keys.append(key)
    return keys


def calls_drawn(graph, key):
    """Boxes a layer key gets: one per call for a shared (non-nested) layer, else one."""
    level, layer = graph, None
    for part in key.split("/"):
        layer = level.layer(part)
        level = layer.subgraph
    return len(layer.nodes) if len(layer.nodes) > 1 and layer.subgraph is None else 1


def assert_no_overlap(items):
    boxes = sorted(items, key=lambda i: i.x)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if b.x >= a.x + a.w:
                break
            assert b.y >= a.y + a.h or a.y >= b.y + b.h, f"{a.key} overlaps {b.key}"


def assert_flows(lay, along=1):
    """Every edge starts on its source box, ends on its target box and never goes back."""
    for edge in lay.edges:
        source, target = lay.item(edge.source), lay.item(edge.target)
        coords = [p[along] for p in edge.points]
        assert all(b >= a - 1e-6 for a, b in zip(coords, coords[1:], strict=False)), edge.key
        if along == 1:
            assert edge.points[0][1] == pytest.approx(source.y + source.h)
            assert edge.points[-1][1] == pytest.approx(target.y)
            assert source.x <= edge.points[0][0] <= source.x + source.w
            assert target.x <= edge.points[-1][0] <= target.x + target.w
        else:
            assert edge.points[0][0] == pytest.approx(source.x + source.w)
            assert edge.points[-1][0] == pytest.approx(target.x)


@pytest.mark.parametrize("name", ["resnet50", "inception_v3", "siamese", "nested", "multi_io", "densenet121"])
def test_layout_reads_top_to_bottom(zoo, name):
    graph = read_model(zoo.path(name))
    lay = layout(graph)
    assert_no_overlap(lay.items)
    assert_flows(lay)
    drawn = [layer_of_box(key) for item in lay.items for key in item.layers]
    expected = [key for key in leaf_keys(graph) for _ in range(calls_drawn(graph, key))]
    assert sorted(drawn) == sorted(expected)  # every layer once per call (a shared layer's calls apart)
    assert all(0 <= item.x and item.x + item.w <= lay.width for item in lay.items)
    assert all(0 <= item.y and item.y + item.h <= lay.height for item in lay.items)


def test_resnet50_main_path_is_straight_with_skips_beside(zoo):
    graph = read_model(zoo.path("resnet50"))
    lay = layout(graph)
    centre = lay.item("input_layer").center[0]
    main = ["conv1_conv", "pool1_pool", "conv2_block1_1_conv", "conv2_block1_add", "conv3_block4_2_conv"]
    main += ["conv4_block6_out", "conv5_block3_add", "avg_pool", "predictions"]
    for key in main:
        assert lay.item(key).center[0] == pytest.approx(centre, abs=0.5), key
    # the identity shortcut of conv3_block2 runs beside the main path, not through it
    skip = next(e for e in lay.edges if e.source == "conv3_block1_out" and e.target == "conv3_block2_add")
    runs = list(zip(skip.points, skip.points[1:], strict=False))
    (x0, y0), (x1, y1) = max(runs, key=lambda r: abs(r[1][1] - r[0][1]))
    assert x0 == x1 and abs(x0 - centre) > 80 and abs(y1 - y0) > 300  # a long vertical run beside
    assert all(a[0] == b[0] or a[1] == b[1] for a, b in runs)  # orthogonal
    # ranks follow the data flow and boxes fit their names
    assert lay.item("conv1_conv").rank < lay.item("conv1_bn").rank
    assert lay.item("conv2_block1_1_conv").w > lay.item("avg_pool").w


def test_left_to_right(zoo):
    graph = read_model(zoo.path("inception_v3"))
    lay = layout(graph, direction="LR")
    assert_no_overlap(lay.items)
    assert_flows(lay, along=0)
    assert lay.width > lay.height


def test_siamese_shared_layers_draw_once_per_call(zoo):
    graph = read_model(zoo.path("siamese"))
    lay = layout(graph)
    edge = next(e for e in lay.edges if e.source == "tower_conv" and e.target == "tower_pool")
    assert edge.tensors == (TensorRef("tower_conv", 0, 0),)
    edge = next(e for e in lay.edges if e.source == "tower_conv:1" and e.target == "tower_pool:1")
    assert edge.tensors == (TensorRef("tower_conv", 1, 0),)
    assert {(e.source, e.target) for e in lay.edges if e.target.startswith("tower_conv")} == {
        ("left", "tower_conv"),
        ("right", "tower_conv:1"),
    }


def test_nested_models_expand_and_collapse(zoo):
    graph = read_model(zoo.path("nested"))
    lay = layout(graph)
    # expanded: the outer layers connect to the inner input / output layers
    pairs = {(e.source, e.target) for e in lay.edges}
    assert ("stem", "seq_block/input_layer") in pairs
    assert ("seq_block/seq_bn", "func_block/inner_in") in pairs
    assert ("side", "func_block/inner_in") in pairs
    assert ("func_block/inner_add", "merge") in pairs
    edge = next(e for e in lay.edges if e.source == "func_block/inner_add")
    assert edge.tensors == (TensorRef("func_block", 0, 0), TensorRef("func_block", 1, 0))
    # collapsed: one box per nested model, which draws all its layers
    folded = layout(graph, frozenset({"func_block", "seq_block"}))
    assert folded.item("func_block").layers == (
        "func_block",
        "func_block/inner_in",
        "func_block/inner_skip",
        "func_block/inner_dense",
        "func_block/inner_add",
    )
    assert {(e.source, e.target) for e in folded.edges} >= {("seq_block", "func_block"), ("func_block", "merge")}
    assert folded.item_of_layer("func_block/inner_dense").key == "func_block"
    assert sorted(k for i in folded.items for k in i.layers) == sorted(leaf_keys(graph) + ["func_block", "seq_block"])


def test_collapsed_block_is_one_box_wired_to_its_neighbours(zoo):
    graph = read_model(zoo.path("resnet50"))
    blocks = find_blocks(graph)
    lay = layout(graph, frozenset({"conv2_block2"}), blocks=blocks)
    box = lay.item("conv2_block2")
    assert box.kind == "block" and box.class_name == "residual"
    assert len(box.layers) == 10
    assert not any(key in (item.key for item in lay.items) for key in box.layers)
    into = [e for e in lay.edges if e.target == "conv2_block2"]
    out = [e for e in lay.edges if e.source == "conv2_block2"]
    assert [e.source for e in into] == ["conv2_block1_out"]
    assert {e.target for e in out} == {"conv2_block3_1_conv", "conv2_block3_add"}
    assert out[0].tensors == (TensorRef("conv2_block2_out"),)
    for edge in into:
        assert edge.points[-1][1] == pytest.approx(box.y)
    assert_no_overlap(lay.items)
    assert_flows(lay)
    drawn = sorted(k for item in lay.items for k in item.layers)
    assert drawn == sorted(layer.name for layer in graph.layers)  # each layer once, 10 of them inside the block
    # an enclosing collapsed block wins over the blocks inside it
    staged = layout(graph, frozenset({"conv2", "conv2_block2"}), blocks=blocks)
    assert "conv2" in {i.key for i in staged.items} and "conv2_block2" not in {i.key for i in staged.items}
    assert staged.item_of_layer("conv2_block2_add").key == "conv2"


def test_all_blocks_collapsed_makes_a_short_overview(zoo):
    graph = read_model(zoo.path("inception_v3"))
    blocks = find_blocks(graph)
    lay = layout(graph, frozenset(b.name for b in blocks), blocks=blocks)
    assert len(lay.items) < 40 < len(graph.layers)
    assert_no_overlap(lay.items)
    assert_flows(lay)
    chain = [lay.item(f"mixed{i}").rank for i in range(11)]
    assert chain == sorted(chain) and len(set(chain)) == 11


def test_a_layer_reused_further_down_makes_a_cycle_that_still_lays_out():
    """``x = dense(relu(dense(x)))`` with one Dense layer: the layer graph has a cycle."""
    from resect.core.graph import Layer, ModelGraph, Node

    def node(layer, index, *inputs):
        return Node(layer, index, inputs=tuple(TensorRef.parse(i) for i in inputs), output_shapes=((None, 8),))

    layers = (
        Layer("x", "InputLayer", {}, nodes=(node("x", 0),)),
        Layer(
            "dense", "Dense", {}, nodes=(node("dense", 0, "x"), node("dense", 1, "relu"), node("dense", 2, "dense:2"))
        ),
        Layer("relu", "ReLU", {}, nodes=(node("relu", 0, "dense:0"),)),
        Layer("out", "Activation", {}, nodes=(node("out", 0, "dense:1"),)),
    )
    graph = ModelGraph("loop", layers, (TensorRef("x"),), (TensorRef("out"),))
    for direction in ("TB", "LR"):
        lay = layout(graph, direction=direction)
        # one box per call (issue 13): the layer-level cycle unrolls into calls
        assert sorted(i.key for i in lay.items) == ["dense", "dense:1", "dense:2", "out", "relu", "x"]
        assert_no_overlap(lay.items)
        pairs = {(e.source, e.target) for e in lay.edges}
        assert pairs == {("x", "dense"), ("dense", "relu"), ("relu", "dense:1"), ("dense:1", "out")}  # no self-loop
        for edge in lay.edges:  # every edge still runs from its source box to its target box
            sx, sy = edge.points[0]
            tx, ty = edge.points[-1]
            s, t = lay.item(edge.source), lay.item(edge.target)
            assert s.x - 1e-6 <= sx <= s.x + s.w + 1e-6 and s.y - 1e-6 <= sy <= s.y + s.h + 1e-6
            assert t.x - 1e-6 <= tx <= t.x + t.w + 1e-6 and t.y - 1e-6 <= ty <= t.y + t.h + 1e-6
    empty = layout(ModelGraph("empty", (), (), ()))
    assert empty.items == () and empty.edges == () and empty.width > 0


def test_default_collapsed_views_of_the_zoo_draw_every_layer_once(zoo):
    from resect.core.analysis.blocks import default_collapsed

    for name in ["resnet50", "inception_v3", "densenet121", "mobilenet_v2", "efficientnet_b0", "nested", "multi_io"]:
        graph = read_model(zoo.path(name))
        blocks = find_blocks(graph)
        lay = layout(graph, default_collapsed(blocks), blocks=blocks)
        assert_no_overlap(lay.items)
        assert_flows(lay)
        drawn = [key for item in lay.items for key in item.layers]
        assert len(drawn) == len(set(drawn)), name
        assert set(leaf_keys(graph)) <= set(drawn), name
        assert len(lay.items) < len(leaf_keys(graph)) or not blocks, name


def test_a_block_holding_a_nested_model_collapses_with_its_insides(tmp_path):
    import keras

    L = keras.layers
    inner = keras.Sequential([keras.Input((8,)), L.Dense(8, name="in_dense")], name="inner_seq")
    x = keras.Input((8,), name="x")
    h = inner(L.Dense(8, name="blk_a")(x))
    y = L.Add(name="blk_add")([x, h])
    model = keras.Model(x, L.Dense(2, name="head")(y), name="holder")
    model.save(tmp_path / "holder.keras")
    graph = read_model(tmp_path / "holder.keras")
    blocks = {b.name: b for b in find_blocks(graph)}
    inner_input = graph.layer("inner_seq").subgraph.inputs[0].layer  # Keras numbers it per process
    assert set(blocks["blk_add"].layers) == {
        "blk_a",
        "inner_seq",
        f"inner_seq/{inner_input}",
        "inner_seq/in_dense",
        "blk_add",
    }
    assert blocks["inner_seq"].parent == "blk_add"
    lay = layout(graph, frozenset({"blk_add"}), blocks=list(blocks.values()))
    assert sorted(item.key for item in lay.items) == ["blk_add", "head", "x"]
    assert lay.item_of_layer("inner_seq/in_dense").key == "blk_add"
    assert {(e.source, e.target) for e in lay.edges} == {("x", "blk_add"), ("blk_add", "head")}


def _random_graph(rng, n_layers):
    """A random functional graph: joins of up to 3 earlier tensors, some layers called twice."""
    from resect.core.graph import Layer, ModelGraph, Node

    names = [f"in{i}" for i in range(rng.randint(1, 3))]
    calls = {name: [()] for name in names}
    for i in range(n_layers):
        name = f"l{i}"
        k = rng.choice([1, 1, 1, 2, 2, 3])
        produced = [(layer, n) for layer in calls for n in range(len(calls[layer]))]
        inputs = tuple(TensorRef(*rng.choice(produced)) for _ in range(k))
        calls[name] = [inputs]
        if rng.random() < 0.1 and i > 2:  # shared: a second call on another tensor
            calls[name].append((TensorRef(*rng.choice(produced)),))
        names.append(name)
    layers = tuple(
        Layer(
            name,
            "InputLayer" if name.startswith("in") else rng.choice(["Dense", "Add", "Conv2D", "ReLU"]),
            {},
            nodes=tuple(Node(name, n, inputs=inp, output_shapes=((None, 4),)) for n, inp in enumerate(calls[name])),
        )
        for name in names
    )
    inputs = tuple(TensorRef(n) for n in names if n.startswith("in"))
    return ModelGraph("random", layers, inputs, (TensorRef(names[-1]),))


@pytest.mark.parametrize("seed", range(25))
def test_random_graphs_lay_out_cleanly(seed):
    import random

    rng = random.Random(seed)
    graph = _random_graph(rng, rng.randint(3, 70))
    for direction, along in (("TB", 1), ("LR", 0)):
        lay = layout(graph, direction=direction)
        assert_no_overlap(lay.items)
        drawn = [k for item in lay.items for k in item.layers]
        expected = [layer.name for layer in graph.layers for _ in range(calls_drawn(graph, layer.name))]
        assert sorted(layer_of_box(k) for k in drawn) == sorted(expected)  # each call of a layer once
        acyclic = all(lay.item(e.source).rank < lay.item(e.target).rank for e in lay.edges)
        if acyclic:
            assert_flows(lay, along=along)
        for edge in lay.edges:  # orthogonal, and no segment runs through a box it does not belong to
            for (ax, ay), (bx, by) in zip(edge.points, edge.points[1:], strict=False):
                assert ax == pytest.approx(bx) or ay == pytest.approx(by)
                for item in lay.items:
                    if item.key in (edge.source, edge.target):
                        continue
                    x0, x1, y0, y1 = min(ax, bx), max(ax, bx), min(ay, by), max(ay, by)
                    crosses = x0 < item.x + item.w - 1e-6 and x1 > item.x + 1e-6
                    crosses = crosses and y0 < item.y + item.h - 1e-6 and y1 > item.y + 1e-6
                    assert not crosses, (seed, direction, edge.key, item.key)


@pytest.mark.parametrize("seed", range(25, 40))
def test_random_graphs_collapse_cleanly(seed):
    import random

    from resect.core.analysis.blocks import default_collapsed

    rng = random.Random(seed)
    graph = _random_graph(rng, rng.randint(10, 80))
    blocks = find_blocks(graph)
    for i, a in enumerate(blocks):
        for b in blocks[i + 1 :]:
            sa, sb = set(a.layers), set(b.layers)
            assert not (sa & sb) or sa <= sb or sb <= sa
    for collapsed in (default_collapsed(blocks), frozenset(b.name for b in blocks)):
        lay = layout(graph, collapsed, blocks=blocks)
        assert_no_overlap(lay.items)
        drawn = [k for item in lay.items for k in item.layers]
        assert len(drawn) == len(set(drawn))  # each layer (or call of a shared layer) drawn once
        assert sorted({layer_of_box(k) for k in drawn}) == sorted(layer.name for layer in graph.layers)
        keys = {item.key for item in lay.items}
        assert all(e.source in keys and e.target in keys and e.source != e.target for e in lay.edges)
