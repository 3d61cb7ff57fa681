"""Build the demo model the app opens by default: ``python -m resect.resources.make_demo_model [OUT]``.

A small image classifier (31,242 parameters, about 240 KB) shaped so every kind of
surgery Resect offers has something to act on: residual blocks with skip connections (cuts
that must be completed, a block to drop), a nested Sequential block, a Dense layer shared by
two branches (a layer with two nodes), BatchNormalization statistics (frozen weights), a
10-class head to replace and a 96x96x3 input to shrink. Deterministic: the same Keras
version writes the same config (up to Keras' ``shared_object_id``, a memory address) and
the same weight values every time: seeded, and the BatchNormalization statistics come from a
seeded NumPy generator so they look trained.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

SEED = 1234
INPUT_SHAPE = (96, 96, 3)
CLASSES = 10
DEFAULT_OUT = Path(__file__).resolve().parent / "demo_model.keras"


def _residual_block(keras, x, name: str, filters: int):
    """conv-bn-relu-conv-bn added to its input: the ResNet pattern, with ResNet-style names."""
    L = keras.layers
    y = L.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_1_conv")(x)
    y = L.BatchNormalization(name=f"{name}_1_bn")(y)
    y = L.ReLU(name=f"{name}_1_relu")(y)
    y = L.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    y = L.BatchNormalization(name=f"{name}_2_bn")(y)
    y = L.Add(name=f"{name}_add")([x, y])
    return L.ReLU(name=f"{name}_out")(y)


def build_demo_model(keras):
    """The demo model, freshly built with seeded weights (not yet 'trained' statistics)."""
    keras.utils.set_random_seed(SEED)
    L = keras.layers
    image = keras.Input(INPUT_SHAPE, name="image")
    x = L.Rescaling(1.0 / 255, name="rescale")(image)
    x = L.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
    x = L.BatchNormalization(name="stem_bn")(x)
    x = L.ReLU(name="stem_relu")(x)
    x = _residual_block(keras, x, "block1", 16)
    x = L.MaxPooling2D(2, name="pool1")(x)
    x = L.Conv2D(32, 1, use_bias=False, name="widen_conv")(x)
    x = L.BatchNormalization(name="widen_bn")(x)
    x = _residual_block(keras, x, "block2", 32)
    x = L.MaxPooling2D(2, name="pool2")(x)
    # Nested block; spatial size left open so an input-shape change flows through it.
    refine = keras.Sequential(
        [
            keras.Input((None, None, 32), name="refine_in"),
            L.DepthwiseConv2D(3, padding="same", use_bias=False, name="refine_dw"),
            L.Conv2D(64, 1, use_bias=False, name="refine_pw"),
            L.BatchNormalization(name="refine_bn"),
            L.ReLU(name="refine_relu"),
        ],
        name="refine",
    )
    x = refine(x)
    average = L.GlobalAveragePooling2D(name="avg_pool")(x)
    maximum = L.GlobalMaxPooling2D(name="max_pool")(x)
    shared = L.Dense(48, activation="relu", name="shared_embed")  # called twice: two nodes
    x = L.Concatenate(name="embed_concat")([shared(average), shared(maximum)])
    x = L.Dropout(0.2, name="dropout")(x)
    predictions = L.Dense(CLASSES, activation="softmax", name="predictions")(x)
    return keras.Model(image, predictions, name="resect_demo")


def _batchnorm_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from _batchnorm_layers(layer)
        elif type(layer).__name__ == "BatchNormalization":
            yield layer


def give_trained_statistics(keras, model) -> None:
    """Seeded non-trivial BatchNormalization statistics, so a numerical check that ignores
    them (or resets them) fails as it would on a really trained model."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    for layer in _batchnorm_layers(model):
        gamma, beta, mean, variance = layer.get_weights()
        layer.set_weights(
            [
                rng.uniform(0.5, 1.5, gamma.shape).astype(gamma.dtype),
                rng.normal(0.0, 0.1, beta.shape).astype(beta.dtype),
                rng.normal(0.0, 0.5, mean.shape).astype(mean.dtype),
                rng.uniform(0.5, 2.0, variance.shape).astype(variance.dtype),
            ]
        )


def make_demo_model(out: str | os.PathLike[str] = DEFAULT_OUT) -> Path:
    """Build the demo model and save it to ``out`` (a ``.keras`` file); returns the path."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    model = build_demo_model(keras)
    give_trained_statistics(keras, model)
    out = Path(out)
    model.save(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(DEFAULT_OUT), help="where to write the .keras file")
    args = parser.parse_args(argv)
    path = make_demo_model(args.out)
    print(f"{path}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
