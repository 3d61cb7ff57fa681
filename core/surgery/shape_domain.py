"""Where the pure-Python shape rules (``core.surgery.shapes``) are proved against Keras.

A wrong parameter count in the preview is a defect; an "unknown" that Keras answers a
moment later is not. So the rules answer only inside this table: per class, the
constructor options they handle and, for each, the values proved (a closed option) or
the sample values of a formula proved on them (an open option: any value of that kind),
plus sample input shapes. ``tests/test_shape_conformance.py`` generates its cases from
this table (every option value, every sample input) and compares each with Keras' own
answer, so the table cannot claim more than is proved. A config key that is neither an
option of its class nor in ``NEUTRAL`` (keys that never change shapes or weights) makes
the answer "unknown".

>>> proved("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal"})
True
>>> proved("Dense", {"units": 4, "quantization_config": {"mode": "int8"}})
False
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Shape = tuple[int | None, ...]

# Keys that never change output shapes or weight shapes.
NEUTRAL = frozenset(
    {
        "name", "trainable", "dtype", "activation", "recurrent_activation", "seed", "rate", "noise_shape",
        "epsilon", "momentum", "dropout", "recurrent_dropout", "go_backwards", "unroll", "stateful",
        "zero_output_for_mask", "unit_forget_bias", "interpolation", "mask_zero", "synchronized",
        "renorm_clipping", "renorm_momentum", "negative_slope", "max_value", "threshold", "alpha", "stddev",
        "scale_factor", "offset", "l1", "l2", "batch_input_shape", "batch_shape", "input_shape", "sparse",
        "ragged", "input_length", "alpha_initializer", "activity_regularizer", "implementation",
    }
)  # fmt: skip
NEUTRAL_WHEN_FALSE = frozenset({"time_major"})  # tf.keras 2 keys: off, they change nothing
NEUTRAL_SUFFIXES = ("_initializer", "_regularizer", "_constraint")


@dataclass(frozen=True)
class Option:
    """The values the conformance test builds; ``closed``: only these are proved."""

    samples: tuple[Any, ...]
    closed: bool = True
    any_value: bool = False  # open to any value (the option never changes shapes)


def closed(*values: Any) -> Option:
    return Option(values, True)


def free(*samples: Any) -> Option:
    return Option(samples, False)


def anything(*samples: Any) -> Option:
    return Option(samples, False, True)


@dataclass(frozen=True)
class Domain:
    """One class: its options (the first sample is used when varying another option) and
    sample input shape lists (each a list of shapes, one per input)."""

    options: Mapping[str, Option]
    inputs: tuple[tuple[Shape, ...], ...]
    required: tuple[str, ...] = field(default=())  # options always passed (no Keras default)


_BIAS = closed(True, False)
_LAST = closed("channels_last", None)
_SEQ = ((None, 7, 3), ((None, None, 3)))
_IMAGE = ((None, 9, 8, 3), (None, None, 8, 3))


def _one(*shapes: Shape) -> tuple[tuple[Shape, ...], ...]:
    return tuple((shape,) for shape in shapes)


def _conv(rank: int, kind: str) -> Domain:
    spatial = {1: ((None, 10, 4), (None, None, 2)), 2: (*_IMAGE, (None, 9, 8, 4)), 3: ((None, 6, 7, 5, 2),)}[rank]
    options: dict[str, Option] = {
        "kernel_size": free(3, 1, 2),
        "strides": free(1, 2),
        "padding": closed("valid", "same", "causal") if rank == 1 and kind != "transpose" else closed("valid", "same"),
        "dilation_rate": free(1, 2),
        "data_format": _LAST,
        "use_bias": _BIAS,
    }
    required = ("kernel_size",)
    if kind in ("conv", "separable", "transpose"):
        options["filters"] = free(4, 6)
        required = ("filters", "kernel_size")
    if kind == "conv":
        options["groups"] = free(1, 2)
        options["lora_rank"] = free(None, 2)
    if kind in ("depthwise", "separable"):
        options["depth_multiplier"] = free(1, 2)
    if kind == "transpose":
        options["output_padding"] = closed(None)
        options["dilation_rate"] = closed(1, (1,) * rank, [1] * rank)
    return Domain(options, _one(*spatial), required)


def _pool(rank: int) -> Domain:
    spatial = {1: ((None, 10, 3),), 2: _IMAGE, 3: ((None, 6, 7, 5, 2),)}[rank]
    options = {"pool_size": free(2, 3), "strides": free(None, 1, 2), "padding": closed("valid", "same")}
    return Domain({**options, "data_format": _LAST}, _one(*spatial))


def _preserving(**options: Option) -> Domain:
    return Domain(options, _one((None, 8), (None, 4, 5), (None, 3, 4, 6)))


_MERGE_INPUTS = (
    ((None, 4, 5, 8), (None, 4, 5, 8)),
    ((None, 4, 1, 8), (None, 1, 5, 8)),
    ((None, 4, 5, 8), (None, 8)),
    ((None, 4, 5, 8), (None, 1)),
    ((None, 6), (None, 6), (None, 6)),
    ((None, None, 8), (None, 5, 8)),
)
_RNN_OPTIONS = {"units": free(4, 5), "return_sequences": closed(False, True), "return_state": closed(False)}

DOMAIN: dict[str, Domain] = {
    "Dense": Domain(
        {
            "units": free(4, 1),
            "use_bias": _BIAS,
            "lora_rank": free(None, 2),
            "lora_alpha": free(None, 4),
            "quantization_config": closed(None),
        },
        _one((None, 12), (None, 3, 6), (5, 7), (None, 2, 3, 4)),
        ("units",),
    ),
    "Embedding": Domain(
        {
            "input_dim": free(30),
            "output_dim": free(8),
            "lora_rank": free(None, 2),
            "lora_alpha": free(None, 4),
            "quantization_config": closed(None),
        },
        _one((None, 10), (None, 3, 4)),
        ("input_dim", "output_dim"),
    ),
    "Flatten": Domain({"data_format": _LAST}, _one((None, 4, 4, 6), (None, 5))),
    "Reshape": Domain({"target_shape": free((4, -1), (2, 3, 4))}, _one((None, 24)), ("target_shape",)),
    "Concatenate": Domain(
        {"axis": free(-1, 1)}, (((None, 4, 4, 8), (None, 4, 4, 3)), ((None, 6), (None, 2), (None, 1)))
    ),
    "RepeatVector": Domain({"n": free(3)}, _one((None, 5)), ("n",)),
    "Permute": Domain({"dims": free((2, 1))}, _one((None, 5, 7)), ("dims",)),
    "UpSampling1D": Domain({"size": free(2, 3)}, _one((None, 5, 4))),
    "UpSampling2D": Domain({"size": free(2, (2, 3)), "data_format": _LAST}, _one((None, 4, 5, 6))),
    "ZeroPadding1D": Domain({"padding": free(1, (2, 3))}, _one((None, 5, 4))),
    "ZeroPadding2D": Domain({"padding": free(1, ((3, 3), (1, 2))), "data_format": _LAST}, _one((None, 8, 9, 3))),
    "Cropping1D": Domain({"cropping": free(1, (2, 1))}, _one((None, 9, 4))),
    "Cropping2D": Domain({"cropping": free(1, ((2, 1), (0, 3))), "data_format": _LAST}, _one((None, 9, 8, 3))),
    "BatchNormalization": Domain(
        {"axis": free(-1), "center": _BIAS, "scale": _BIAS, "renorm": closed(False)}, _one((None, 6, 6, 10), (None, 9))
    ),
    "LayerNormalization": Domain(
        {"axis": free(-1), "center": _BIAS, "scale": _BIAS, "rms_scaling": closed(False)},
        _one((None, 5, 11), (None, 9)),
    ),
    "PReLU": _preserving(shared_axes=free(None, 1, (1, 2))),
    "LSTM": Domain({**_RNN_OPTIONS, "use_bias": _BIAS}, _one(*_SEQ), ("units",)),
    "GRU": Domain({**_RNN_OPTIONS, "use_bias": _BIAS, "reset_after": closed(True, False)}, _one(*_SEQ), ("units",)),
    "SimpleRNN": Domain({**_RNN_OPTIONS, "use_bias": _BIAS}, _one(*_SEQ), ("units",)),
    "Conv1D": _conv(1, "conv"),
    "Conv2D": _conv(2, "conv"),
    "Conv3D": _conv(3, "conv"),
    "DepthwiseConv1D": _conv(1, "depthwise"),
    "DepthwiseConv2D": _conv(2, "depthwise"),
    "SeparableConv1D": _conv(1, "separable"),
    "SeparableConv2D": _conv(2, "separable"),
    "Conv1DTranspose": _conv(1, "transpose"),
    "Conv2DTranspose": _conv(2, "transpose"),
}
for _name, _rank in (("MaxPooling", 0), ("AveragePooling", 0)):
    for _r in (1, 2, 3):
        DOMAIN[f"{_name}{_r}D"] = _pool(_r)
for _r, _inputs in ((1, ((None, 12, 6),)), (2, ((None, 7, 7, 32),)), (3, ((None, 4, 5, 6, 2),))):
    for _kind in ("Average", "Max"):
        DOMAIN[f"Global{_kind}Pooling{_r}D"] = Domain({"keepdims": _BIAS, "data_format": _LAST}, _one(*_inputs))
for _merge in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
    inputs = tuple(i for i in _MERGE_INPUTS if len(i) == 2) if _merge == "Subtract" else _MERGE_INPUTS
    DOMAIN[_merge] = Domain({}, inputs)
for _plain in (
    "Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "Activation", "ReLU",
    "LeakyReLU", "ELU", "Softmax", "Identity", "ActivityRegularization", "UnitNormalization",
):  # fmt: skip
    DOMAIN[_plain] = _preserving(axis=free(-1)) if _plain in ("Softmax", "UnitNormalization") else _preserving()
DOMAIN["Activation"] = Domain(
    DOMAIN["Activation"].options | {"activation": anything("relu")}, DOMAIN["Activation"].inputs, ("activation",)
)
for _rate in ("Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout"):
    _key = "stddev" if _rate == "GaussianNoise" else "rate"
    DOMAIN[_rate] = Domain(DOMAIN[_rate].options | {_key: anything(0.5)}, DOMAIN[_rate].inputs, (_key,))
DOMAIN["Normalization"] = _preserving(
    axis=free(-1), invert=closed(False, True), mean=closed(None), variance=closed(None)
)
DOMAIN["GroupNormalization"] = _preserving(groups=free(1), axis=free(-1), center=_BIAS, scale=_BIAS)
DOMAIN["Rescaling"] = Domain({"scale": free(0.5), "offset": free(0.0)}, _preserving().inputs, ("scale",))
DOMAIN["SpatialDropout2D"] = Domain({"rate": anything(0.5), "data_format": _LAST}, _one((None, 4, 5, 6)), ("rate",))
DOMAIN["SpatialDropout3D"] = Domain({"rate": anything(0.5), "data_format": _LAST}, _one((None, 3, 4, 5, 6)), ("rate",))


def _same(value: Any, sample: Any) -> bool:
    if isinstance(value, (list, tuple)) and isinstance(sample, (list, tuple)):
        return len(value) == len(sample) and all(_same(a, b) for a, b in zip(value, sample, strict=True))
    return type(value) is type(sample) and value == sample


# Configs are immutable in practice and edits keep most layers as the same objects: cache
# per config object (checked by identity), as core.surgery.preview does per layer.
_PROVED: dict[int, tuple[Mapping[str, Any], str, bool]] = {}


def proved(class_name: str, config: Mapping[str, Any]) -> bool:
    """Whether the rules' answer for this class and config is one the conformance test proves."""
    entry = _PROVED.get(id(config))
    if entry is not None and entry[0] is config and entry[1] == class_name:
        return entry[2]
    result = _proved(class_name, config)
    if len(_PROVED) > 200_000:
        _PROVED.clear()
    _PROVED[id(config)] = (config, class_name, result)
    return result


