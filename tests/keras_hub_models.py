"""Tiny KerasHub models for the tests (never a preset from the hub): built and saved in a
fresh Python by ``python tests/keras_hub_models.py FOLDER`` (Keras' auto-names start at
zero), which also writes ``counts.json``: each model's ``count_params()`` and names."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def backbones(keras_hub):
    models = keras_hub.models
    return {
        "bert": models.BertBackbone(
            vocabulary_size=100, num_layers=4, num_heads=2, hidden_dim=16, intermediate_dim=32,
            max_sequence_length=32, name="bert",
        ),
        "gemma": models.GemmaBackbone(  # a decoder LLM with grouped-query attention (4 query, 2 KV heads)
            vocabulary_size=100, num_layers=2, num_query_heads=4, num_key_value_heads=2, hidden_dim=16,
            intermediate_dim=32, head_dim=4, name="gemma",
        ),
        "llama": models.LlamaBackbone(
            vocabulary_size=100, num_layers=2, num_query_heads=4, num_key_value_heads=2, hidden_dim=16,
            intermediate_dim=32, name="llama",
        ),
        "gpt2": models.GPT2Backbone(
            vocabulary_size=100, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32,
            max_sequence_length=64, name="gpt2",
        ),
        "vit": models.ViTBackbone(
            image_shape=(16, 16, 3), patch_size=4, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32,
            name="vit",
        ),
        "resnet": models.ResNetBackbone(
            input_conv_filters=[64], input_conv_kernel_sizes=[3], stackwise_num_filters=[64, 32],
            stackwise_num_blocks=[1, 1], stackwise_num_strides=[1, 2], block_type="basic_block",
            use_pre_activation=False, image_shape=(32, 32, 3), name="resnet",
        ),
    }  # fmt: skip


def main(folder: Path) -> None:
    import keras_hub

    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, model in backbones(keras_hub).items():
        model.save(folder / f"{name}.keras")
        counts[name] = {"params": model.count_params(), "layers": [op.name for op in model.operations]}
    resnet = keras_hub.models.ResNetBackbone.from_config(backbones(keras_hub)["resnet"].get_config())
    task = keras_hub.models.ResNetImageClassifier(backbone=resnet, num_classes=3, name="classifier")
    task.save(folder / "resnet_task.keras")
    counts["resnet_task"] = {"params": task.count_params(), "layers": [op.name for op in task.operations]}
    bert = keras_hub.models.BertBackbone(
        vocabulary_size=100, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32, max_sequence_length=32
    )
    bert.save_to_preset(str(folder / "bert_preset"))
    (folder / "bert_preset" / "vocabulary.txt").write_text("[PAD]\n[UNK]\nhello\n")  # an asset to list
    counts["bert_preset"] = {"params": bert.count_params(), "layers": [op.name for op in bert.operations]}
    task_presets(keras_hub, folder, counts)
    (folder / "counts.json").write_text(json.dumps(counts))


def task_presets(keras_hub, folder: Path, counts: dict) -> None:
    """A Task's preset (``task.json`` and ``task.weights.h5`` beside the backbone's files)
    with its output on a saved input, and one whose head's activation is a Lambda that
    writes the marker file ``lambda_ran`` when Keras builds it."""
    import numpy as np

    config = backbones(keras_hub)["resnet"].get_config()
    task = keras_hub.models.ResNetImageClassifier(
        backbone=keras_hub.models.ResNetBackbone.from_config(config), num_classes=3, name="classifier"
    )
    task.save_to_preset(str(folder / "resnet_task_preset"))
    images = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
    np.save(folder / "task_images.npy", images)
    np.save(folder / "task_output.npy", np.asarray(task(images)))
    counts["resnet_task_preset"] = {"params": task.count_params(), "layers": [op.name for op in task.operations]}
    marker = str(folder / "lambda_ran")
    task = keras_hub.models.ResNetImageClassifier(
        backbone=keras_hub.models.ResNetBackbone.from_config(config), num_classes=3, name="classifier",
        activation=lambda x, marker=marker: (open(marker, "w").close(), x * 2.0)[1],
    )  # fmt: skip
    task.save_to_preset(str(folder / "lambda_task_preset"))
    Path(marker).unlink(missing_ok=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
