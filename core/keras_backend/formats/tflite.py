"""TFLite (LiteRT) through Keras' own ``model.export(format="litert")`` (Keras' SavedModel
archive fed to ``tf.lite.TFLiteConverter``), served by the LiteRT interpreter
(``ai-edge-litert``; TensorFlow's own ``tf.lite.Interpreter`` is deprecated).

Keras lets the converter fall back to TensorFlow kernels ("Select TF ops", the Flex
delegate), which a phone's LiteRT runtime does not have: a file that converts but does
not run where it is deployed. Resect converts to TFLite built-in ops only and refuses a
model that needs more, naming the layer of the first op without a built-in equivalent.
"""

from __future__ import annotations

import re
from typing import Any

from resect.core.keras_backend.formats import ExportOptions
from resect.core.keras_backend.formats.converted import (
    UnsupportedLayerError,
    input_signature,
    layer_of_op,
    native_stderr_silenced,
    run_in_batches,
    signature_names,
)
from resect.core.keras_backend.runtime import run_deep

_MISSING_OP = re.compile(r"""fused\["(?P<op>[\w.]+):", "(?P<path>[^"@]+)@[^\n]*?'tf\.(?P=op)' op is neither""")
_SELECT_OPS = re.compile(r"TF Select ops: ([\w, .]+)")


def converter_settings(options: ExportOptions) -> dict[str, Any]:
    """The converter attributes ``model.export(format="litert", **settings)`` sets."""
    import tensorflow as tf

    target_spec: dict[str, Any] = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}
    settings: dict[str, Any] = {"target_spec": target_spec}
    if options.float16:
        settings["optimizations"] = [tf.lite.Optimize.DEFAULT]
        target_spec["supported_types"] = [tf.float16]
    return settings


def write_tflite(model: Any, path: str, options: ExportOptions) -> None:
    names = signature_names([str(tensor.name) for tensor in model.inputs])
    signature = input_signature(model, options.batch_size, names)
    try:
        with native_stderr_silenced():
            run_deep(
                model.export,
                path,
                format="litert",
                verbose=False,
                input_signature=signature,
                **converter_settings(options),
            )
    except Exception as error:
        if type(error).__name__ != "ConverterError":
            raise
        raise _refusal(model, str(error)) from None


def _refusal(model: Any, text: str) -> Exception:
    """One line from the converter's many: the layer and the op TFLite has no built-in for."""
    match = _MISSING_OP.search(text)
    if match:
        layer = layer_of_op(model, match["path"])
        where = f"layer '{layer}'" if layer else f"op '{match['path']}'"
        return UnsupportedLayerError(
            f"{where} uses the TensorFlow op {match['op']}, which has no TFLite built-in equivalent "
            "(it would need the Flex delegate, absent from LiteRT on devices)"
        )
    select = _SELECT_OPS.search(text)
    if select:
        return UnsupportedLayerError(f"TFLite has no built-in op for {select[1].strip()}")
    first = next((line.strip() for line in text.splitlines() if "error" in line.lower()), text.strip())
    return UnsupportedLayerError(f"the TFLite converter failed: {' '.join(first.split())[:240]}")


def _interpreter(path: str) -> Any:
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_path=path)


def run_tflite(path: str, feeds: list[Any], input_names: list[str]) -> list[Any]:
    """The outputs of the file as the LiteRT interpreter computes them. Each feed goes to
    the signature input keyed by its model input's name (``signature_names``: the key the
    writer gave it), never by position: the interpreter lists its own tensors
    (``serving_default_NAME:0``) in an order of its choosing. Outputs come back as
    ``output_0``, ``output_1``, ... in the model's order."""
    keys = signature_names(input_names)
    with native_stderr_silenced():  # its XNNPACK notice, on the first run
        runner = _interpreter(path).get_signature_runner()
        details = runner.get_input_details()
        missing = [name for name in input_names if keys[name] not in details]
        if missing or len(details) != len(input_names):
            raise ValueError(
                f"the TFLite signature has inputs {sorted(details)}, the model "
                f"{sorted(keys[name] for name in input_names)}"
            )
        batch = int(details[keys[input_names[0]]]["shape_signature"][0]) if input_names else -1

        def run(chunk: list[Any]) -> list[Any]:
            outputs = runner(**{keys[name]: value for name, value in zip(input_names, chunk, strict=True)})
            return [outputs[key] for key in sorted(outputs, key=_output_position)]

        return run_in_batches(run, feeds, None if batch < 0 else batch)


def _output_position(key: str) -> tuple[int, str]:
    number = key.rsplit("_", 1)[-1]
    return (int(number), key) if number.isdigit() else (1 << 30, key)
