"""tf.keras 2 models for the Keras 2 -> 3 tests, written by ``tf_keras`` in its own process.

``Keras2Zoo.path(name, "h5" | "savedmodel")`` writes the model once (cached like
``zoo.py``) together with ``<name>.reference.npz``: a seeded random input, tf.keras'
own outputs for it, and its ``count_params()``. Run as a script, this file is the writer
(``python zoo_keras2.py NAME DIR``): Keras 2 and Keras 3 never share a process.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def resnet50(k, tf):
    return k.applications.ResNet50(weights=None, input_shape=(32, 32, 3), classes=10)


def mobilenet(k, tf):
    return k.applications.MobileNet(weights=None, input_shape=(32, 32, 3), classes=5, alpha=0.25)


def mobilenet_v2(k, tf):
    return k.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), classes=5, alpha=0.35)


def rnn(k, tf):
    L = k.layers
    tokens = k.Input((12,), dtype="int32", name="tokens")
    x = L.Embedding(40, 8, name="embedding")(tokens)
    x = L.LSTM(16, return_sequences=True, name="lstm")(x)
    x = L.GRU(8, name="gru")(x)
    return k.Model(tokens, L.Dense(3, activation="softmax", name="out")(x), name="rnn")


def mha_block(k, tf):
    L = k.layers
    seq = k.Input((6, 16), name="seq")
    att = L.MultiHeadAttention(num_heads=2, key_dim=8, name="attention")(seq, seq)
    x = L.LayerNormalization(name="norm")(L.Add(name="residual")([seq, att]))
    ff = L.Dense(16, activation="relu", name="ff")(x)
    return k.Model(seq, L.GlobalAveragePooling1D(name="pool")(ff), name="mha_block")


def nested_sequential(k, tf):
    L = k.layers
    block = k.Sequential(
        [L.Dense(12, activation="relu", input_shape=(8,), name="seq_dense"), L.BatchNormalization(name="seq_bn")],
        name="seq_block",
    )
    inp = k.Input((8,), name="features")
    x = block(inp)
    return k.Model(inp, L.Dense(2, name="logits")(x), name="nested_sequential")


def siamese_sequential(k, tf):
    L = k.layers
    tower = k.Sequential(
        [
            L.Conv2D(4, 3, activation="relu", input_shape=(16, 16, 3), name="tower_conv"),
            L.GlobalAveragePooling2D(name="tower_pool"),
            L.Dense(8, name="tower_dense"),
        ],
        name="tower",
    )
    left, right = k.Input((16, 16, 3), name="left"), k.Input((16, 16, 3), name="right")
    diff = L.Subtract(name="difference")([tower(left), tower(right)])
    return k.Model([left, right], L.Dense(1, activation="sigmoid", name="score")(diff), name="siamese_sequential")


def tf_ops(k, tf):
    inp = k.Input((4, 6), name="x")
    y = tf.nn.relu(inp) * 2.0
    y = tf.concat([y, inp], axis=-1)
    y = tf.reshape(y, (-1, 8, 6))
    y = y[:, 1:5, :]
    y = tf.transpose(y, perm=[0, 2, 1])
    y = tf.math.reduce_mean(y, axis=-1, keepdims=True)
    y = tf.expand_dims(tf.squeeze(y, axis=-1), axis=1)
    y = tf.cast(y, "float32") + tf.math.sigmoid(y)
    return k.Model(inp, y, name="tf_ops")


def convs(k, tf):
    L = k.layers
    img = k.Input((16, 16, 3), name="image")
    x = L.SeparableConv2D(8, 3, padding="same", name="sep")(img)
    x = L.BatchNormalization(name="frozen_bn")(x)
    x = L.SpatialDropout2D(0.2, name="spatial_drop")(x)
    x = L.Conv2DTranspose(4, 3, strides=2, padding="same", name="deconv")(x)
    x = L.Reshape((32 * 32, 4), name="flat_seq")(x)
    x = L.Conv1D(6, 3, strides=4, name="conv1d")(x)
    x = L.Dropout(0.3, name="drop")(L.GlobalMaxPooling1D(name="gmp")(x))
    model = k.Model(img, L.Dense(2, name="head")(x), name="convs")
    model.get_layer("frozen_bn").trainable = False
    return model


def bidir_td(k, tf):
    L = k.layers
    seq = k.Input((10, 5), name="seq")
    x = L.Bidirectional(L.LSTM(6, return_sequences=True, name="lstm"), name="bilstm")(seq)
    x = L.TimeDistributed(L.Dense(4, name="td_dense"), name="td")(x)
    return k.Model(seq, L.GlobalAveragePooling1D(name="pool")(x), name="bidir_td")


def multi_io(k, tf):
    L = k.layers
    tokens = k.Input((10,), dtype="int32", name="tokens")
    numbers = k.Input((4,), name="numbers")
    emb = L.GlobalAveragePooling1D(name="pool")(L.Embedding(50, 8, name="embedding")(tokens))
    joined = L.Concatenate(name="join")([emb, L.Dense(8, activation="relu", name="num_dense")(numbers)])
    label = L.Dense(3, activation="softmax", name="label")(joined)
    value = L.Dense(1, name="value")(joined)
    return k.Model([tokens, numbers], [label, value], name="multi_io")


# --- bad input ---------------------------------------------------------------------


def unmapped_op(k, tf):
    inp = k.Input((5,), name="x")
    return k.Model(inp, tf.math.cumsum(inp, axis=-1), name="unmapped_op")


def time_major(k, tf):
    L = k.layers
    seq = k.Input((7, 3), name="seq")
    return k.Model(seq, L.LSTM(4, time_major=True, name="tm_lstm")(seq), name="time_major")


BUILDERS = {
    f.__name__: f
    for f in (
        resnet50, mobilenet, mobilenet_v2, rnn, mha_block, nested_sequential, siamese_sequential,
        tf_ops, convs, bidir_td, multi_io, unmapped_op, time_major,
    )
}  # fmt: skip
CONVERTIBLE = [n for n in BUILDERS if n not in ("unmapped_op", "time_major")]


def _source_hash() -> str:
    return hashlib.sha1(Path(__file__).read_bytes()).hexdigest()[:10]


class Keras2Zoo:
    """Files written by tf.keras 2, built once per version of this module."""

    def __init__(self, directory: Path | None = None) -> None:
        default = Path(os.environ.get("RESECT_ZOO_CACHE", Path.home() / ".cache" / "resect-zoo"))
        self.directory = (directory or default) / f"keras2-{_source_hash()}"
        self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, name: str, fmt: str) -> Path:
        """``<name>.h5`` or the SavedModel folder ``<name>_savedmodel`` (both written together)."""
        self._write(name)
        return self.directory / (f"{name}.h5" if fmt == "h5" else f"{name}_savedmodel")

    def reference(self, name: str) -> Path:
        self._write(name)
        return self.directory / f"{name}.reference.npz"

    def _write(self, name: str) -> None:
        """Written once: test processes running side by side (pytest-xdist) take a lock per
        model, so none reads a file another is still writing."""
        done = self.directory / f"{name}.done"
        if done.exists():
            return
        with open(self.directory / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if done.exists():
                return
            subprocess.run(
                [sys.executable, str(Path(__file__)), name, str(self.directory)],
                check=True,
                cwd=ROOT,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            )


def _write_model(name: str, directory: str) -> None:
    import shutil
    import warnings

    warnings.filterwarnings("ignore")
    import numpy as np
    import tensorflow as tf
    import tf_keras

    tf_keras.utils.set_random_seed(1234)
    model = BUILDERS[name](tf_keras, tf)
    target = Path(directory)
    h5, saved = target / f"{name}.h5", target / f"{name}_savedmodel"
    shutil.rmtree(saved, ignore_errors=True)
    model.save(h5, save_format="h5")
    model.save(saved, save_format="tf")
    rng = np.random.default_rng(7)
    feed = []
    for tensor in model.inputs:
        shape = [2 if d is None else int(d) for d in tensor.shape]
        if tensor.dtype.is_integer:
            feed.append(rng.integers(0, 40, size=shape).astype(tensor.dtype.name))
        else:
            feed.append(rng.standard_normal(shape).astype("float32"))
    outputs = model(feed[0] if len(feed) == 1 else feed, training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    np.savez(
        target / f"{name}.reference.npz",
        count_params=model.count_params(),
        trainable_params=trainable,
        **{f"x{i}": x for i, x in enumerate(feed)},
        **{f"y{i}": np.asarray(y) for i, y in enumerate(outputs)},
    )
    (target / f"{name}.done").write_text("ok")


if __name__ == "__main__":
    _write_model(sys.argv[1], sys.argv[2])
