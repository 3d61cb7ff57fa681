"""The per-layer rewrites from the Keras 2 config dialect to Keras 3, one function each.

Each rewrite looks at one layer entry (``{"class_name", "config", ...}``), changes it in
place when it applies and returns what it did in words (``None`` when it did not apply),
or raises ``UpgradeError`` when the Keras 2 setting has no Keras 3 equivalent. ``REWRITES``
is the one registry, in the order they run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from resect.core.upgrade.moved_modules import MOVED_MODULES
from resect.core.upgrade.report import UpgradeError
from resect.core.upgrade.tf_ops import tf_op_mapping

Entry = dict[str, Any]

RNN_CLASSES = {"LSTM", "GRU", "SimpleRNN", "RNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"}


@dataclass(frozen=True)
class LayerRewrite:
    name: str
    apply: Callable[[Entry, dict[str, Any]], str | None]


def _name(entry: Entry) -> str:
    return str(entry.get("name") or (entry.get("config") or {}).get("name") or entry.get("class_name"))


def rnn_time_major(entry: Entry, config: dict[str, Any]) -> str | None:
    """Keras 3 recurrent layers have no ``time_major`` (always batch-major)."""
    if entry.get("class_name") not in RNN_CLASSES or "time_major" not in config:
        return None
    if config["time_major"]:
        raise UpgradeError(_name(entry), "time_major=True has no Keras 3 equivalent (Keras 3 RNNs are batch-major)")
    del config["time_major"]
    return "dropped time_major=False"


# Keras 3 classes without ``groups`` that tf.keras gave one (inherited from its Conv base)
NO_GROUPS_CLASSES = {
    "DepthwiseConv2D", "DepthwiseConv1D", "SeparableConv2D", "SeparableConv1D",
    "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
}  # fmt: skip
SEPARABLE_UNUSED = ("kernel_initializer", "kernel_regularizer", "kernel_constraint")


def depthwise_groups(entry: Entry, config: dict[str, Any]) -> str | None:
    """tf.keras' DepthwiseConv / SeparableConv / ConvTranspose inherit ``groups`` from Conv;
    Keras 3 refuses the key."""
    if entry.get("class_name") not in NO_GROUPS_CLASSES or "groups" not in config:
        return None
    if config["groups"] != 1:
        raise UpgradeError(_name(entry), f"groups={config['groups']} has no Keras 3 {entry['class_name']} equivalent")
    del config["groups"]
    return "dropped groups=1"


def separable_kernel_keys(entry: Entry, config: dict[str, Any]) -> str | None:
    """tf.keras' SeparableConv also records Conv's unused ``kernel_*`` settings (it has
    depthwise and pointwise kernels only); Keras 3 refuses them."""
    if entry.get("class_name") not in ("SeparableConv2D", "SeparableConv1D"):
        return None
    dropped = [key for key in SEPARABLE_UNUSED if key in config]
    for key in dropped:
        del config[key]
    return f"dropped unused {', '.join(dropped)}" if dropped else None


# Keras 2 keys a Keras 3 class refuses, dropped when they hold the Keras 2 default
# (the only value with the same meaning in Keras 3); any other value is refused.
DROPPED_DEFAULTS: dict[str, dict[str, Any]] = {
    # Keras 3's SpatialDropout takes no noise_shape and no trainable (it has no weights)
    "SpatialDropout1D": {"noise_shape": None, "trainable": True},
    "SpatialDropout2D": {"noise_shape": None, "trainable": True},
    "SpatialDropout3D": {"noise_shape": None, "trainable": True},
}


def dropped_defaults(entry: Entry, config: dict[str, Any]) -> str | None:
    """Keys Keras 3 no longer has, dropped when they hold the value it always uses."""
    defaults = DROPPED_DEFAULTS.get(str(entry.get("class_name")), {})
    dropped = []
    for key, default in defaults.items():
        if key in config:
            if config[key] != default:
                raise UpgradeError(_name(entry), f"{key}={config[key]!r} has no Keras 3 equivalent")
            del config[key]
            dropped.append(f"{key}={default!r}")
    return f"dropped {', '.join(dropped)}" if dropped else None


def wrapped_layer_module(entry: Entry, config: dict[str, Any]) -> str | None:
    """A SavedModel's metadata writes a wrapper's inner layer (Bidirectional's ``layer``,
    TimeDistributed's, an RNN's ``cell``) without ``module``; Keras 3 deserialises it with
    the new loader, which needs one. Only built-in Keras layer classes get it."""
    from resect.core.known_layers import KERAS_LAYER_CLASSES

    added = []
    for key in ("layer", "backward_layer", "cell"):
        inner = config.get(key)
        if isinstance(inner, dict) and "module" not in inner and inner.get("class_name") in KERAS_LAYER_CLASSES:
            inner["module"] = "keras.layers"
            inner.setdefault("registered_name", None)
            added.append(key)
    return f"module keras.layers given to its inner {', '.join(added)}" if added else None


def mha_shape_keys(entry: Entry, config: dict[str, Any]) -> str | None:
    """tf.keras' MultiHeadAttention records its build shapes in its config; Keras 3 takes
    them as ``build_config`` (and builds from the call in a functional model anyway)."""
    if entry.get("class_name") != "MultiHeadAttention":
        return None
    keys = [k for k in ("query_shape", "key_shape", "value_shape") if k in config]
    if not keys:
        return None
    shapes = {k: config.pop(k) for k in keys}
    if shapes.get("query_shape") is not None and "build_config" not in entry:
        value = shapes.get("value_shape") or shapes["query_shape"]
        entry["build_config"] = {
            "shapes_dict": {
                "query_shape": shapes["query_shape"],
                "value_shape": value,
                "key_shape": shapes.get("key_shape") or value,
            }
        }
    return "moved " + "/".join(k.removesuffix("_shape") for k in keys) + " shapes to build_config"


def mha_robust_masking(entry: Entry, config: dict[str, Any]) -> str | None:
    """tf.keras 2.13+ MultiHeadAttention has ``softmax_robust_masking``; Keras 3 does not."""
    if entry.get("class_name") != "MultiHeadAttention" or "softmax_robust_masking" not in config:
        return None
    if config["softmax_robust_masking"]:
        raise UpgradeError(_name(entry), "softmax_robust_masking=True has no Keras 3 equivalent")
    del config["softmax_robust_masking"]
    return "dropped softmax_robust_masking=False"


def batch_input_shape(entry: Entry, config: dict[str, Any]) -> str | None:
    """Keras 3's InputLayer calls it ``batch_shape``."""
    if entry.get("class_name") != "InputLayer" or "batch_input_shape" not in config:
        return None
    config["batch_shape"] = config.pop("batch_input_shape")
    return "batch_input_shape -> batch_shape"


