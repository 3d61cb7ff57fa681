"""What the ONNX and TFLite writers share: the input signature they convert (with the
batch dimension fixed or left dynamic) and naming the Keras layer behind a converter's
op, so a refusal says which layer has no equivalent in the target format."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

from resect.core.errors import ResectError

__all__ = [
    "UnsupportedLayerError",
    "input_signature",
    "layer_of_op",
    "native_stderr_silenced",
    "run_in_batches",
    "signature_names",
]


class UnsupportedLayerError(ResectError):
    """The target format has no equivalent for an op of a layer; names the layer."""


def input_signature(model: Any, batch_size: int | None, rename: dict[str, str] | None = None) -> list[Any]:
    """Keras' own signature for ``model`` (``export_utils.get_input_signature``), with the
    batch dimension set to ``batch_size`` (``None``: dynamic) and each input named
    ``rename[name]`` where given (the converter keys its signature by these names)."""
    from keras import InputSpec
    from keras.src import tree
    from keras.src.export.export_utils import get_input_signature

    def with_batch(spec: Any) -> Any:
        shape = tuple(spec.shape)
        name = (rename or {}).get(spec.name, spec.name)
        return InputSpec(dtype=spec.dtype, shape=(batch_size, *shape[1:]), name=name)

    return tree.map_structure(with_batch, get_input_signature(model))


_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def signature_names(input_names: list[str]) -> dict[str, str]:
    """Each model input's name -> the key it has in a SavedModel-style signature (TFLite's
    signature runner). TensorFlow refuses a signature argument named ``in put`` or
    ``x-y``, so a name outside ``[A-Za-z0-9_]`` becomes one inside it (unique, starting
    with a letter); names already valid stay as they are. The writer names the signature
    and the runner feeds it through this one function, so inputs meet by name, never by
    position (the interpreter's own tensors are renamed ``serving_default_NAME:0``)."""
    taken = {name for name in input_names if _is_safe(name)}
    mapping: dict[str, str] = {}
    for name in input_names:
        if _is_safe(name):
            mapping[name] = name
            continue
        base = _UNSAFE.sub("_", name)
        base = base if base[:1].isalpha() else f"input_{base}"
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        taken.add(candidate)
        mapping[name] = candidate
    return mapping


def _is_safe(name: str) -> bool:
    return bool(name) and name[:1].isalpha() and not _UNSAFE.search(name)


_SUFFIX = re.compile(r"_\d+$")


def layer_of_op(model: Any, op_path: str) -> str | None:
    """The model's layer whose name scope holds the op at ``op_path`` (e.g.
    ``functional_1/hash_ids_1/hash`` -> ``hash_ids``): TensorFlow adds ``_N`` to a scope
    it sees twice, so a part matches a layer as is or without that suffix."""
    names = {layer.name for layer in model.layers}
    for part in op_path.split("/"):
        for candidate in (part, _SUFFIX.sub("", part)):
            if candidate in names:
                return candidate
    return None


def run_in_batches(run: Any, feeds: list[Any], batch_size: int | None) -> list[Any]:
    """Run ``run(feeds)`` on slices of ``batch_size`` (a file exported with a fixed batch
    accepts nothing else; the last slice is padded, its padding dropped) and join them."""
    import numpy as np

    total = len(feeds[0])
    if batch_size is None or batch_size == total:
        return list(run(feeds))
    parts: list[list[Any]] = []
    for start in range(0, total, batch_size):
        chunk = [np.asarray(f[start : start + batch_size]) for f in feeds]
        short = batch_size - len(chunk[0])
        if short:
            chunk = [np.concatenate([c, np.repeat(c[-1:], short, axis=0)]) for c in chunk]
        parts.append([np.asarray(out)[: batch_size - short] for out in run(chunk)])
    return [np.concatenate(outs) for outs in zip(*parts, strict=True)]


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Drop what native code writes on file descriptor 2 meanwhile: the TFLite converter
    writes its MLIR diagnostics (dozens of lines per refused op) and the LiteRT
    interpreter an XNNPACK notice there, below Python's logging. What matters reaches
    the user as the one-line refusal or error raised from the converter's message."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