def _proved(class_name: str, config: Mapping[str, Any]) -> bool:
    domain = DOMAIN.get(class_name)
    if domain is None:
        return False
    for key, value in config.items():
        option = domain.options.get(key)
        if option is None:
            if key in NEUTRAL or key.endswith(NEUTRAL_SUFFIXES) or (key in NEUTRAL_WHEN_FALSE and value is False):
                continue
            return False
        if option.closed and not any(_same(value, sample) for sample in option.samples):
            return False
        if not option.closed and not option.any_value and not _same_kind(value, option.samples):
            return False
    return True


def malformed(class_name: str, config: Mapping[str, Any]) -> str | None:
    """The first numeric option given something that is not a number (``units="many"``):
    a config Keras would refuse, said at once instead of waiting for Keras."""
    domain = DOMAIN.get(class_name)
    for key, value in config.items():
        option = domain.options.get(key) if domain is not None else None
        if option is not None and not option.closed and not option.any_value:
            if not _same_kind(value, option.samples):
                return f"{key!r} must be a number, not {value!r}"
    return None


def proved_inputs(class_name: str, inputs: Sequence[Shape | None]) -> bool:
    """Whether the number of inputs and their ranks are ones the samples prove (a 2D
    convolution on a rank-3 tensor is not: Keras refuses it)."""
    domain = DOMAIN.get(class_name)
    if domain is None:
        return False
    counts = {len(sample) for sample in domain.inputs}
    ranks = {len(shape) for sample in domain.inputs for shape in sample}
    return len(inputs) in counts and all(shape is None or len(shape) in ranks for shape in inputs)


def _same_kind(value: Any, samples: tuple[Any, ...]) -> bool:
    """An open option's value: None only if a sample is None, else numbers (or nested
    lists of numbers) like the samples."""
    if value is None:
        return None in samples
    return _numeric(value)


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, (list, tuple)) and all(_numeric(v) for v in value)
