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

from core.upgrade.report import UpgradeError
from core.upgrade.tf_ops import tf_op_mapping

Entry = dict[str, Any]

RNN_CLASSES = {"LSTM", "GRU", "SimpleRNN", "RNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"}
# tf.keras 2.13-2.15 (and tf_keras) module paths that moved in Keras 3
MOVED_MODULES = {
    "keras.src.engine.functional": "keras.src.models.functional",
    "keras.src.engine.sequential": "keras.src.models.sequential",
    "keras.src.engine.training": "keras.src.models.model",
    "keras.src.engine.input_layer": "keras.src.layers.core.input_layer",
    "keras.engine.functional": "keras.src.models.functional",
    "keras.engine.sequential": "keras.src.models.sequential",
    "keras.engine.training": "keras.src.models.model",
    "keras.engine.input_layer": "keras.src.layers.core.input_layer",
}


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


def depthwise_groups(entry: Entry, config: dict[str, Any]) -> str | None:
    """tf.keras' DepthwiseConv2D inherits ``groups`` from Conv; Keras 3 refuses the key."""
    if entry.get("class_name") not in ("DepthwiseConv2D", "DepthwiseConv1D") or "groups" not in config:
        return None
    if config["groups"] != 1:
        raise UpgradeError(_name(entry), f"groups={config['groups']} has no Keras 3 DepthwiseConv equivalent")
    del config["groups"]
    return "dropped groups=1"


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
    LayerRewrite("mha_shape_keys", mha_shape_keys),
    LayerRewrite("mha_robust_masking", mha_robust_masking),
    LayerRewrite("batch_input_shape", batch_input_shape),
    LayerRewrite("moved_modules", moved_modules),
    LayerRewrite("tf_op", tf_op),
)
