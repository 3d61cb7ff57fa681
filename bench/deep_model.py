"""Generate very deep Keras 3 ``.keras`` files quickly, without building them in Keras.

Building a 20,000-layer model through Keras takes minutes; this writes the same file
Keras would (``config.json`` + ``metadata.json`` + ``model.weights.h5``, stored
uncompressed) from a synthetic config: residual blocks of ``Dense -> Activation ->
Add``. Keras loads the result (checked by tests/test_backend_loading.py).

    python bench/deep_model.py 5000 /tmp/deep_5000.keras
"""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np

KERAS_VERSION = "3.15.1"


def _tensor(layer: str, width: int) -> dict[str, Any]:
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [None, width], "dtype": "float32", "keras_history": [layer, 0, 0]},
    }


def _dtype_policy() -> dict[str, Any]:
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}


def _initializer(class_name: str, config: dict[str, Any]) -> dict[str, Any]:
    return {"module": "keras.initializers", "class_name": class_name, "config": config, "registered_name": None}


def _layer(class_name: str, name: str, config: dict[str, Any], args: list[Any]) -> dict[str, Any]:
    """A layer entry as Keras 3.15 writes it (full config: dtype policy, initializers)."""
    return {
        "module": "keras.layers",
        "class_name": class_name,
        "config": {"name": name, "trainable": True, "dtype": _dtype_policy(), **config},
        "registered_name": None,
        "name": name,
        "inbound_nodes": [{"args": args, "kwargs": {}}],
    }


def _dense_config(width: int) -> dict[str, Any]:
    return {
        "units": width,
        "activation": "linear",
        "use_bias": True,
        "kernel_initializer": _initializer("GlorotUniform", {"seed": None, "input_axes": None, "output_axes": None}),
        "bias_initializer": _initializer("Zeros", {}),
        "kernel_regularizer": None,
        "bias_regularizer": None,
        "kernel_constraint": None,
        "bias_constraint": None,
        "quantization_config": None,
    }


def deep_config(n_layers: int, width: int = 8) -> dict[str, Any]:
    """A Functional config of about ``n_layers`` layers (input + blocks of three)."""
    layers: list[dict[str, Any]] = [
        {
            "module": "keras.layers",
            "class_name": "InputLayer",
            "config": {
                "batch_shape": [None, width],
                "dtype": "float32",
                "sparse": False,
                "ragged": False,
                "name": "input",
                "optional": False,
            },
            "registered_name": None,
            "name": "input",
            "inbound_nodes": [],
        }
    ]
    previous = "input"
    for block in range((n_layers - 1) // 3):
        dense, act, add = f"dense_{block}", f"relu_{block}", f"add_{block}"
        dense_entry = _layer("Dense", dense, _dense_config(width), [_tensor(previous, width)])
        dense_entry["build_config"] = {"input_shape": [None, width]}
        layers.append(dense_entry)
        layers.append(_layer("Activation", act, {"activation": "relu"}, [_tensor(dense, width)]))
        add_entry = _layer("Add", add, {}, [[_tensor(previous, width), _tensor(act, width)]])
        add_entry["build_config"] = {"input_shape": [[None, width], [None, width]]}
        layers.append(add_entry)
        previous = add
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {
            "name": f"deep_{n_layers}",
            "trainable": True,
            "layers": layers,
            "input_layers": ["input", 0, 0],
            "output_layers": [previous, 0, 0],
        },
        "registered_name": "Functional",
        "build_config": {"input_shape": None},
        "compile_config": {},
    }


def _weights_h5(config: dict[str, Any], width: int, seed: int = 0) -> bytes:
    """``model.weights.h5`` laid out as Keras saves it: ``layers/<snake class>[_N]/vars/<i>``."""
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    counters: dict[str, int] = {}
    with h5py.File(buffer, "w") as h5:
        layers = h5.create_group("layers")
        for entry in config["config"]["layers"]:
            base = {"InputLayer": "input_layer", "Dense": "dense", "Activation": "activation", "Add": "add"}[
                entry["class_name"]
            ]
            count = counters.get(base)
            counters[base] = 0 if count is None else count + 1
            group = layers.create_group(base if count is None else f"{base}_{counters[base]}")
            variables = group.create_group("vars")
            variables.attrs["name"] = entry["name"]
            if entry["class_name"] == "Dense":
                scale = 1.0 / np.sqrt(width)
                variables["0"] = (rng.standard_normal((width, width)) * scale).astype("float32")
                variables["1"] = np.zeros((width,), "float32")
        h5.create_group("vars").attrs["name"] = config["config"]["name"]
    return buffer.getvalue()


def write_deep_model(path: str | os.PathLike[str], n_layers: int, width: int = 8) -> str:
    """Write the model (atomically) and return its path."""
    path = os.fspath(path)
    config = deep_config(n_layers, width)
    partial = f"{path}.{os.getpid()}.partial"
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": KERAS_VERSION, "date_saved": "generated"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", _weights_h5(config, width))
    os.replace(partial, path)
    return path


def cached_deep_model(n_layers: int) -> Path:
    """``deep_<n>.keras`` in the bench cache folder, written on first use."""
    cache = Path(os.environ.get("RESECT_BENCH_CACHE", Path.home() / ".cache" / "resect-bench"))
    path = cache / f"deep_{n_layers}.keras"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        write_deep_model(path, n_layers)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python bench/deep_model.py N_LAYERS OUT.keras")
    print(write_deep_model(sys.argv[2], int(sys.argv[1])))
