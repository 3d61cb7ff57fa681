"""Pure-Python output shapes and weight shapes for common Keras layers.

Used to show shapes and parameter counts of new layers (a new head, an inserted layer)
and shapes after an input change without importing TensorFlow. The rules answer only
for configurations ``core.surgery.shape_domain`` lists, which a generated conformance
test proves against Keras (tests/test_shape_conformance.py); for anything else every
function returns ``None`` at once ("unknown") and the Keras worker's exact answer
replaces it. Follows Keras 3 defaults (``channels_last``, ``padding="valid"``,
``use_bias=True``).

>>> output_shapes("Dense", {"units": 2}, [(None, 2048)])
[(None, 2)]
>>> [w[1] for w in weight_shapes("Dense", {"units": 2}, [(None, 2048)])]
[(2048, 2), (2,)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from resect.core.surgery.shape_domain import proved, proved_inputs

Shape = tuple[int | None, ...]
# (name, shape, trainable)
WeightShape = tuple[str, tuple[int, ...], bool]

SHAPE_PRESERVING = {
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "Activation",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "Softmax",
    "PReLU",
    "BatchNormalization",
    "LayerNormalization",
    "GroupNormalization",
    "UnitNormalization",
    "Identity",
    "ActivityRegularization",
    "Rescaling",
    "Normalization",
}
MERGE = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"}
_GLOBAL_POOL = {
    "GlobalAveragePooling1D": 1,
    "GlobalMaxPooling1D": 1,
    "GlobalAveragePooling2D": 2,
    "GlobalMaxPooling2D": 2,
    "GlobalAveragePooling3D": 3,
    "GlobalMaxPooling3D": 3,
}
_POOL = {
    "MaxPooling1D": 1,
    "AveragePooling1D": 1,
    "MaxPooling2D": 2,
    "AveragePooling2D": 2,
    "MaxPooling3D": 3,
    "AveragePooling3D": 3,
}
_CONV = {"Conv1D": 1, "Conv2D": 2, "Conv3D": 3, "DepthwiseConv1D": 1, "DepthwiseConv2D": 2}
_SEPARABLE = {"SeparableConv1D": 1, "SeparableConv2D": 2}


def _tuple(value: Any, rank: int, default: int) -> tuple[int, ...]:
    if value is None:
        return (default,) * rank
    if isinstance(value, int):
        return (value,) * rank
    values = tuple(int(v) for v in value)
    return values if len(values) == rank else (values[0],) * rank


def _spatial(size: int | None, kernel: int, stride: int, padding: str, dilation: int = 1) -> int | None:
    if size is None:
        return None
    if padding in ("same", "causal"):  # causal pads (kernel - 1) * dilation on the left
        return math.ceil(size / stride)
    effective = (kernel - 1) * dilation + 1
    out = (size - effective) // stride + 1
    return out if out > 0 else None


def _channels_last(config: Mapping[str, Any]) -> bool:
    return config.get("data_format") in (None, "channels_last")


def output_shapes(class_name: str, config: Mapping[str, Any], inputs: Sequence[Shape | None]) -> list[Shape] | None:
    """Output shapes of one call, or ``None`` if unknown."""
    if not inputs or any(s is None for s in inputs) or not proved(class_name, config):
        return None
    if not proved_inputs(class_name, inputs):
        return None
    try:
        shape = _output_shape(class_name, config, [tuple(s) for s in inputs if s is not None])
    except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError):
        return None
    return None if shape is None else [shape]


def _output_shape(class_name: str, config: Mapping[str, Any], inputs: list[Shape]) -> Shape | None:
    first = inputs[0]
    if class_name in SHAPE_PRESERVING:
        return first
    if class_name == "Dense":
        return first[:-1] + (int(config["units"]),)
    if class_name == "Embedding":
        return first + (int(config["output_dim"]),)
    if class_name == "Flatten":
        rest = first[1:]
        return (first[0], None if any(d is None for d in rest) else math.prod(rest))  # type: ignore[arg-type]
    if class_name == "Reshape":
        target = [int(d) for d in config["target_shape"]]
        if -1 in target:
            known = math.prod(d for d in target if d != -1)
            rest = first[1:]
            if any(d is None for d in rest):
                return None
            target[target.index(-1)] = math.prod(rest) // known  # type: ignore[arg-type]
        return (first[0], *target)
    if class_name in MERGE:
        return _broadcast(inputs)
    if class_name == "Concatenate":
        axis = int(config.get("axis", -1))
        axis = axis if axis >= 0 else len(first) + axis
        dims = [s[axis] for s in inputs]
        total = None if any(d is None for d in dims) else sum(dims)  # type: ignore[arg-type]
        return first[:axis] + (total,) + first[axis + 1 :]
    if class_name in _GLOBAL_POOL:
        if not _channels_last(config):
            return None
        if config.get("keepdims"):
            return (first[0],) + (1,) * _GLOBAL_POOL[class_name] + (first[-1],)
        return (first[0], first[-1])
    if class_name in _POOL:
        rank = _POOL[class_name]
        if not _channels_last(config):
            return None
        pool = _tuple(config.get("pool_size"), rank, 2)
        strides = _tuple(config.get("strides") or pool, rank, 2)
        padding = config.get("padding", "valid")
        dims = tuple(_spatial(first[1 + i], pool[i], strides[i], padding) for i in range(rank))
        return (first[0], *dims, first[-1])
    if class_name in _CONV or class_name in _SEPARABLE:
        rank = _CONV.get(class_name) or _SEPARABLE[class_name]
        if not _channels_last(config):
            return None
        kernel = _tuple(config.get("kernel_size"), rank, 1)
        strides = _tuple(config.get("strides"), rank, 1)
        dilation = _tuple(config.get("dilation_rate"), rank, 1)
        padding = config.get("padding", "valid")
        dims = tuple(_spatial(first[1 + i], kernel[i], strides[i], padding, dilation[i]) for i in range(rank))
        if class_name.startswith("Depthwise"):
            channels = None if first[-1] is None else first[-1] * int(config.get("depth_multiplier", 1))
        else:
            channels = int(config["filters"])
        return (first[0], *dims, channels)
    if class_name in _RNN:
        if config.get("return_state"):
            return None
        units = int(config["units"])
        return (first[0], first[1], units) if config.get("return_sequences") else (first[0], units)
    if class_name in _TRANSPOSE:
        rank = _TRANSPOSE[class_name]
        if not _channels_last(config) or config.get("output_padding") is not None:
            return None
        kernel = _tuple(config.get("kernel_size"), rank, 1)
        strides = _tuple(config.get("strides"), rank, 1)
        if _tuple(config.get("dilation_rate"), rank, 1) != (1,) * rank:
            return None
        same = config.get("padding", "valid") == "same"
        dims = tuple(
            None
            if first[1 + i] is None
            else first[1 + i] * strides[i] + (0 if same else max(kernel[i] - strides[i], 0))
            for i in range(rank)
        )
        return (first[0], *dims, int(config["filters"]))
    if class_name in ("UpSampling1D", "UpSampling2D"):
        rank = 1 if class_name.endswith("1D") else 2
        if not _channels_last(config):
            return None
        size = _tuple(config.get("size"), rank, 2)
        dims = tuple(None if first[1 + i] is None else first[1 + i] * size[i] for i in range(rank))
        return (first[0], *dims, first[-1])
    if class_name == "RepeatVector":
        return (first[0], int(config["n"]), first[-1])
    if class_name == "Permute":
        return (first[0], *(first[int(d)] for d in config["dims"]))
    if class_name in ("ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D"):
        rank = 1 if class_name.endswith("1D") else 2
        if not _channels_last(config):
            return None
        key = "padding" if class_name.startswith("Zero") else "cropping"
        raw = config.get(key, 0 if class_name == "Cropping2D" else 1)  # Keras' defaults
        pads = _pairs(raw, rank)
        sign = 1 if key == "padding" else -1
        dims = tuple(
            None if first[1 + i] is None else first[1 + i] + sign * (pads[i][0] + pads[i][1])  # type: ignore[operator]
            for i in range(rank)
        )
        return (first[0], *dims, first[-1])
    return None


def _broadcast(inputs: list[Shape]) -> Shape | None:
    """Keras' merge rule: batch axes aside, shapes broadcast from the right (1 stretches,
    an unknown dimension stays unknown)."""
    out: list[int | None] = list(inputs[0][1:])
    for shape in inputs[1:]:
        rest = list(shape[1:])
        if len(out) < len(rest):
            out, rest = rest, out
        if not rest:
            continue
        head, tail = out[: len(out) - len(rest)], out[len(out) - len(rest) :]
        merged: list[int | None] = []
        for i, j in zip(tail, rest, strict=True):
            if i is None or j is None:
                merged.append(None)
            elif i == 1 or j == 1:
                merged.append(j if i == 1 else i)
            elif i != j:
                return None
            else:
                merged.append(i)
        out = head + merged
    batches = {s[0] for s in inputs} - {None}
    return (batches.pop() if len(batches) == 1 else None, *out)


_RNN = {"LSTM", "GRU", "SimpleRNN"}
_TRANSPOSE = {"Conv1DTranspose": 1, "Conv2DTranspose": 2}
_RNN_GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}


def _pairs(raw: Any, rank: int) -> list[tuple[int, int]]:
    if isinstance(raw, int):
        return [(raw, raw)] * rank
    items = list(raw)
    if rank == 1 and len(items) == 2 and all(isinstance(v, int) for v in items):
        return [(items[0], items[1])]
    return [(v, v) if isinstance(v, int) else (int(v[0]), int(v[1])) for v in items]


def weight_shapes(
    class_name: str, config: Mapping[str, Any], inputs: Sequence[Shape | None]
) -> list[WeightShape] | None:
    """The variables a layer creates when built on ``inputs`` (Keras' order), or ``None``."""
    if not proved(class_name, config) or (inputs and not proved_inputs(class_name, inputs)):
        return None
    if class_name in ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "Flatten", "Reshape"):
        return []
    if class_name in ("Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Identity", "Concatenate", "Rescaling"):
        return []
    if class_name in (
        "GaussianNoise",
        "GaussianDropout",
        "AlphaDropout",
        "ActivityRegularization",
        "UnitNormalization",
    ):
        return []
    if class_name in MERGE or class_name in _POOL or class_name in _GLOBAL_POOL:
        return []
    if class_name.startswith(("ZeroPadding", "Cropping", "UpSampling")) or class_name in ("RepeatVector", "Permute"):
        return []
    if class_name == "Embedding":
        size = (int(config["input_dim"]), int(config["output_dim"]))
        rank = config.get("lora_rank")
        if not rank:
            return [("embeddings", size, True)]
        return [
            ("embeddings", size, False),
            ("lora_embeddings_a", (size[0], int(rank)), True),
            ("lora_embeddings_b", (int(rank), size[1]), True),
        ]
    if not inputs or inputs[0] is None:
        return None
    first = inputs[0]
    channels = first[-1]
    if class_name == "Dense":
        if channels is None:
            return None
        units = int(config["units"])
        return _lora(config, [("kernel", (channels, units), True)] + _bias(config, units))
    if class_name in ("BatchNormalization", "LayerNormalization"):
        axis = config.get("axis", -1)
        if isinstance(axis, list):
            if len(axis) != 1:
                return None
            axis = axis[0]
        size = first[axis]
        if size is None:
            return None
        found = []
        if config.get("scale", True):
            found.append(("gamma", (size,), True))
        if config.get("center", True):
            found.append(("beta", (size,), True))
        if class_name == "BatchNormalization":
            found += [("moving_mean", (size,), False), ("moving_variance", (size,), False)]
        return found
    if class_name in _CONV or class_name in _SEPARABLE:
        if channels is None or not _channels_last(config):
            return None
        rank = _CONV.get(class_name) or _SEPARABLE[class_name]
        kernel = _tuple(config.get("kernel_size"), rank, 1)
        if class_name.startswith("Depthwise"):
            multiplier = int(config.get("depth_multiplier", 1))
            return [("depthwise_kernel", (*kernel, channels, multiplier), True)] + _bias(config, channels * multiplier)
        filters = int(config["filters"])
        if class_name in _SEPARABLE:
            multiplier = int(config.get("depth_multiplier", 1))
            return [
                ("depthwise_kernel", (*kernel, channels, multiplier), True),
                ("pointwise_kernel", (*(1,) * rank, channels * multiplier, filters), True),
            ] + _bias(config, filters)
        groups = int(config.get("groups", 1))
        return _lora(config, [("kernel", (*kernel, channels // groups, filters), True)] + _bias(config, filters))
    if class_name in _RNN:
        units = int(config["units"])
        size = units * _RNN_GATES[class_name]
        found = [("kernel", (channels, size), True), ("recurrent_kernel", (units, size), True)]
        if config.get("use_bias", True):
            two_biases = class_name == "GRU" and config.get("reset_after", True)
            found.append(("bias", (2, size) if two_biases else (size,), True))
        return found
    if class_name in _TRANSPOSE:
        if not _channels_last(config):
            return None
        kernel = _tuple(config.get("kernel_size"), _TRANSPOSE[class_name], 1)
        filters = int(config["filters"])
        return [("kernel", (*kernel, filters, channels), True)] + _bias(config, filters)
    if class_name == "PReLU":
        shared = config.get("shared_axes")
        shared = set() if shared is None else {shared} if isinstance(shared, int) else set(shared)
        alpha = tuple(1 if axis in shared else d for axis, d in enumerate(first) if axis > 0)
        return None if None in alpha else [("alpha", alpha, True)]  # type: ignore[list-item]
    return None


def _lora(config: Mapping[str, Any], weights: list[WeightShape]) -> list[WeightShape]:
    """With ``lora_rank`` the kernel is frozen and two trainable low-rank factors follow
    (Keras' ``enable_lora``): ``a`` has the kernel's shape but its last axis is the rank."""
    rank = config.get("lora_rank")
    if not rank:
        return weights
    name, kernel, _trainable = weights[0]
    rank = int(rank)
    lora = [("lora_kernel_a", (*kernel[:-1], rank), True), ("lora_kernel_b", (rank, kernel[-1]), True)]
    return [(name, kernel, False), *weights[1:], *lora]


def _bias(config: Mapping[str, Any], size: int) -> list[WeightShape]:
    return [("bias", (size,), True)] if config.get("use_bias", True) else []
