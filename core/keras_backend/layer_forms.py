"""Keras' own answer about a layer class, for the Insert / Replace layer form (runs in the
Keras worker process: the window's process never imports TensorFlow).

``layer_signature("Dropout")`` -> the constructor's parameters with Keras' defaults, so the
form is generated from the class itself rather than a hand-kept table; ``validate_layer``
builds the layer from a config exactly as an export will, and returns Keras' whole message
when it refuses (``{"rate": 0.3, "bogus": 1}`` names ``bogus``)."""

from __future__ import annotations

import inspect
import json
from typing import Any

from resect.core.errors import ResectError

__all__ = ["layer_signature", "validate_layer"]


def _layer_class(class_name: str) -> type:
    import keras

    cls = getattr(keras.layers, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, keras.layers.Layer)):
        raise ResectError(f"{class_name!r} is not a Keras layer class (keras.layers.{class_name})")
    return cls


def _jsonable(value: Any) -> Any:
    """A default as JSON (tuples become lists); anything else (an initializer object) as its repr."""
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


def layer_signature(class_name: str) -> dict[str, Any]:
    """``{"class_name", "doc", "params": [{"name", "required", "default"}]}`` from the
    constructor's own signature (``**kwargs`` such as ``name`` / ``dtype`` left out)."""
    cls = _layer_class(class_name)
    params = []
    for param in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        required = param.default is param.empty
        params.append(
            {"name": param.name, "required": required, "default": None if required else _jsonable(param.default)}
        )
    doc = (inspect.getdoc(cls) or "").split("\n\n", 1)[0].strip()
    return {"class_name": cls.__name__, "doc": doc, "params": params}


def validate_layer(class_name: str, config: dict[str, Any]) -> dict[str, Any]:
    """Build the layer from ``config`` as the export will; ``{"ok": False, "message"}`` with
    Keras' whole message when it refuses."""
    try:
        cls = _layer_class(class_name)
        cls.from_config(dict(config))
    except Exception as error:  # noqa: BLE001 - Keras' refusal, shown to the user in full
        return {"ok": False, "message": f"{type(error).__name__}: {error}"}
    return {"ok": True, "message": ""}
