"""The real layer graph of a code-defined model (a KerasHub Backbone or Task), once Keras
has built it.

A KerasHub model is a ``Functional`` subclass whose ``get_config`` returns constructor
hyperparameters. Wrapping it as ``keras.Model(m.input, m.output)`` gives a plain
``Functional`` whose own ``get_config`` is Keras' layer-graph config; a nested code-defined
model inside it (a Task's backbone) is expanded the same way, so it reads as a nested
model. That config goes through our ordinary config parser, with weights taken from the
live layers, so the result is an ordinary ``ModelGraph``: surgery, export and
verification treat it like any functional model.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from core.graph import ModelGraph, Weight
from core.keras_backend.runtime import import_keras

__all__ = ["expand_code_defined", "functional_config"]


def expand_code_defined(graph: ModelGraph, model: Any) -> ModelGraph:
    """``graph`` (our reading: no layers, a ``CodeDefined`` record) with the layer graph
    of ``model``, the same model loaded by Keras."""
    from core.reader.config_parser import parse_model_config

    config = functional_config(model)

    def weights(name_path: tuple[str, ...], _group: str, _entry: dict[str, Any], trainable: bool) -> tuple[Weight, ...]:
        return _live_weights(model, name_path, trainable)

    expanded = parse_model_config(config, weights, graph.format, graph.path)
    return replace(expanded, name=graph.name, class_name=graph.class_name, code_defined=graph.code_defined)


def functional_config(model: Any) -> dict[str, Any]:
    """``{"class_name": "Functional", "config": {...layers...}}`` for ``model``, with every
    nested code-defined model expanded the same way."""
    keras = import_keras()
    wrapper = keras.Model(model.input, model.output, name=model.name)
    config = wrapper.get_config()
    by_name = {op.name: op for op in wrapper.operations}
    for entry in config["layers"]:
        inner = by_name.get(entry.get("name"))
        if inner is not None and _is_code_defined(inner, entry):
            entry["class_name"] = "Functional"
            entry["config"] = functional_config(inner)["config"]
            entry.pop("module", None)
            entry.pop("registered_name", None)
    # as Keras writes it to config.json: JSON values only (tuples become lists, as the parser expects)
    return {"class_name": "Functional", "config": json.loads(json.dumps(config, default=_json_default))}


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return value.tolist()
    return str(value)


def _is_code_defined(obj: Any, entry: dict[str, Any]) -> bool:
    """A model whose serialised config is not a layer graph."""
    return (
        hasattr(obj, "_nodes")
        and hasattr(obj, "layers")
        and not isinstance(entry.get("config", {}).get("layers"), list)
    )


def _live_weights(model: Any, name_path: tuple[str, ...], parent_trainable: bool) -> tuple[Weight, ...]:
    from core.keras_backend.build import original_layer

    layer = original_layer(model, name_path)
    variables = list(getattr(layer, "weights", ()) or ())
    trainable = {id(v) for v in getattr(layer, "trainable_weights", ()) or ()}
    return tuple(
        Weight(
            str(getattr(v, "path", None) or v.name),
            tuple(int(d) for d in v.shape),
            str(getattr(v, "dtype", "float32")),
            parent_trainable and id(v) in trainable,
        )
        for v in variables
    )
