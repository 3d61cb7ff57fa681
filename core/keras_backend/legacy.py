"""Load a Keras 2 (tf.keras) model in Keras 3 through the upgraded config.

The config is upgraded in pure Python (``core.upgrade``), deserialised by Keras' own
legacy loader (``saving_utils.model_from_config`` under Keras' legacy-config and safe-mode
scopes, as ``keras.models.load_model`` does for an ``.h5``), and the weights are then
loaded from the original file by layer order (``load_weights_from_hdf5_group``) or, for
a SavedModel, from its TensorFlow checkpoint (``core.keras_backend.savedmodel_weights``).
"""

from __future__ import annotations

import json
from typing import Any

from resect.core.keras_backend.runtime import import_keras
from resect.core.keras_backend.tf_ops import tf_op_classes
from resect.core.upgrade.upgrader import upgrade_config

__all__ = ["load_legacy", "load_legacy_h5", "model_from_legacy_config"]


def load_legacy(path: str, fmt: str, safe_mode: bool = True) -> Any:
    """A Keras 2 model file of format ``fmt`` (``"h5"``, ``"keras"``) loaded in Keras 3;
    ``safe_mode=False`` only with the user's ``--unsafe`` (core/consent.py)."""
    if fmt == "h5":
        return load_legacy_h5(path, safe_mode)
    if fmt == "keras":
        return load_legacy_keras(path, safe_mode)
    if fmt == "savedmodel":
        return load_legacy_saved_model(path, safe_mode)
    raise ValueError(f"no Keras 2 loader for format {fmt!r}")


def load_legacy_saved_model(path: str, safe_mode: bool = True) -> Any:
    """A tf.keras SavedModel directory: the model from ``keras_metadata.pb``'s config, its
    weights from the checkpoint in ``variables/``, layer by layer in tf.keras' save order
    (the object graph's ``keras_api/{trainable,non_trainable}_variables``), as the
    ``.h5`` loader does with ``model_weights``."""
    import tensorflow as tf
    from keras.src.legacy.saving import legacy_h5_format

    from resect.core.reader.savedmodel import load_saved_model_dir

    saved = load_saved_model_dir(path)
    model = model_from_legacy_config(saved.root_config, safe_mode)
    reader = tf.train.load_checkpoint(saved.checkpoint_prefix)
    saved_layers = [(name, variables) for name, (_, variables) in saved.layer_weights(0).items() if variables]
    keras_layers = [layer for layer in model.layers if legacy_h5_format._legacy_weights(layer)]
    if len(saved_layers) != len(keras_layers):
        raise ValueError(f"{len(saved_layers)} layers with weights in the checkpoint, {len(keras_layers)} in the model")
    for (name, variables), layer in zip(saved_layers, keras_layers, strict=True):
        values = [reader.get_tensor(v.key) for v in variables]
        legacy_h5_format._set_weights(layer, legacy_h5_format._legacy_weights(layer), values, name=f"layer {name!r}")
    return model


def load_legacy_keras(path: str, safe_mode: bool = True) -> Any:
    """A tf.keras 2.13-2.15 ``.keras`` archive: Keras 3's own loader on a copy whose
    ``config.json`` is upgraded (its weights file already has the Keras 3 layout)."""
    import os
    import tempfile
    import zipfile

    keras = import_keras()
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        upgraded = upgrade_config(config).config
        with tempfile.TemporaryDirectory(prefix="resect-upgrade-") as tmp:
            copy = os.path.join(tmp, "model.keras")
            with zipfile.ZipFile(copy, "w") as out:
                for item in archive.infolist():
                    data = json.dumps(upgraded).encode() if item.filename == "config.json" else archive.read(item)
                    out.writestr(item, data)
            return keras.models.load_model(
                copy, compile=False, safe_mode=safe_mode, custom_objects=dict(tf_op_classes())
            )


def model_from_legacy_config(config: dict[str, Any], safe_mode: bool = True) -> Any:
    """A Keras 3 model (fresh weights) from a Keras 2 model config."""
    import_keras()
    from keras.src.legacy.saving import saving_options, saving_utils
    from keras.src.saving import serialization_lib

    upgraded = upgrade_config(config).config
    with saving_options.keras_option_scope(use_legacy_config=True), serialization_lib.SafeModeScope(safe_mode):
        return saving_utils.model_from_config(upgraded, custom_objects=dict(tf_op_classes()))


def load_legacy_h5(path: str, safe_mode: bool = True) -> Any:
    """``keras.models.load_model`` for a tf.keras 2 ``.h5``, through the upgraded config."""
    import h5py

    import_keras()
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "r") as h5:
        raw = h5.attrs["model_config"]
        config = json.loads(raw.decode("utf8") if isinstance(raw, bytes) else raw)
        model = model_from_legacy_config(config, safe_mode)
        legacy_h5_format.load_weights_from_hdf5_group(h5["model_weights"], model)
    return model
