"""Keras' own files: ``.keras`` / ``.h5`` through ``model.save``, a SavedModel folder
through ``model.export``; a SavedModel is served by TensorFlow (Keras' ``TFSMLayer``)."""

from __future__ import annotations

from typing import Any

from resect.core.keras_backend.formats import ExportOptions
from resect.core.keras_backend.runtime import import_keras, run_deep


def write_keras(model: Any, path: str, options: ExportOptions) -> None:
    """``.keras`` or ``.h5`` by the name's suffix. Not in a helper thread: an interrupt
    must not leave it writing."""
    model.save(path)


def write_saved_model(model: Any, path: str, options: ExportOptions) -> None:
    run_deep(model.export, path, format="tf_saved_model", verbose=False)


def run_saved_model(path: str, feeds: list[Any], input_names: list[str]) -> list[Any]:
    keras = import_keras()
    layer = keras.layers.TFSMLayer(path, call_endpoint="serve")
    outputs = layer(feeds[0] if len(feeds) == 1 else feeds)
    if isinstance(outputs, dict):
        return list(outputs.values())
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
