"""Single-tensor cut points, crossing tensors and dropping blocks at the ends of a model."""

from __future__ import annotations

import pytest

from resect.core.analysis.blocks import find_blocks
from resect.core.analysis.cutpoints import crossing_tensors, single_tensor_cut_points
from resect.core.reader import read_model
from resect.core.surgery.apply import apply_edits
from resect.core.surgery.dropping import cut_for_dropping
from resect.core.surgery.edits import Cut
from resect.core.surgery.errors import EditError
from resect.core.surgery.graph_ops import ancestors, descendants
from resect.core.tensor_ref import TensorRef


def _brute_force(graph, ref: TensorRef) -> bool:
    """``ref`` is a cut point iff no output is reachable from the inputs without it."""
    region_without = ancestors(graph, graph.outputs, frozenset({ref}))
    return not any(r.node_key in region_without for r in graph.inputs)


@pytest.mark.parametrize("fmt", ["keras", "tf2.h5"])
def test_resnet50_cut_points_are_block_outputs_and_the_stem(zoo, fmt):
    graph = read_model(zoo.path("resnet50", fmt))
    points = single_tensor_cut_points(graph)
    names = [p.layer for p in points]
    outs = [n for n in names if n.endswith("_out")]
    assert outs == [f"conv{s}_block{b}_out" for s, n in ((2, 3), (3, 4), (4, 6), (5, 3)) for b in range(1, n + 1)]
    assert names[:3] == [graph.inputs[0].layer, "conv1_pad", "conv1_conv"]
    assert names[-2:] == ["avg_pool", "predictions"]
    # never inside a branch: of a block only the join (add) and its activation (out)
    assert not [n for n in names if "_block" in n and not n.endswith(("_out", "_add"))]
    assert len([n for n in names if n.endswith("_add")]) == 16


@pytest.mark.parametrize("name", ["small_resnet", "siamese", "nested", "inception_v3", "multi_io"])
def test_cut_points_match_brute_force(zoo, name):
    """Each tensor is checked on its own: removing it disconnects every input from the outputs."""
    graph = read_model(zoo.path(name))
    points = set(single_tensor_cut_points(graph))
    relevant = ancestors(graph, graph.outputs)
    for node in graph.iter_nodes():
        if node.key not in relevant:
            continue
        for ref in node.outputs:
            blocked = ancestors(graph, graph.outputs, frozenset({ref}))
            separates = not any(r.node_key in blocked for r in graph.inputs if r != ref)
            if len(graph.inputs) > 1 and ref in graph.inputs:
                separates = False  # the other input still reaches the outputs
            assert (ref in points) == separates, str(ref)


def test_inception_cut_points_include_every_mixed_block(zoo):
    points = {p.layer for p in single_tensor_cut_points(read_model(zoo.path("inception_v3")))}
    assert {f"mixed{i}" for i in range(11)} <= points
    assert "mixed9_1" not in points and "concatenate" not in points  # inside mixed9 / mixed10's branches


def test_siamese_has_no_cut_point_before_the_merge(zoo):
    points = [str(p) for p in single_tensor_cut_points(read_model(zoo.path("siamese")))]
    assert points == ["difference:0:0", "score:0:0"]


def test_crossing_tensors_of_a_branch_start(zoo):
    graph = read_model(zoo.path("small_resnet"))
    assert crossing_tensors(graph, ["conv2_block2_1_conv"]) == [TensorRef("conv2_block1_out")]
    assert crossing_tensors(graph, ["conv2_block1_out"]) == []
    # in a projection block the shortcut's last tensor is what crosses
    assert crossing_tensors(graph, ["conv3_block1_1_relu"], ["conv3_block1_out"]) == [TensorRef("conv3_block1_0_bn")]


@pytest.mark.parametrize("fmt", ["keras", "tf2.h5"])
def test_drop_first_and_last_stage_of_resnet50(zoo, fmt):
    graph = read_model(zoo.path("resnet50", fmt))
    blocks = {b.name: b for b in find_blocks(graph)}
    first = cut_for_dropping(graph, blocks["conv2"])
    last = cut_for_dropping(graph, blocks["conv5"])
    assert first == Cut(inputs=("conv2_block3_out:0:0",))
    assert last == Cut(outputs=("conv4_block6_out:0:0",))
    both = apply_edits(graph, [first, last])
    assert {lay.name for lay in both.layers if not lay.is_input} == {
        lay.name for lay in graph.layers if lay.name.startswith(("conv3_", "conv4_"))
    }
    single = cut_for_dropping(graph, blocks["conv2_block1"])
    assert single == Cut(inputs=("conv2_block1_out:0:0",))
    with pytest.raises(EditError, match="not a single-tensor cut point"):
        cut_for_dropping(graph, _Fake("branch", TensorRef("conv2_block1_1_relu"), TensorRef("conv2_block1_2_conv")))


class _Fake:
    def __init__(self, name: str, entry: TensorRef, exit: TensorRef) -> None:
        self.name, self.entry, self.exit = name, entry, exit


def test_descendants_and_ancestors_are_consistent(zoo):
    graph = read_model(zoo.path("small_resnet"))
    ref = TensorRef("conv2_block2_out")
    down = descendants(graph, [ref])
    up = ancestors(graph, [ref])
    assert not down & up
    assert len(down) + len(up) == sum(len(lay.nodes) for lay in graph.layers)  # a cut point splits everything
    assert _brute_force(graph, ref)
