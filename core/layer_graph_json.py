"""A code-defined model's layer graph (a KerasHub Backbone or Task) as JSON, from the
Keras worker process to the app.

The app's reading of such a file has no layers (``ModelGraph.code_defined``); only Keras
can build the graph. The worker sends Keras' own functional config of the built model plus
each layer's weights, and both sides turn it into a ``ModelGraph`` with the same parser the
file reader uses, so the shape table computed in the worker applies exactly in the app.
JSON rather than a pickle: the window's process never unpickles what the worker (which
may run the user's code) sends. Pure Python.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from resect.core.graph import ModelGraph, Weight

__all__ = ["graph_from_layer_json", "layer_graph_json"]


def layer_graph_json(config: dict[str, Any], built: ModelGraph) -> dict[str, Any]:
    """``{"config": Keras' functional config, "weights": {LAYER/PATH: [[name, shape, dtype,
    trainable], ...]}, "problems": {LAYER/PATH: why}}`` for a graph Keras built (``built``: its layers and weights)."""
    weights = {
        "/".join(path): [[w.name, list(w.shape), w.dtype, w.trainable] for w in layer.weights]
        for path, layer in built.iter_layers_deep()
        if layer.weights
    }
    problems = {"/".join(path): layer.problem for path, layer in built.iter_layers_deep() if layer.problem}
    return {"config": config, "weights": weights, "problems": problems}


def graph_from_layer_json(read: ModelGraph, obj: dict[str, Any]) -> ModelGraph:
    """``read`` (the file's reading: a ``CodeDefined`` record, no layers) with the layer
    graph ``layer_graph_json`` describes."""
    from resect.core.reader.config_parser import parse_model_config

    table: dict[str, list[Any]] = obj.get("weights") or {}

    def weights(name_path: tuple[str, ...], _group: str, _entry: Any, _trainable: bool) -> tuple[Weight, ...]:
        return tuple(
            Weight(str(n), tuple(int(d) for d in s), str(t), bool(tr))
            for n, s, t, tr in table.get("/".join(name_path), ())
        )

    graph = parse_model_config(obj["config"], weights, read.format, read.path)
    graph = _with_problems(graph, obj.get("problems") or {}, ())  # Keras built every layer: no guesses
    return replace(graph, name=read.name, class_name=read.class_name, code_defined=read.code_defined)


def _with_problems(graph: ModelGraph, problems: dict[str, str], prefix: tuple[str, ...]) -> ModelGraph:
    layers = []
    for layer in graph.layers:
        path = (*prefix, layer.name)
        sub = None if layer.subgraph is None else _with_problems(layer.subgraph, problems, path)
        layers.append(replace(layer, problem=problems.get("/".join(path)), subgraph=sub))
    return graph.with_layers(tuple(layers))
