"""Reader for tf.keras SavedModel directories (``model.save(path)`` in TF 2.0-2.12).

The model config comes from ``keras_metadata.pb`` and the weight shapes from the
object graph in ``saved_model.pb`` (``core.reader.savedmodel_objects``), both read
with a small protocol-buffer reader: no TensorFlow, so the graph shows at once. Weight
values stay in the checkpoint ``variables/``; the Keras backend reads them by the keys
recorded on each ``Weight`` (``h5_path``). A directory without ``keras_metadata.pb`` is
a plain TensorFlow SavedModel: it has no Keras layer graph to show, and is refused.
"""

from __future__ import annotations

import os
from typing import Any

from core.errors import ModelFileError
from core.graph import ModelGraph, Weight
from core.reader.common import guarded_read
from core.reader.protowire import WireError
from core.reader.registry import Reader, register
from core.reader.savedmodel_objects import SavedModelDir, Variable, read_keras_metadata, read_object_graph
from core.reader.upgrading import parse_legacy_config

__all__ = ["load_saved_model_dir", "read", "read_config", "sniff"]


def sniff(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "saved_model.pb")) or os.path.isfile(
        os.path.join(path, "keras_metadata.pb")
    )


def read(path: str) -> ModelGraph:
    return guarded_read(path, _read)


def read_config(path: str) -> Any:
    """The model config from ``keras_metadata.pb`` as JSON values (before the upgrade)."""
    return guarded_read(path, lambda p: load_saved_model_dir(p).root_config)


def _read(path: str) -> ModelGraph:
    saved = load_saved_model_dir(path)
    return parse_legacy_config(saved.root_config, _WeightLookup(saved), "savedmodel", path)


def load_saved_model_dir(path: str) -> SavedModelDir:
    """Parse ``keras_metadata.pb`` and ``saved_model.pb``; one-line ``ModelFileError``s."""
    metadata_path = os.path.join(path, "keras_metadata.pb")
    if not os.path.isfile(metadata_path):
        raise ModelFileError(
            path, "is a plain TensorFlow SavedModel (no keras_metadata.pb): it has no Keras layer graph to read"
        )
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise ModelFileError(path, "has keras_metadata.pb but no saved_model.pb: not a complete SavedModel")
    if not os.path.isfile(os.path.join(path, "variables", "variables.index")):
        raise ModelFileError(path, "has no variables/ folder (variables/variables.index): the weights are missing")
    try:
        with open(metadata_path, "rb") as handle:
            metadata = read_keras_metadata(handle.read())
    except (WireError, UnicodeDecodeError, ValueError) as error:
        raise ModelFileError(path, f"keras_metadata.pb is corrupt ({error})") from None
    root = next((meta for node_path, meta in metadata.values() if node_path == "root"), None)
    if root is None or not isinstance(root.get("config"), dict) or "class_name" not in root:
        raise ModelFileError(path, "keras_metadata.pb has no model config on its root node")
    try:
        with open(os.path.join(path, "saved_model.pb"), "rb") as handle:
            nodes = read_object_graph(handle.read())
    except (WireError, UnicodeDecodeError) as error:
        raise ModelFileError(path, f"saved_model.pb is corrupt ({error})") from None
    config = {"class_name": root["class_name"], "config": root["config"]}
    return SavedModelDir(path, config, metadata, nodes)


class _WeightLookup:
    """``WeightLookup`` for the config parser: a layer's variables by its name path."""

    def __init__(self, saved: SavedModelDir) -> None:
        self.saved = saved
        self._models: dict[tuple[str, ...], dict[str, tuple[int, list[Variable]]]] = {}

    def _layers(self, model_path: tuple[str, ...]) -> dict[str, tuple[int, list[Variable]]]:
        if model_path not in self._models:
            if not model_path:
                self._models[model_path] = self.saved.layer_weights(0)
            else:
                parent = self._layers(model_path[:-1])
                node = parent.get(model_path[-1])
                self._models[model_path] = self.saved.layer_weights(node[0]) if node else {}
        return self._models[model_path]

    def __call__(
        self, name_path: tuple[str, ...], group: str, entry: dict[str, Any], trainable: bool
    ) -> tuple[Weight, ...]:
        found = self._layers(name_path[:-1]).get(name_path[-1])
        if found is None:
            return ()
        layer = name_path[-1]
        return tuple(
            Weight(
                name=v.name.split(":")[0].removeprefix(layer + "/"),
                shape=v.shape,
                dtype=v.dtype,
                trainable=trainable and v.trainable,
                h5_path=v.key,
            )
            for v in found[1]
        )


READER = register(Reader("savedmodel", "a tf.keras SavedModel directory", "directory", sniff, read, read_config))
