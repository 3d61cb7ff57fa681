"""Checks against Keras itself shared by the op-node, consent and KerasHub tests:
our graph vs a loaded model (every operation, params, every call's shapes), and an
export reloaded from disk vs the original on random input."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from resect.core.graph import ModelGraph
from resect.core.tensor_ref import TensorRef


def _count(weights: Any) -> int:
    return sum(math.prod(int(d) for d in w.shape) for w in weights)


def graph_vs_keras(graph: ModelGraph, model: Any, shapes_complete: bool = True, where: str = "") -> list[str]:
    """Every difference between ``graph`` and ``model``'s functional graph, as lines:
    the same operations (layers and op nodes) with the same classes, params and calls,
    and each call's input / output shapes."""
    from resect.core.keras_backend.build import model_calls

    errors: list[str] = []
    functional = getattr(model, "_functional", None) or model  # a Sequential keeps its graph there
    operations = list(functional.operations)
    ours = {layer.name for layer in graph.layers}
    theirs = {op.name for op in operations}
    if ours != theirs:
        return [f"{where}operations: only keras {sorted(theirs - ours)[:6]}, only ours {sorted(ours - theirs)[:6]}"]
    for op in operations:
        layer = graph.layer(op.name)
        name = where + op.name
        if type(op).__name__ != layer.class_name:
            errors.append(f"{name}: class {type(op).__name__} vs {layer.class_name}")
        params = tuple(
            _count(getattr(op, kind, ())) for kind in ("weights", "trainable_weights", "non_trainable_weights")
        )
        if params != (layer.params, layer.trainable_params, layer.non_trainable_params):
            errors.append(f"{name}: params {params} vs {(layer.params, layer.trainable_params)}")
        if layer.is_input:
            continue
        calls = model_calls(model, op)
        if len(calls) != len(layer.nodes):
            errors.append(f"{name}: {len(calls)} Keras calls vs {len(layer.nodes)}")
        for node, keras_node in zip(layer.nodes, calls, strict=False):
            for kind, tensors, shapes in (
                ("output", keras_node.output_tensors, node.output_shapes),
                ("input", keras_node.input_tensors, node.input_shapes),
            ):
                expected = [tuple(t.shape) for t in tensors]
                if len(expected) != len(shapes):
                    errors.append(f"{name}:{node.index}: {len(expected)} {kind}s vs {len(shapes)}")
                for i, (want, got) in enumerate(zip(expected, shapes, strict=False)):
                    if got is None and shapes_complete:
                        errors.append(f"{name}:{node.index}: {kind} {i} shape missing")
                    elif got is not None and tuple(got) != want:
                        errors.append(f"{name}:{node.index}: {kind} {i} shape {want} vs {got}")
        if layer.subgraph is not None:
            errors += graph_vs_keras(layer.subgraph, op, shapes_complete, f"{name}/")
    if not where and model.count_params() != graph.total_params:
        errors.append(f"total params {model.count_params()} vs {graph.total_params}")
    return errors


def random_feed(model: Any, seed: int = 7, high: int = 10) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    feed = []
    for tensor in model.inputs:
        shape = tuple(2 if d is None and i == 0 else (8 if d is None else int(d)) for i, d in enumerate(tensor.shape))
        if "int" in str(tensor.dtype):
            feed.append(rng.integers(0, high, shape).astype(str(tensor.dtype)))
        else:
            feed.append(rng.standard_normal(shape).astype("float32"))
    return feed


def export_matches(
    keras: Any, original: Any, exported: Path, outputs: list[str] | None, high: int = 10, tol: float = 1e-4
) -> float:
    """Reload ``exported`` from disk, run it and the original model (a path or a loaded
    model; cut at ``outputs``, tensor names of the original, if given) on the same random
    input, matched by input name; the largest difference, asserted to be within ``tol``."""
    from resect.core.keras_backend.build import keras_tensor

    if isinstance(original, (str, Path)):
        original = keras.saving.load_model(original, compile=False)
    got = keras.saving.load_model(exported, compile=False)
    if not outputs:  # the export's outputs, named by the layer that makes them (node 0)
        outputs = [t._keras_history.operation.name for t in got.outputs]
    ends = [keras_tensor(original, TensorRef.parse(t)) for t in outputs]
    reference = keras.Model(list(original.inputs), list(ends))  # list structures on both sides
    probe = keras.Model(list(got.inputs), list(got.outputs))
    feed = random_feed(probe, high=high)
    names = [_input_name(t) for t in probe.inputs]
    by_name = dict(zip(names, feed, strict=True))
    theirs_names = [_input_name(t) for t in reference.inputs]
    if sorted(theirs_names) != sorted(names) and len(names) == len(theirs_names):
        theirs_feed = feed  # one unnamed input each side: by position
    else:
        theirs_feed = [by_name[n] for n in theirs_names]
    mine = keras.tree.flatten(probe(feed))
    theirs = keras.tree.flatten(reference(theirs_feed))
    assert len(mine) == len(theirs)
    worst = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in zip(mine, theirs, strict=True))
    assert worst <= tol, worst
    return worst


def _input_name(tensor: Any) -> str:
    return str(tensor._keras_history.operation.name)
