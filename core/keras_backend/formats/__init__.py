"""Every output format Resect writes, in one table: how to recognise it, how to write it,
which runtime serves it and how close that runtime must come to Keras.

``apply``, ``convert``, the GUI export dialog and ``--verify`` all read this table, so a
new format is one ``Format`` row and one module, never a switch spread over files. The
writers and runners named here are imported only when used (``"module:function"``), so
reading the table imports neither TensorFlow nor a converter.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FORMATS", "ExportOptions", "Format", "format_for_path", "get_format"]

KERAS_TOLERANCES = {"float32": 1e-5, "float64": 1e-10, "float16": 1e-2, "bfloat16": 5e-2}


@dataclass(frozen=True)
class ExportOptions:
    """What a deployment format lets the user choose. ``batch_size=None`` keeps the batch
    dimension dynamic; ``opset`` is the ONNX opset (``None``: the converter's default);
    ``float16`` stores TFLite weights as float16 (half the size, a looser tolerance)."""

    batch_size: int | None = None
    opset: int | None = None
    float16: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size, "opset": self.opset, "float16": self.float16}

    @classmethod
    def from_json(cls, obj: dict[str, Any] | None) -> ExportOptions:
        obj = obj or {}
        return cls(obj.get("batch_size"), obj.get("opset"), bool(obj.get("float16", False)))


@dataclass(frozen=True)
class Format:
    """One output format. ``writer`` is ``"module:function"`` called as
    ``function(model, path, options)``; ``runner`` (``None``: reload the file with Keras)
    is called as ``function(path, feeds, input_names)`` and returns the outputs in the
    model's order, computed by the runtime that will serve the file."""

    name: str
    label: str  # for the GUI's format list
    suffixes: tuple[str, ...]  # recognised name endings (lower case); () for a folder format
    writer: str
    runtime: str  # what --verify runs the written file in
    runner: str | None = None
    folder: bool = False
    converted: bool = False  # a converter rewrote the graph: new outputs are checked against Keras too
    options: tuple[str, ...] = ()  # the ExportOptions fields that apply
    tolerances: dict[str, float] = field(default_factory=lambda: KERAS_TOLERANCES)  # shared: one table
    float16_tolerance: float | None = None  # relative to the output's largest magnitude

    @property
    def suffix(self) -> str:
        """The name ending of a temporary or suggested output ("" for a folder)."""
        return self.suffixes[0] if self.suffixes else ""

    def write(self, model: Any, path: str, options: ExportOptions) -> None:
        _resolve(self.writer)(model, path, options)

    def run(self, path: str, feeds: list[Any], input_names: list[str]) -> list[Any]:
        assert self.runner is not None
        return list(_resolve(self.runner)(path, feeds, input_names))

    def tolerance(self, dtype: str, options: ExportOptions, scale: float = 1.0) -> float:
        """Largest absolute difference allowed for a tensor of ``dtype`` whose original
        values reach ``scale`` in magnitude."""
        if options.float16 and "float16" in self.options and self.float16_tolerance is not None:
            return self.float16_tolerance * max(scale, 1.0)
        return self.tolerances.get(dtype, 0.0)

    def describe_tolerance(self, options: ExportOptions) -> str:
        """The float32 tolerance in words, as the CLI and the dialog state it."""
        if options.float16 and "float16" in self.options and self.float16_tolerance is not None:
            return f"{self.float16_tolerance:g} x max(1, largest |value|) (float16 weights)"
        return f"{self.tolerances['float32']:g}"


# Converted graphs are fused and reordered by their converter and runtime: float32 sums
# land in a different order, so they are held to 1e-4 rather than Keras' own 1e-5.
_CONVERTED = {"float32": 1e-4, "float64": 1e-8, "float16": 1e-2, "bfloat16": 5e-2}

FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("keras", ".keras", (".keras",), "resect.core.keras_backend.formats.keras_files:write_keras", "Keras"),
        Format(
            "h5", ".h5 (legacy)", (".h5", ".hdf5"), "resect.core.keras_backend.formats.keras_files:write_keras", "Keras"
        ),
        Format(
            "savedmodel",
            "SavedModel (folder)",
            (),
            "resect.core.keras_backend.formats.keras_files:write_saved_model",
            "TensorFlow (TFSMLayer)",
            runner="resect.core.keras_backend.formats.keras_files:run_saved_model",
            folder=True,
        ),
        Format(
            "onnx",
            "ONNX (.onnx)",
            (".onnx",),
            "resect.core.keras_backend.formats.onnx:write_onnx",
            "onnxruntime",
            runner="resect.core.keras_backend.formats.onnx:run_onnx",
            converted=True,
            options=("batch_size", "opset"),
            tolerances=dict(_CONVERTED),
        ),
        Format(
            "tflite",
            "TFLite / LiteRT (.tflite)",
            (".tflite",),
            "resect.core.keras_backend.formats.tflite:write_tflite",
            "LiteRT interpreter",
            runner="resect.core.keras_backend.formats.tflite:run_tflite",
            converted=True,
            options=("batch_size", "float16"),
            tolerances=dict(_CONVERTED),
            float16_tolerance=1e-2,
        ),
    )
}


def get_format(name: str) -> Format:
    return FORMATS[name]


def format_for_path(path: str) -> str | None:
    """The format a name asks for: a trailing ``/`` or an existing folder for a folder
    format, else the format whose suffix the name ends with; ``None`` if none does."""
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        return next(f.name for f in FORMATS.values() if f.folder)
    lower = path.lower()
    for spec in FORMATS.values():
        if spec.suffixes and lower.endswith(spec.suffixes):
            return spec.name
    return None


def _resolve(target: str) -> Callable[..., Any]:
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)
