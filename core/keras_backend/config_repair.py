"""Configs for library layers whose own ``get_config`` cannot rebuild them.

A ``.keras`` / ``.h5`` file rebuilds every layer with ``cls.from_config(config)``, the config
being what ``layer.get_config()`` wrote. A few library layers break that (KerasHub 0.32:
Gemma's ``RMSNormalization`` has no ``get_config``, ``LlamaTransformerDecoder.get_config``
reads an attribute it never sets and writes a key its ``__init__`` refuses,
``ViTPatchingAndEmbedding`` writes keys its ``__init__`` refuses and leaves out two it
takes). Such a layer gets a config written from its constructor's own signature: every
named ``__init__`` parameter the layer keeps as an attribute of the same name, Keras'
base keys (name, trainable, dtype), serialised the way Keras serialises them.

A repaired config is trusted only once proven: the library's own ``from_config`` rebuilds
the layer from it (after a JSON round trip, as from the file), the rebuilt layer holds
weights of the same shapes, takes the original's values, and computes the same outputs on
random inputs shaped like the layer's call in the model. The file then names the
library's class with that config: it reloads in plain Keras + the library, no Resect code.
"""

from __future__ import annotations

import contextlib
import inspect
import json
from collections.abc import Iterator
from typing import Any

from resect.core.keras_backend.runtime import import_keras

__all__ = ["RepairFailed", "needs_repair", "repaired_config", "written_with"]

# keyword arguments keras.layers.Layer.__init__ takes besides the subclass's own
_BASE_KEYS = ("name", "trainable", "dtype", "autocast", "activity_regularizer")
_TOLERANCE = 1e-5


class RepairFailed(Exception):
    """No config could be written that rebuilds the layer computing the same."""


def needs_repair(layer: Any) -> Exception | None:
    """The error ``type(layer).from_config(layer.get_config())`` raises, or None when the
    layer's own config rebuilds it."""
    try:
        type(layer).from_config(layer.get_config())
    except Exception as error:  # noqa: BLE001 - whatever the library's code raises
        return error
    return None


def repaired_config(layer: Any, node: Any) -> dict[str, Any]:
    """A config from which ``type(layer).from_config`` rebuilds ``layer`` computing the
    same, proven on random inputs shaped like ``node`` (the layer's call in the model);
    ``RepairFailed`` says why not."""
    keras = import_keras()
    config = _from_signature(keras, layer)
    config = json.loads(json.dumps(config))  # what the file holds
    try:
        rebuilt = type(layer).from_config(config)
    except Exception as error:  # noqa: BLE001
        raise RepairFailed(f"its constructor refuses the config written from its signature: {_text(error)}") from None
    _prove_same(keras, layer, rebuilt, node)
    return config


@contextlib.contextmanager
def written_with(configs: dict[int, tuple[Any, dict[str, Any]]]) -> Iterator[None]:
    """While saving, each repaired layer answers ``get_config`` with its repaired config
    (an attribute of that one object, removed afterwards): Keras writes the library's
    class name and module with it."""
    patched = []
    try:
        for layer, config in configs.values():
            object.__setattr__(layer, "get_config", lambda config=config: json.loads(json.dumps(config)))
            patched.append(layer)
        yield
    finally:
        for layer in patched:
            object.__delattr__(layer, "get_config")


def _from_signature(keras: Any, layer: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"name": layer.name, "trainable": layer.trainable}
    config["dtype"] = keras.dtype_policies.serialize(layer.dtype_policy)
    if getattr(layer, "activity_regularizer", None) is not None:
        config["activity_regularizer"] = keras.regularizers.serialize(layer.activity_regularizer)
    for name, parameter in inspect.signature(type(layer).__init__).parameters.items():
        if name == "self" or name in _BASE_KEYS:
            continue
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        if not _has_attribute(layer, name):
            if parameter.default is inspect.Parameter.empty:
                raise RepairFailed(f"it keeps no attribute for its required argument {name!r}")
            continue  # takes its default; the proof below says whether that was right
        config[name] = _serialise(keras, getattr(layer, name))
    return config


def _has_attribute(layer: Any, name: str) -> bool:
    try:
        getattr(layer, name)
    except Exception:  # noqa: BLE001 - a property that raises
        return False
    return True


def _serialise(keras: Any, value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_serialise(keras, item) for item in value]
    if isinstance(value, dict):
        return {str(key): _serialise(keras, item) for key, item in value.items()}
    if hasattr(value, "tolist"):  # NumPy scalars
        return value.tolist()
    if inspect.isfunction(value) and value.__module__.startswith("keras."):
        return keras.activations.serialize(value)  # "silu", as Keras writes an activation
    try:
        return keras.saving.serialize_keras_object(value)
    except Exception as error:  # noqa: BLE001
        raise RepairFailed(f"cannot serialise {type(value).__name__}: {_text(error)}") from None


def _prove_same(keras: Any, layer: Any, rebuilt: Any, node: Any) -> None:
    import numpy as np

    rng = np.random.default_rng(0)

    def sample(value: Any) -> Any:
        if not isinstance(value, keras.KerasTensor):
            return value
        shape = tuple(3 if dim is None else int(dim) for dim in value.shape)
        dtype = str(value.dtype)
        if "int" in dtype or dtype == "bool":
            return keras.ops.convert_to_tensor(rng.integers(0, 2, size=shape).astype(dtype))
        return keras.ops.convert_to_tensor(rng.normal(size=shape).astype(dtype))

    args = keras.tree.map_structure(sample, node.arguments.args)
    kwargs = keras.tree.map_structure(sample, node.arguments.kwargs)
    try:
        rebuilt(*args, **kwargs)  # builds it
        before = [tuple(w.shape) for w in layer.weights]
        after = [tuple(w.shape) for w in rebuilt.weights]
        if before != after:
            raise RepairFailed(f"the rebuilt layer's weights differ: {after} against {before}")
        rebuilt.set_weights(layer.get_weights())
        expected = keras.tree.flatten(layer(*args, **kwargs))
        got = keras.tree.flatten(rebuilt(*args, **kwargs))
    except RepairFailed:
        raise
    except Exception as error:  # noqa: BLE001
        raise RepairFailed(f"the rebuilt layer cannot run: {_text(error)}") from None
    if len(expected) != len(got):
        raise RepairFailed("the rebuilt layer returns a different number of outputs")
    for want, have in zip(expected, got, strict=True):
        want, have = keras.ops.convert_to_numpy(want), keras.ops.convert_to_numpy(have)
        if want.shape != have.shape or not np.allclose(want, have, atol=_TOLERANCE, equal_nan=True):
            raise RepairFailed("the rebuilt layer computes different values")


def _text(error: Exception) -> str:
    return " ".join(str(error).split())[:160] or type(error).__name__
