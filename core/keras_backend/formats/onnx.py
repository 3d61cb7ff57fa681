"""ONNX through Keras' own ``model.export(format="onnx")`` (tf2onnx on the TensorFlow
backend), served by onnxruntime.

tf2onnx does not fail on a TensorFlow op it cannot translate: it logs it and writes the
op into the file, which then fails only when a runtime opens it. So every node of the
written graph is checked against the ONNX operator schemas, and a node without one is
refused, naming the Keras layer whose name scope it came from.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from resect.core.keras_backend.formats import ExportOptions
from resect.core.keras_backend.formats.converted import (
    UnsupportedLayerError,
    input_signature,
    layer_of_op,
    native_stderr_silenced,
    run_in_batches,
)
from resect.core.keras_backend.runtime import run_deep

MIN_OPSET, MAX_OPSET = 9, 18  # what tf2onnx 1.17 has handlers for
_STANDARD_DOMAINS = ("", "ai.onnx")


def check_opset(opset: int | None) -> None:
    if opset is not None and not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"ONNX opset {opset} is not supported (tf2onnx writes opsets {MIN_OPSET} to {MAX_OPSET})")


def write_onnx(model: Any, path: str, options: ExportOptions) -> None:
    check_opset(options.opset)
    signature = input_signature(model, options.batch_size)
    with _quiet_tf2onnx(), native_stderr_silenced():
        run_deep(
            model.export, path, format="onnx", verbose=False, input_signature=signature, opset_version=options.opset
        )
    _refuse_unknown_ops(model, path)


def _refuse_unknown_ops(model: Any, path: str) -> None:
    import onnx

    graph = onnx.load(path, load_external_data=False).graph
    for node in graph.node:
        if node.domain in _STANDARD_DOMAINS and not onnx.defs.has(node.op_type):
            layer = layer_of_op(model, node.name)
            where = f"layer '{layer}'" if layer else f"op '{node.name}'"
            raise UnsupportedLayerError(
                f"{where} uses the TensorFlow op {node.op_type}, which has no ONNX equivalent; "
                "ONNX cannot hold this model"
            )


def run_onnx(path: str, feeds: list[Any], input_names: list[str]) -> list[Any]:
    """The outputs of the file as onnxruntime computes them. tf2onnx keeps the Keras input
    names, so each feed goes to the graph input of its name, never by position."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    inputs = {spec.name: spec for spec in session.get_inputs()}
    if sorted(inputs) != sorted(input_names):
        raise ValueError(f"the ONNX graph has inputs {sorted(inputs)}, the model {sorted(input_names)}")
    first = inputs[input_names[0]].shape[0] if input_names else None
    batch = first if isinstance(first, int) else None

    def run(chunk: list[Any]) -> list[Any]:
        return session.run(None, dict(zip(input_names, chunk, strict=True)))

    return run_in_batches(run, feeds, batch)


@contextlib.contextmanager
def _quiet_tf2onnx() -> Iterator[None]:
    """tf2onnx logs every step at INFO and unsupported ops at ERROR; the refusal above
    says what matters in one line."""
    logger = logging.getLogger("tf2onnx")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
