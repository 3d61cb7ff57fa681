"""Which TensorFlow functions (tf.keras ``TFOpLambda`` / ``SlicingOpLambda`` nodes) map
to which Keras 3 op, and how their arguments are renamed. Pure data: the Keras side
(``core/keras_backend/tf_ops.py``) calls ``keras.ops.<op>`` from it.

tf.keras records ``tf.math.multiply(x, 2.0)`` as function ``"math.multiply"`` called on
``x`` with the remaining arguments as keywords (``{"y": 2.0, "name": null}``). In
``args`` a keyword maps to ``"*"`` (the op's next positional argument) or to the Keras
keyword it becomes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class OpSpec:
    op: str  # a keras.ops function, or "getitem" for slicing
    args: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "slicing" if self.op == "getitem" else f"keras.ops.{self.op}"


def _unary(op: str, **args: str) -> OpSpec:
    return OpSpec(op, args)


_BINARY = {"y": "*"}
_REDUCE = {"axis": "axis", "keepdims": "keepdims"}

TF_OPS: dict[str, OpSpec] = {
    # activations
    **{f: _unary("relu") for f in ("nn.relu", "keras.activations.relu")},
    "nn.relu6": _unary("relu6"),
    **{f: _unary("sigmoid") for f in ("math.sigmoid", "nn.sigmoid", "sigmoid")},
    **{f: _unary("tanh") for f in ("math.tanh", "nn.tanh", "tanh")},
    **{f: _unary("silu") for f in ("nn.silu", "nn.swish")},
    "nn.gelu": _unary("gelu", approximate="approximate"),
    "nn.elu": _unary("elu"),
    "nn.selu": _unary("selu"),
    **{f: _unary("softplus") for f in ("math.softplus", "nn.softplus")},
    "nn.leaky_relu": _unary("leaky_relu", alpha="negative_slope"),
    **{f: OpSpec("softmax", {"axis": "axis"}) for f in ("nn.softmax", "math.softmax")},
    # elementwise math (tensors or constants)
    **{f: OpSpec("add", _BINARY) for f in ("math.add", "__operators__.add", "add")},
    **{f: OpSpec("subtract", _BINARY) for f in ("math.subtract", "subtract")},
    **{f: OpSpec("multiply", _BINARY) for f in ("math.multiply", "multiply")},
    **{f: OpSpec("divide", _BINARY) for f in ("math.truediv", "math.divide", "divide", "realdiv")},
    "math.floordiv": OpSpec("floor_divide", _BINARY),
    "math.maximum": OpSpec("maximum", _BINARY),
    "math.minimum": OpSpec("minimum", _BINARY),
    "math.pow": OpSpec("power", _BINARY),
    "math.square": _unary("square"),
    "math.sqrt": _unary("sqrt"),
    "math.rsqrt": _unary("rsqrt"),
    "math.exp": _unary("exp"),
    "math.log": _unary("log"),
    "math.abs": _unary("abs"),
    "math.negative": _unary("negative"),
    "math.reciprocal": _unary("reciprocal"),
    "math.sign": _unary("sign"),
    "clip_by_value": OpSpec("clip", {"clip_value_min": "*", "clip_value_max": "*"}),
    # shape and layout
    "reshape": OpSpec("reshape", {"shape": "*"}),
    **{f: OpSpec("transpose", {"perm": "axes", "conjugate": "-"}) for f in ("transpose", "compat.v1.transpose")},
    "concat": OpSpec("concatenate", {"axis": "axis"}),
    "stack": OpSpec("stack", {"axis": "axis"}),
    "expand_dims": OpSpec("expand_dims", {"axis": "*"}),
    "compat.v1.squeeze": OpSpec("squeeze", {"axis": "axis", "squeeze_dims": "axis"}),
    "squeeze": OpSpec("squeeze", {"axis": "axis"}),
    "cast": OpSpec("cast", {"dtype": "*"}),
    "identity": _unary("identity"),
    "__operators__.getitem": OpSpec("getitem", {"slice_spec": "*"}),
    # reductions
    **{
        f"{p}reduce_{r}": OpSpec(k, _REDUCE)
        for p in ("math.", "")
        for r, k in (("mean", "mean"), ("sum", "sum"), ("max", "max"), ("min", "min"), ("prod", "prod"))
    },
}


def tf_op_mapping(function: str) -> OpSpec | None:
    """The Keras 3 op for a tf.keras ``TFOpLambda`` function name (``"nn.relu"``)."""
    return TF_OPS.get(function)
