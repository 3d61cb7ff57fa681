"""tf.keras ``TFOpLambda`` / ``SlicingOpLambda`` nodes in Keras 3.

While a legacy model loads, each such node becomes a ``TFOpNode`` layer (registered only
for that load) whose call runs the mapped ``keras.ops`` function, so the loaded model
computes what tf.keras computed. ``build`` then calls ``call_op`` directly, so the
exported model holds plain Keras 3 operations and reloads in Keras alone.
"""

from __future__ import annotations

from typing import Any

from resect.core.keras_backend.runtime import import_keras
from resect.core.upgrade.tf_ops import tf_op_mapping

__all__ = ["TFOpError", "call_op", "is_tf_op", "tf_op_classes"]


class TFOpError(ValueError):
    """A TF op's arguments cannot be expressed with its Keras 3 op."""


def call_op(function: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``tf.<function>(*args, **kwargs)`` as recorded by tf.keras, run with keras.ops."""
    keras = import_keras()
    spec = tf_op_mapping(function)
    if spec is None:
        raise TFOpError(f"TensorFlow op tf.{function} has no Keras 3 mapping")
    if len(args) != 1:
        raise TFOpError(f"tf.{function}: expected one positional argument, got {len(args)}")
    positional: list[Any] = [args[0]]
    keywords: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key == "name":
            continue
        target = spec.args.get(key)
        if target is None:
            raise TFOpError(f"tf.{function}: argument {key!r} is not supported")
        if target == "-":
            continue
        if target == "*":
            positional.append(value)
        else:
            keywords[target] = value
    if spec.op == "getitem":
        return positional[0][_slice_key(positional[1])]
    if spec.op == "cast":
        return keras.ops.cast(positional[0], _dtype(positional[1]))
    return getattr(keras.ops, spec.op)(*positional, **keywords)


def _slice_key(spec: Any) -> Any:
    """tf.keras' serialised ``slice_spec`` (``{"start", "stop", "step"}`` dicts, ints,
    ``None`` for newaxis, ``"..."``-style Ellipsis) as a Python index."""

    def one(item: Any) -> Any:
        if isinstance(item, dict) and set(item) <= {"start", "stop", "step"}:
            return slice(item.get("start"), item.get("stop"), item.get("step"))
        if isinstance(item, dict) and item.get("class_name") == "__ellipsis__":
            return Ellipsis
        if item == "...":
            return Ellipsis
        return item

    if isinstance(spec, list):
        return tuple(one(item) for item in spec)
    return one(spec)


def _dtype(value: Any) -> str:
    if isinstance(value, dict):
        value = (value.get("config") or {}).get("name", value.get("name"))
    return str(value)


_classes: dict[str, type] | None = None


def tf_op_classes() -> dict[str, type]:
    """Custom objects for loading a legacy config: ``TFOpLambda`` and ``SlicingOpLambda``."""
    global _classes
    if _classes is None:
        keras = import_keras()

        class TFOpNode(keras.layers.Layer):
            def __init__(self, function: str, **kwargs: Any) -> None:
                kwargs.pop("dtype", None)
                super().__init__(**kwargs)
                self.function = function

            def call(self, *args: Any, **kwargs: Any) -> Any:
                return call_op(self.function, args, kwargs)

            def get_config(self) -> dict[str, Any]:
                return {**super().get_config(), "function": self.function}

        _classes = {"TFOpLambda": TFOpNode, "SlicingOpLambda": TFOpNode}
    return _classes


def is_tf_op(obj: Any) -> bool:
    return _classes is not None and isinstance(obj, _classes["TFOpLambda"])
