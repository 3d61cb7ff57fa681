"""Real Keras models for the tests, built with Keras itself (``weights=None``).

``build(name)`` returns a fresh Keras model; ``ZooCache.path(name, fmt)`` saves it once
as ``.keras`` or ``.h5`` (written by Keras 3) and reuses the file. ``fmt="tf2.h5"`` is a
legacy file written by tf.keras 2 (the ``tf-keras`` package) in a subprocess, so the
two Keras versions never share a process.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def resnet50(keras):
    return keras.applications.ResNet50(weights=None)


def inception_v3(keras):
    return keras.applications.InceptionV3(weights=None)


def mobilenet_v2(keras):
    return keras.applications.MobileNetV2(weights=None)


def densenet121(keras):
    return keras.applications.DenseNet121(weights=None)


def efficientnet_b0(keras):
    return keras.applications.EfficientNetB0(weights=None)


def siamese(keras):
    """Two images through one shared tower (every tower layer has two nodes)."""
    L = keras.layers
    tower_conv = L.Conv2D(8, 3, activation="relu", name="tower_conv")
    tower_pool = L.GlobalAveragePooling2D(name="tower_pool")
    tower_dense = L.Dense(16, name="tower_dense")
    left = keras.Input((32, 32, 3), name="left")
    right = keras.Input((32, 32, 3), name="right")
    embed_left = tower_dense(tower_pool(tower_conv(left)))
    embed_right = tower_dense(tower_pool(tower_conv(right)))
    diff = L.Subtract(name="difference")([embed_left, embed_right])
    score = L.Dense(1, activation="sigmoid", name="score")(diff)
    return keras.Model([left, right], score, name="siamese")


def nested(keras):
    """A Sequential block and a Functional block (called twice) inside a Functional model."""
    L = keras.layers
    block = keras.Sequential(
        [keras.Input((16,)), L.Dense(12, activation="relu", name="seq_dense"), L.BatchNormalization(name="seq_bn")],
        name="seq_block",
    )
    inner_in = keras.Input((12,), name="inner_in")
    inner_hidden = L.Dense(8, activation="relu", name="inner_dense")(inner_in)
    inner_out = L.Add(name="inner_add")([L.Dense(8, name="inner_skip")(inner_in), inner_hidden])
    head = keras.Model(inner_in, inner_out, name="func_block")
    x_in = keras.Input((16,), name="features")
    x = L.Dense(16, activation="relu", name="stem")(x_in)
    a = block(x)
    b = L.Dense(12, name="side")(x)
    out_a = head(a)
    out_b = head(b)
    merged = L.Concatenate(name="merge")([out_a, out_b])
    out = L.Dense(3, activation="softmax", name="classes")(merged)
    return keras.Model(x_in, out, name="nested")


def multi_io(keras):
    """Tokens and numeric features in; a class and a regression value out."""
    L = keras.layers
    tokens = keras.Input((10,), dtype="int32", name="tokens")
    numbers = keras.Input((4,), name="numbers")
    emb = L.Embedding(50, 16, name="embedding")(tokens)
    att = L.MultiHeadAttention(num_heads=2, key_dim=8, name="attention")(emb, emb)
    x = L.LayerNormalization(name="norm")(L.Add(name="residual")([emb, att]))
    pooled = L.GlobalAveragePooling1D(name="pool")(x)
    joined = L.Concatenate(name="join")([pooled, L.Dense(8, activation="relu", name="num_dense")(numbers)])
    label = L.Dense(3, activation="softmax", name="label")(joined)
    value = L.Dense(1, name="value")(joined)
    return keras.Model([tokens, numbers], [label, value], name="multi_io")


def lstm(keras):
    L = keras.layers
    tokens = keras.Input((12,), dtype="int32", name="tokens")
    x = L.Embedding(40, 8, name="embedding")(tokens)
    x = L.LSTM(16, return_sequences=True, name="lstm_1")(x)
    x = L.LSTM(8, name="lstm_2")(x)
    out = L.Dense(2, activation="softmax", name="out")(x)
    return keras.Model(tokens, out, name="lstm_model")


def frozen_block(keras):
    """A small CNN whose first block (with batch norm) is frozen."""
    L = keras.layers
    inp = keras.Input((32, 32, 3), name="image")
    x = L.Conv2D(8, 3, padding="same", name="block1_conv")(inp)
    x = L.BatchNormalization(name="block1_bn")(x)
    x = L.Activation("relu", name="block1_relu")(x)
    y = L.Conv2D(8, 3, padding="same", name="block2_conv")(x)
    y = L.BatchNormalization(name="block2_bn")(y)
    x = L.Activation("relu", name="block2_out")(L.Add(name="block2_add")([x, y]))
    x = L.GlobalAveragePooling2D(name="gap")(x)
    out = L.Dense(4, activation="softmax", name="probs")(x)
    model = keras.Model(inp, out, name="frozen_block")
    for layer in model.layers:
        if layer.name.startswith("block1_"):
            layer.trainable = False
    return model


def small_resnet(keras):
    """A ResNet-shaped toy (same naming as keras.applications) for fast surgery tests."""
    L = keras.layers
    inp = keras.Input((32, 32, 3), name="input_layer")
    x = L.Conv2D(8, 3, padding="same", name="conv1_conv")(inp)
    x = L.BatchNormalization(name="conv1_bn")(x)
    x = L.Activation("relu", name="conv1_relu")(x)
    for stage, filters in ((2, 8), (3, 16)):
        for block in (1, 2):
            prefix = f"conv{stage}_block{block}_"
            stride = 2 if (block == 1 and stage > 2) else 1
            if block == 1:
                shortcut = L.Conv2D(filters, 1, strides=stride, name=prefix + "0_conv")(x)
                shortcut = L.BatchNormalization(name=prefix + "0_bn")(shortcut)
            else:
                shortcut = x
            y = L.Conv2D(filters, 3, strides=stride, padding="same", name=prefix + "1_conv")(x)
            y = L.BatchNormalization(name=prefix + "1_bn")(y)
            y = L.Activation("relu", name=prefix + "1_relu")(y)
            y = L.Conv2D(filters, 3, padding="same", name=prefix + "2_conv")(y)
            y = L.BatchNormalization(name=prefix + "2_bn")(y)
            x = L.Add(name=prefix + "add")([shortcut, y])
            x = L.Activation("relu", name=prefix + "out")(x)
    x = L.GlobalAveragePooling2D(name="avg_pool")(x)
    out = L.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="small_resnet")


BUILDERS = {
    "resnet50": resnet50,
    "inception_v3": inception_v3,
    "mobilenet_v2": mobilenet_v2,
    "densenet121": densenet121,
    "efficientnet_b0": efficientnet_b0,
    "siamese": siamese,
    "nested": nested,
    "multi_io": multi_io,
    "lstm": lstm,
    "frozen_block": frozen_block,
    "small_resnet": small_resnet,
}
# Models tf.keras 2 can also write as legacy .h5 (keras.applications exist in both).
LEGACY_BUILDABLE = ["resnet50", "inception_v3", "siamese", "nested", "multi_io", "lstm", "frozen_block", "small_resnet"]


def build(name: str):
    """A fresh ``name`` whose auto-generated layer names (``input_layer``, ``conv2d``, ...) do
    not depend on what this process built before: Keras numbers them per process, so the
    counters are reset first (``clear_session``) and the model is named as if built alone."""
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(1234)
    return BUILDERS[name](keras)


# Everything that shapes the saved files: the code that builds them and the versions that write them.
_CACHE_KEY_PACKAGES = ("keras", "tensorflow-cpu", "tf-keras", "h5py", "numpy")


def cache_key() -> str:
    """A short hash of the zoo's code and the writing packages' versions, so a stale cache
    (other zoo code, another Keras) is never trusted: it lands in another directory."""
    from importlib import metadata

    digest = hashlib.sha1()
    for source in (Path(__file__), Path(__file__).with_name("zoo_legacy.py")):
        digest.update(source.read_bytes())
    for package in _CACHE_KEY_PACKAGES:
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{package}={version};".encode())
    return digest.hexdigest()[:12]


class ZooCache:
    """Saved zoo models, built once per zoo version (a cache dir outside the repo)."""

    def __init__(self, directory: Path | None = None) -> None:
        default = Path(os.environ.get("RESECT_ZOO_CACHE", Path.home() / ".cache" / "resect-zoo"))
        self.directory = (directory or default) / cache_key()
        self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, name: str, fmt: str = "keras") -> Path:
        """The model ``name`` saved as ``fmt`` in ``{"keras", "h5", "tf2.h5"}``."""
        target = self.directory / f"{name}.{fmt}"
        if target.exists():
            return target
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial.{'h5' if fmt != 'keras' else 'keras'}")
        if fmt == "tf2.h5":
            subprocess.run(
                [sys.executable, str(Path(__file__).with_name("zoo_legacy.py")), name, str(partial)],
                check=True,
                cwd=ROOT,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            )
        else:
            build(name).save(partial)
        os.replace(partial, target)
        return target
