"""The reader and ``fill_shapes`` against Keras itself on every zoo model.

For each zoo model and format, ``keras.models.load_model`` is the reference: layer
list, class names, connections (node inputs as ``keras_history`` triples), params per
layer (total / trainable / non-trainable), model inputs / outputs, and every call's
shapes. tf.keras 2 files that Keras 3 cannot load are compared with our reading of
the same model's ``.keras`` file instead.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from zoo import BUILDERS, LEGACY_BUILDABLE

from resect.core.graph import ModelGraph
from resect.core.keras_backend.loading import fill_shapes, keras_layers, load_keras_model
from resect.core.reader import read_model

# Keras 3.15 alone fails on these tf.keras 2 files (a nested model called twice,
# MultiHeadAttention's legacy config, LSTM's time_major); they load through the config
# upgrade (core.upgrade), so they are compared with Keras like the others.
KERAS_CANNOT_LOAD_TF2 = {"nested", "multi_io", "lstm"}

CASES = [(name, fmt) for name in BUILDERS for fmt in ("keras", "h5")] + [(name, "tf2.h5") for name in LEGACY_BUILDABLE]


def _history(tensor: Any) -> tuple[str, int, int]:
    h = tensor._keras_history
    return (h.operation.name, h.node_index, h.tensor_index)


def _refs(refs) -> list[tuple[str, int, int]]:
    return [(r.layer, r.node_index, r.tensor_index) for r in refs]


def _count(weights) -> int:
    return sum(math.prod(int(d) for d in w.shape) for w in weights)


def _compare(graph: ModelGraph, model: Any, shapes_complete: bool, where: str = "") -> list[str]:
    """Every difference between our graph and the Keras model, as readable lines."""
    errors: list[str] = []
    keras_list = keras_layers(model)
    sequential = type(model).__name__ == "Sequential"
    if [layer.name for layer in keras_list] != [layer.name for layer in graph.layers]:
        return [
            f"{where}layer list: keras {[x.name for x in keras_list][:8]} ours {[x.name for x in graph.layers][:8]}"
        ]
    for keras_layer in keras_list:
        ours = graph.layer(keras_layer.name)
        name = where + ours.name
        if type(keras_layer).__name__ != ours.class_name:
            errors.append(f"{name}: class {type(keras_layer).__name__} vs {ours.class_name}")
        params = (
            keras_layer.count_params() if keras_layer.built else 0,
            _count(keras_layer.trainable_weights),
            _count(keras_layer.non_trainable_weights),
        )
        if params != (ours.params, ours.trainable_params, ours.non_trainable_params):
            errors.append(
                f"{name}: params {params} vs {(ours.params, ours.trainable_params, ours.non_trainable_params)}"
            )
        inbound = keras_layer._inbound_nodes
        # Keras' Sequential calls its inner layers again when it rebuilds, so only a
        # Functional's node count is exact; a Sequential's first calls are compared.
        if len(inbound) != len(ours.nodes) and not (sequential and len(inbound) >= len(ours.nodes)):
            errors.append(f"{name}: {len(inbound)} Keras calls vs {len(ours.nodes)}")
        for node, keras_node in zip(ours.nodes, inbound, strict=False):
            keras_inputs = [_history(t) for t in keras_node.input_tensors]
            if sequential:
                keras_inputs = [(layer, 0, index) for layer, _, index in keras_inputs]
            if keras_inputs != _refs(node.inputs):
                errors.append(f"{name}:{node.index}: inputs {keras_inputs} vs {_refs(node.inputs)}")
            for kind, keras_tensors, our_shapes in (
                ("output", keras_node.output_tensors, node.output_shapes),
                ("input", keras_node.input_tensors, node.input_shapes),
            ):
                keras_shapes = [tuple(t.shape) for t in keras_tensors]
                if len(keras_shapes) != len(our_shapes):
                    errors.append(f"{name}:{node.index}: {len(keras_shapes)} {kind}s vs {len(our_shapes)}")
                for i, (theirs, mine) in enumerate(zip(keras_shapes, our_shapes, strict=False)):
                    if mine is None and shapes_complete:
                        errors.append(f"{name}:{node.index}: {kind} {i} shape missing after fill_shapes")
                    elif mine is not None and tuple(mine) != theirs:
                        errors.append(f"{name}:{node.index}: {kind} {i} shape {theirs} vs {mine}")
        if ours.subgraph is not None:
            errors += _compare(ours.subgraph, keras_layer, shapes_complete, f"{name}/")
    if not where:
        if model.count_params() != graph.total_params:
            errors.append(f"total params {model.count_params()} vs {graph.total_params}")
        if [_history(t) for t in model.inputs] != _refs(graph.inputs):
            errors.append(f"inputs {[_history(t) for t in model.inputs]} vs {_refs(graph.inputs)}")
        if [_history(t) for t in model.outputs] != _refs(graph.outputs):
            errors.append(f"outputs {[_history(t) for t in model.outputs]} vs {_refs(graph.outputs)}")
    return errors


@pytest.mark.parametrize(("name", "fmt"), CASES, ids=[f"{n}.{f}" for n, f in CASES])
def test_reader_and_filled_shapes_equal_keras(zoo, name: str, fmt: str) -> None:
    path = zoo.path(name, fmt)
    graph = read_model(path)
    model = load_keras_model(path, graph)
    assert _compare(graph, model, shapes_complete=False) == []
    filled = fill_shapes(graph, model)
    assert _compare(filled, model, shapes_complete=True) == []
    # the reader records shapes in .keras files: most calls already have theirs
    if fmt == "keras":
        known = sum(s is not None for n in graph.iter_nodes() for s in n.output_shapes)
        assert known >= sum(len(n.output_shapes) for n in graph.iter_nodes()) - len(graph.outputs)


@pytest.mark.parametrize("name", sorted(KERAS_CANNOT_LOAD_TF2))
def test_tf2_files_keras_cannot_load_match_our_keras_reading(zoo, name: str) -> None:
    """Same layers, classes, connections and params as the same model saved by Keras 3
    (auto-named input layers of nested Sequentials may differ, and are mapped)."""
    legacy = read_model(zoo.path(name, "tf2.h5"))
    reference = read_model(zoo.path(name, "keras"))
    assert legacy.format == "h5"
    ours = list(legacy.iter_layers_deep())
    theirs = list(reference.iter_layers_deep())
    assert len(ours) == len(theirs)
    renamed: dict[str, str] = {}
    for (path_a, a), (path_b, b) in zip(ours, theirs, strict=True):
        assert a.class_name == b.class_name, path_a
        if a.class_name == "InputLayer":
            renamed[a.name] = b.name
        else:
            assert path_a == path_b
        assert (a.params, a.trainable_params, a.non_trainable_params) == (
            b.params,
            b.trainable_params,
            b.non_trainable_params,
        ), path_a
        assert len(a.nodes) == len(b.nodes), path_a
        for node_a, node_b in zip(a.nodes, b.nodes, strict=True):
            mapped = [(renamed.get(r.layer, r.layer), r.node_index, r.tensor_index) for r in node_a.inputs]
            assert mapped == _refs(node_b.inputs), path_a
    assert _refs(legacy.inputs) == _refs(reference.inputs)
    assert _refs(legacy.outputs) == _refs(reference.outputs)
    assert legacy.total_params == reference.total_params > 0


def test_keras_alone_cannot_load_those_tf2_files_but_the_upgrade_does(zoo) -> None:
    """Guards the list above: the upgrade is what makes them load (if a Keras release
    fixes one, drop it from the list)."""
    from resect.core.keras_backend.runtime import import_keras

    keras = import_keras()
    for name in sorted(KERAS_CANNOT_LOAD_TF2):
        with pytest.raises(Exception):  # noqa: B017 - Keras raises ValueError or TypeError here
            keras.models.load_model(zoo.path(name, "tf2.h5"), compile=False)
        graph = read_model(zoo.path(name, "tf2.h5"))
        assert graph.upgrades
        assert load_keras_model(zoo.path(name, "tf2.h5"), graph).count_params() == graph.total_params
