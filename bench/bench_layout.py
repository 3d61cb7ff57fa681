"""Layout and scene speed: ResNet50, an EfficientNetB7-sized graph, 5,000 and 20,000 layers.

``run()`` returns rows ``{case, tool, seconds, peak_mb, note}`` for bench/run.py; run this
file directly to print them. The large graphs are built as ``ModelGraph`` objects in
Python (no Keras): a chain of Dense -> Activation -> Add blocks with a skip around each,
and EfficientNet-shaped blocks (expand, depthwise, squeeze-excite, project, residual).
``seconds`` is the best of a few runs; ``peak_mb`` is Python's peak allocation
(tracemalloc) during one run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import best_time_and_peak  # noqa: E402

from resect.core.graph import Layer, ModelGraph, Node, Weight  # noqa: E402
from resect.core.tensor_ref import TensorRef  # noqa: E402


class _Builder:
    """Append layers to a graph under construction, one call each."""

    def __init__(self) -> None:
        self.layers: list[Layer] = []

    def add(self, name: str, class_name: str, inputs: list[str], shape: tuple, params: int = 0) -> str:
        weights = (Weight(f"{name}/kernel", (params,), "float32", True),) if params else ()
        node = Node(
            layer=name,
            index=0,
            inputs=tuple(TensorRef(i) for i in inputs),
            input_shapes=tuple(shape for _ in inputs),
            output_shapes=(shape,),
        )
        self.layers.append(
            Layer(name=name, class_name=class_name, config={"name": name}, weights=weights, nodes=(node,))
        )
        return name

    def graph(self, name: str, first: str, last: str) -> ModelGraph:
        return ModelGraph(name, tuple(self.layers), (TensorRef(first),), (TensorRef(last),))


def chain_with_skips(n_layers: int) -> ModelGraph:
    """``n_layers`` layers: Dense -> Activation -> Add blocks, each Add joining a skip."""
    b = _Builder()
    shape = (None, 64)
    x = b.add("input", "InputLayer", [], shape)
    i = 0
    while len(b.layers) + 3 <= n_layers:
        h = b.add(f"b{i}_dense", "Dense", [x], shape, 4160)
        h = b.add(f"b{i}_relu", "Activation", [h], shape)
        x = b.add(f"b{i}_add", "Add", [x, h], shape)
        i += 1
    while len(b.layers) < n_layers:
        x = b.add(f"tail{len(b.layers)}", "Activation", [x], shape)
    return b.graph(f"chain_{n_layers}", "input", x)


def efficientnet_like(blocks: int = 55) -> ModelGraph:
    """EfficientNet-shaped: ~14.8 layers per block; 55 blocks ~ EfficientNetB7's 816 layers."""
    b = _Builder()
    shape = (None, 28, 28, 64)
    x = b.add("input_layer", "InputLayer", [], (None, 600, 600, 3))
    x = b.add("stem_conv", "Conv2D", [x], shape, 864)
    x = b.add("stem_bn", "BatchNormalization", [x], shape, 256)
    x = b.add("stem_activation", "Activation", [x], shape)
    for k in range(blocks):
        p = f"block{k // 8 + 1}{chr(ord('a') + k % 8)}_"
        h = b.add(p + "expand_conv", "Conv2D", [x], shape, 24576)
        h = b.add(p + "expand_bn", "BatchNormalization", [h], shape, 1536)
        h = b.add(p + "expand_activation", "Activation", [h], shape)
        h = b.add(p + "dwconv", "DepthwiseConv2D", [h], shape, 3456)
        h = b.add(p + "bn", "BatchNormalization", [h], shape, 1536)
        a = b.add(p + "activation", "Activation", [h], shape)
        s = b.add(p + "se_squeeze", "GlobalAveragePooling2D", [a], (None, 384))
        s = b.add(p + "se_reshape", "Reshape", [s], (None, 1, 1, 384))
        s = b.add(p + "se_reduce", "Conv2D", [s], (None, 1, 1, 16), 6160)
        s = b.add(p + "se_expand", "Conv2D", [s], (None, 1, 1, 384), 6528)
        h = b.add(p + "se_excite", "Multiply", [a, s], shape)
        h = b.add(p + "project_conv", "Conv2D", [h], shape, 24576)
        h = b.add(p + "project_bn", "BatchNormalization", [h], shape, 256)
        if k % 8:
            h = b.add(p + "drop", "Dropout", [h], shape)
            h = b.add(p + "add", "Add", [h, x], shape)
        x = h
    x = b.add("top_conv", "Conv2D", [x], (None, 19, 19, 2560), 1638400)
    x = b.add("avg_pool", "GlobalAveragePooling2D", [x], (None, 2560))
    x = b.add("predictions", "Dense", [x], (None, 1000), 2561000)
    return b.graph("efficientnet_like", "input_layer", x)


def _resnet50() -> ModelGraph | None:
    sys.path.insert(0, str(ROOT / "tests"))
    from zoo import ZooCache

    from resect.core.reader import read_model

    return read_model(ZooCache().path("resnet50", "keras"))


def run() -> list[dict]:
    import igraph

    from resect.core.analysis.blocks import find_blocks
    from resect.core.layout import layout
    from resect.core.render.scene import build_scene
    from resect.core.render.svg import scene_to_svg

    cases: list[tuple[str, Callable[[], ModelGraph]]] = [
        ("resnet50 (177 layers)", _resnet50),
        ("efficientnet_b7-sized (816 layers)", lambda: efficientnet_like(55)),
        ("chain with skips, 5,000 layers", lambda: chain_with_skips(5000)),
        ("chain with skips, 20,000 layers", lambda: chain_with_skips(20000)),
    ]
    rows = []
    for case, make in cases:
        graph = make()
        n = len(graph.layers)
        repeat = 3 if n <= 5000 else 1

        def ig_order(graph: ModelGraph = graph) -> None:
            index = {layer.name: i for i, layer in enumerate(graph.layers)}
            edges = [
                (index[r.layer], i) for i, layer in enumerate(graph.layers) for nd in layer.nodes for r in nd.inputs
            ]
            igraph.Graph(n=len(index), edges=edges, directed=True).layout_sugiyama()

        blocks = find_blocks(graph)
        tools: list[tuple[str, Callable[[], object], str]] = [
            ("igraph layout_sugiyama alone", ig_order, "C layering + order, unit grid, no box sizes"),
            ("resect layout", lambda g=graph: layout(g), "layers, order, box-sized coordinates, edge routes"),
            ("resect build_scene", lambda g=graph: build_scene(g), "layout + colours, labels, edge shapes"),
            (
                "resect build_scene, blocks collapsed",
                lambda g=graph, b=blocks: build_scene(g, {x.name for x in b if x.parent is None}, blocks=b),
                f"{len([x for x in blocks if x.parent is None])} outermost blocks collapsed",
            ),
            ("resect find_blocks", lambda g=graph: find_blocks(g), f"{len(blocks)} blocks"),
        ]
        if n <= 5000:
            scene = build_scene(graph)
            tools.append(("resect scene_to_svg", lambda s=scene: scene_to_svg(s), "SVG text of the full scene"))
        for tool, fn, note in tools:
            seconds, peak = best_time_and_peak(fn, repeat)
            rows.append(
                {"case": case, "tool": tool, "seconds": round(seconds, 4), "peak_mb": round(peak, 1), "note": note}
            )
    return rows


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for row in run():
        print(f"{row['case']:38} {row['tool']:38} {row['seconds']:8.3f} s {row['peak_mb']:8.1f} MB  {row['note']}")
