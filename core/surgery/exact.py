"""Keras' exact answers for new layers, remembered, and the one place that combines them
with the pure-Python rules.

A new layer's output and weight shapes are Keras' answer when the Keras worker has given
one for that class, config and input shapes (``remember``), else the proved rules'
(``core.surgery.shapes``, exact inside ``shape_domain``), else unknown. ``pending_jobs``
lists what to ask the worker for an edited graph; once the answers are remembered,
re-applying the edits (``Document.refresh``) gives exact counts.

>>> layer_outputs("Dense", {"units": 2}, [(None, 5)])
[(None, 2)]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from resect.core.graph import Layer, ModelGraph, Shape
from resect.core.surgery.shapes import WeightShape, output_shapes, weight_shapes

_ANSWERS: dict[str, dict[str, Any]] = {}
_ASKED: set[str] = set()  # requests sent to the worker (answered or refused): asked once
_IGNORED = ("name", "trainable")  # never change shapes; a renamed copy has the same answer


def job(class_name: str, config: Mapping[str, Any], inputs: Sequence[Shape | None]) -> dict[str, Any] | None:
    """The worker request for one layer (JSON-ready), or ``None`` while an input shape is unknown."""
    if not inputs or any(shape is None for shape in inputs):
        return None
    clean = {k: v for k, v in config.items() if k not in _IGNORED}
    return {"class_name": class_name, "config": clean, "inputs": [list(shape) for shape in inputs if shape]}


def _key(request: Mapping[str, Any]) -> str:
    return json.dumps(request, sort_keys=True, default=str)


def remember(request: Mapping[str, Any], answer: Mapping[str, Any] | None) -> None:
    """Keep Keras' answer to ``request`` (``None``: Keras refused the layer; nothing kept)."""
    if answer is not None:
        _ANSWERS[_key(request)] = dict(answer)


def mark_asked(requests: Sequence[Mapping[str, Any]]) -> None:
    """Note requests sent to the worker, so ``pending_jobs`` does not list them again
    (a layer Keras refuses stays unknown; the export then names it)."""
    _ASKED.update(_key(request) for request in requests)


def answer_for(class_name: str, config: Mapping[str, Any], inputs: Sequence[Shape | None]) -> dict | None:
    if not _ANSWERS:  # the common case (no new layer asked about yet): no request text to build
        return None
    request = job(class_name, config, inputs)
    return None if request is None else _ANSWERS.get(_key(request))


def layer_outputs(class_name: str, config: Mapping[str, Any], inputs: Sequence[Shape | None]) -> list[Shape] | None:
    """Output shapes of one call: Keras' answer, else the proved rules', else ``None``."""
    known = answer_for(class_name, config, inputs)
    if known is not None:
        return [tuple(shape) for shape in known["outputs"]]
    return output_shapes(class_name, config, inputs)


def layer_weights(
    class_name: str, config: Mapping[str, Any], inputs: Sequence[Shape | None]
) -> list[WeightShape] | None:
    """Weight shapes (name, shape, trainable): Keras' answer, else the proved rules', else ``None``."""
    known = answer_for(class_name, config, inputs)
    if known is not None:
        return [(name, tuple(shape), bool(trainable)) for name, shape, trainable in known["weights"]]
    return weight_shapes(class_name, config, inputs)


def is_exact(layer: Layer) -> bool:
    """Whether a new layer's counts are Keras' own answer."""
    shapes = layer.nodes[0].input_shapes if layer.nodes else ()
    return answer_for(layer.class_name, layer.config, list(shapes)) is not None


def pending_jobs(graph: ModelGraph) -> list[dict[str, Any]]:
    """Worker requests for the new layers of ``graph`` whose counts are not Keras' yet
    (those with known input shapes; one request per distinct layer)."""
    found: dict[str, dict[str, Any]] = {}
    for layer in graph.layers:
        if layer.origin is not None or layer.is_input or not layer.nodes or layer.subgraph is not None:
            continue
        request = job(layer.class_name, layer.config, list(layer.nodes[0].input_shapes))
        if request is not None and _key(request) not in _ANSWERS and _key(request) not in _ASKED:
            found.setdefault(_key(request), request)
    return list(found.values())