def moved_modules(entry: Entry, config: dict[str, Any]) -> str | None:
    """tf.keras 2.13-2.15 ``.keras`` files name ``keras.src.engine.*`` modules (keras#19089)."""
    module = entry.get("module")
    if not isinstance(module, str) or module not in MOVED_MODULES:
        return None
    entry["module"] = MOVED_MODULES[module]
    return f"module {module} -> {entry['module']}"


def tf_op(entry: Entry, config: dict[str, Any]) -> str | None:
    """A TensorFlow function called in a tf.keras functional model (``TFOpLambda``,
    ``SlicingOpLambda``): kept as a node, built with the Keras 3 op it maps to."""
    if entry.get("class_name") not in ("TFOpLambda", "SlicingOpLambda"):
        return None
    function = str(config.get("function", ""))
    mapping = tf_op_mapping(function)
    if mapping is None:
        raise UpgradeError(_name(entry), f"TensorFlow op tf.{function} has no Keras 3 mapping")
    return f"tf.{function} -> {mapping}"


REWRITES: tuple[LayerRewrite, ...] = (
    LayerRewrite("rnn_time_major", rnn_time_major),
    LayerRewrite("depthwise_groups", depthwise_groups),
    LayerRewrite("separable_kernel_keys", separable_kernel_keys),
    LayerRewrite("dropped_defaults", dropped_defaults),
    LayerRewrite("wrapped_layer_module", wrapped_layer_module),
    LayerRewrite("mha_shape_keys", mha_shape_keys),
    LayerRewrite("mha_robust_masking", mha_robust_masking),
    LayerRewrite("batch_input_shape", batch_input_shape),
    LayerRewrite("moved_modules", moved_modules),
    LayerRewrite("tf_op", tf_op),
)
