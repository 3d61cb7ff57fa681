"""Verify a converted model against the original run by tf.keras 2 (``tf_keras``).

The original ``.h5`` or SavedModel runs in a subprocess (``legacy_runner.py``) so that
Keras 2 and Keras 3 never share a process; the converted file, reloaded from disk, runs
here on the same random input; every output is compared (tolerance 1e-5 for float32).
An ONNX or TFLite file runs in its serving runtime instead (onnxruntime, the LiteRT
interpreter, fed by input name), held to its format's tolerance. Without ``tf_keras`` installed the result says the conversion was not verified.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from resect.core.graph import ModelGraph
from resect.core.keras_backend.formats import FORMATS, ExportOptions
from resect.core.keras_backend.runtime import import_keras, run_deep
from resect.core.keras_backend.verify import TOLERANCES, Check, VerifyError, _random, max_abs_diff

__all__ = ["LegacyReport", "legacy_runtime", "verify_against_legacy"]

RUNNER = Path(__file__).with_name("legacy_runner.py")
TIMEOUT = 600


@dataclass
class LegacyReport:
    runtime: str  # "tf_keras 2.21.0", or "" when not verified
    checks: list[Check] = field(default_factory=list)
    reason: str = ""  # why it was not verified

    @property
    def verified(self) -> bool:
        return bool(self.runtime)

    @property
    def max_abs_diff(self) -> float:
        return max((c.max_abs_diff for c in self.checks), default=0.0)


def legacy_runtime() -> str | None:
    """``"tf_keras X.Y.Z"`` when tf.keras 2 is installed (found without importing it)."""
    spec = importlib.util.find_spec("tf_keras")
    if spec is None:
        return None
    try:
        from importlib.metadata import version

        return f"tf_keras {version('tf_keras')}"
    except Exception:
        return "tf_keras"


def verify_against_legacy(
    original_path: str,
    graph: ModelGraph,
    export_path: str,
    fmt: str,
    seed: int = 0,
    safe_mode: bool = True,
    options: ExportOptions | None = None,
) -> LegacyReport:
    """Run the original with tf.keras 2 and the export in the runtime that serves it on one
    random input; raise ``VerifyError`` naming the first output that differs beyond
    tolerance. ``safe_mode=False`` (the user's ``--unsafe``) lets the export's Lambda code
    run; ``options`` are the export's (float16 TFLite weights loosen the tolerance)."""
    runtime = legacy_runtime()
    if runtime is None:
        return LegacyReport("", reason="tf_keras (tf.keras 2) is not installed")
    spec, options = FORMATS[fmt], options or ExportOptions()
    rng = np.random.default_rng(seed)
    if spec.converted:  # served by its own runtime, fed by the model's input names
        feed = [_random(rng, graph.shape(ref) or (None,), _dtype(graph, ref), graph, ref) for ref in graph.inputs]
        expected = _run_legacy(original_path, feed)
        got = spec.run(export_path, feed, [ref.layer for ref in graph.inputs])
    else:
        exported = _load_export(import_keras(), export_path, fmt, safe_mode)
        inputs = list(exported.inputs) if hasattr(exported, "inputs") else []
        pairs = zip(inputs, graph.inputs, strict=True)
        feed = [_random(rng, tuple(t.shape), str(t.dtype), graph, ref) for t, ref in pairs]
        expected = _run_legacy(original_path, feed)
        got = _as_list(run_deep(exported, feed[0] if len(feed) == 1 else feed, training=False))
    if len(got) != len(expected):
        raise VerifyError(f"verification failed: the export has {len(got)} outputs, tf.keras 2 gives {len(expected)}")
    report = LegacyReport(runtime)
    for ref, value, reference in zip(graph.outputs, got, expected, strict=True):
        value = np.asarray(value)
        if spec.converted:
            finite = reference[np.isfinite(reference)] if reference.size else reference
            scale = float(np.max(np.abs(finite), initial=0.0)) if finite.size else 0.0
            tolerance = spec.tolerance(str(value.dtype), options, scale)
        else:
            tolerance = TOLERANCES.get(str(value.dtype), 0.0)
        if value.shape != reference.shape:
            raise VerifyError(f"verification failed: {ref} has shape {value.shape}, tf.keras 2 gives {reference.shape}")
        check = Check(str(ref), str(ref), max_abs_diff(value, reference), tolerance, True, "vs tf.keras 2")
        report.checks.append(check)
        if not check.ok:
            raise VerifyError(
                f"verification failed: {ref} differs from tf.keras 2's output by {check.max_abs_diff:.3g} "
                f"(tolerance {tolerance:g})"
            )
    return report


def _dtype(graph: ModelGraph, ref: Any) -> str:
    """An input layer's dtype as its config states it (a Keras 3 policy dict or a name)."""
    dtype = graph.layer(ref.layer).config.get("dtype", "float32")
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name", "float32")
    return str(dtype or "float32")


def _load_export(keras: Any, path: str, fmt: str, safe_mode: bool = True) -> Any:
    if fmt == "savedmodel":
        layer = keras.layers.TFSMLayer(path, call_endpoint="serve")
        return _SavedModelCall(layer, path)
    return run_deep(keras.models.load_model, path, compile=False, safe_mode=safe_mode)


class _SavedModelCall:
    """A reloaded SavedModel export called like a model (its inputs from the signature)."""

    def __init__(self, layer: Any, path: str) -> None:
        self.layer = layer
        signature = layer._endpoint_signatures["serve"] if hasattr(layer, "_endpoint_signatures") else None
        specs = list(signature.structured_input_signature[0]) if signature is not None else []
        self.inputs = [_Spec(tuple(s.shape), s.dtype.name) for s in specs]

    def __call__(self, feed: Any, training: bool = False) -> Any:
        return self.layer(feed)


@dataclass
class _Spec:
    shape: tuple[int | None, ...]
    dtype: str


def _run_legacy(model_path: str, feed: list[np.ndarray]) -> list[np.ndarray]:
    with tempfile.TemporaryDirectory(prefix="resect-legacy-") as tmp:
        inputs, outputs = os.path.join(tmp, "in.npz"), os.path.join(tmp, "out.npz")
        np.savez(inputs, **{f"x{i}": x for i, x in enumerate(feed)})
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_USE_LEGACY_KERAS": "1"}
        done = subprocess.run(
            [sys.executable, str(RUNNER), os.path.abspath(model_path), inputs, outputs],
            capture_output=True,
            text=True,
            env=env,
            timeout=TIMEOUT,
        )
        if done.returncode != 0 or not os.path.exists(outputs):
            lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
            raise VerifyError(f"tf.keras 2 could not run the original: {lines[-1] if lines else 'no output'}")
        with np.load(outputs) as data:
            return [data[f"y{i}"] for i in range(len(data.files))]


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]
