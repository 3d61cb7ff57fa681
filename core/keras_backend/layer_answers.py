"""Keras' own answer for a new layer: its output shapes and weight shapes, built on
symbolic inputs (no data). The Keras worker answers the preview's unknowns with it, and
the shape conformance test compares the pure-Python rules with it.

>>> keras_layer_answer("Dense", {"units": 2}, [[None, 5]])  # doctest: +SKIP
{'outputs': [[None, 2]], 'weights': [['kernel', [5, 2], True], ['bias', [2], True]]}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from resect.core.keras_backend.runtime import import_keras

INTEGER_INPUTS = frozenset({"Embedding"})


def keras_layer_answer(class_name: str, config: Mapping[str, Any], inputs: Sequence[Sequence[int | None]]) -> dict:
    """``{"outputs": [shape, ...], "weights": [[name, shape, trainable], ...]}`` (JSON-ready);
    raises whatever Keras raises for a config or inputs it refuses."""
    keras = import_keras()
    config = {**dict(config), "name": str(config.get("name") or "probe")}
    layer = keras.layers.deserialize({"class_name": class_name, "config": config, "module": "keras.layers"})
    dtype = "int32" if class_name in INTEGER_INPUTS else "float32"
    tensors = [keras.Input(batch_shape=tuple(shape), dtype=dtype) for shape in inputs]
    out = layer(tensors[0] if len(tensors) == 1 else tensors)
    outputs = [list(t.shape) for t in keras.tree.flatten(out)]
    weights = [[w.path.rsplit("/", 1)[-1], list(w.shape), bool(w.trainable)] for w in layer.weights]
    return {"outputs": outputs, "weights": weights}


def keras_layer_answers(jobs: Sequence[Mapping[str, Any]]) -> list[dict | None]:
    """Answers for several ``{"class_name", "config", "inputs"}`` jobs; ``None`` for a
    layer Keras cannot build on those inputs (the export will say why)."""
    answers: list[dict | None] = []
    for job in jobs:
        try:
            answers.append(keras_layer_answer(job["class_name"], job["config"], job["inputs"]))
        except Exception:  # noqa: BLE001 - a refused config: no exact answer, the export names it
            answers.append(None)
    return answers
