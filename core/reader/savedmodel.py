"""Reader for tf.keras SavedModel directories (``model.save(path)`` in TF 2.0-2.12).

The model config comes from ``keras_metadata.pb`` and the weight shapes from the
object graph in ``saved_model.pb`` (``core.reader.savedmodel_objects``), both read
with a small protocol-buffer reader: no TensorFlow, so the graph shows at once. Weight
values stay in the checkpoint ``variables/``; the Keras backend reads them by the keys
recorded on each ``Weight`` (``h5_path``). A directory without ``keras_metadata.pb`` is
a plain TensorFlow SavedModel: it has no Keras layer graph to show, and is refused.

Every file is read bounded (``core.reader.bounded``: regular files only, opened without
blocking, size caps); before Keras/TensorFlow reads the checkpoint, every entry under
``variables/`` must be a regular file or a folder (``check_links``).
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING, Any

from resect.core.errors import ModelFileError
from resect.core.graph import ModelGraph, Weight
from resect.core.reader.bounded import MAX_DIRECTORY_ENTRIES, MAX_SAVED_MODEL_PB_BYTES, describe_mode, read_regular
from resect.core.reader.protowire import WireError
from resect.core.reader.registry import Reader, guarded, register
from resect.core.reader.upgrading import parse_legacy_config, upgraded_config

if TYPE_CHECKING:  # the object-graph reader is imported when a SavedModel is read, not at start-up
    from resect.core.reader.savedmodel_objects import SavedModelDir, Variable

__all__ = ["check_links", "load_saved_model_dir", "read", "read_config", "sniff"]


def sniff(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "saved_model.pb")) or os.path.isfile(
        os.path.join(path, "keras_metadata.pb")
    )


def read(path: str) -> ModelGraph:
    return guarded(path, _read)


def read_config(path: str) -> Any:
    """The root config of ``keras_metadata.pb`` as Keras 3 will deserialise it (upgraded)."""
    return upgraded_config(_root_config(path))


def check_links(path: str) -> None:
    """Refuse a SavedModel whose ``variables/`` holds anything but regular files and
    folders (TensorFlow's checkpoint reader would open a FIFO and block, or a device)."""
    for name in ("keras_metadata.pb", "saved_model.pb"):
        _check_regular(path, os.path.join(path, name), name)
    variables = os.path.join(path, "variables")
    _check_regular(path, os.path.join(variables, "variables.index"), "variables/variables.index")
    seen = 0
    for folder, dirs, files in os.walk(variables):  # symlinked folders are not followed
        for name in dirs + files:
            seen += 1
            if seen > MAX_DIRECTORY_ENTRIES:
                raise ModelFileError(path, f"variables/ holds more than {MAX_DIRECTORY_ENTRIES} entries")
            full = os.path.join(folder, name)
            if name in dirs and os.path.islink(full):
                raise ModelFileError(path, f"{os.path.relpath(full, path)} is a symbolic link to a folder")
            if name in files:
                _check_regular(path, full, os.path.relpath(full, path))


def _read(path: str) -> ModelGraph:
    saved = load_saved_model_dir(path)
    return parse_legacy_config(saved.root_config, _WeightLookup(saved), "savedmodel", path)


def load_saved_model_dir(path: str) -> SavedModelDir:
    """Parse ``keras_metadata.pb`` and ``saved_model.pb``; one-line ``ModelFileError``s."""
    from resect.core.reader.savedmodel_objects import SavedModelDir, read_keras_metadata, read_object_graph

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
        metadata = read_keras_metadata(_read_pb(path, metadata_path))
    except (WireError, UnicodeDecodeError, ValueError) as error:
        raise ModelFileError(path, f"keras_metadata.pb is corrupt ({error})") from None
    root = next((meta for node_path, meta in metadata.values() if node_path == "root"), None)
    if root is None or not isinstance(root.get("config"), dict) or "class_name" not in root:
        raise ModelFileError(path, "keras_metadata.pb has no model config on its root node")
    try:
        nodes = read_object_graph(_read_pb(path, os.path.join(path, "saved_model.pb")))
    except (WireError, UnicodeDecodeError) as error:
        raise ModelFileError(path, f"saved_model.pb is corrupt ({error})") from None
    config = {"class_name": root["class_name"], "config": root["config"]}
    return SavedModelDir(path, config, metadata, nodes)


def _root_config(path: str) -> dict[str, Any]:
    return load_saved_model_dir(path).root_config


def _read_pb(path: str, file: str) -> bytes:
    """One protocol-buffer file of the SavedModel, read bounded (``BoundedReadError``
    names the file: the message starts with it)."""
    try:
        return read_regular(file, MAX_SAVED_MODEL_PB_BYTES)
    except ValueError as error:  # BoundedReadError
        raise ModelFileError(path, f"{os.path.basename(file)} {error}") from None


def _check_regular(path: str, file: str, name: str) -> None:
    try:
        mode = os.stat(file).st_mode
    except OSError as error:
        raise ModelFileError(path, f"{name} cannot be read ({error.strerror or error})") from None
    if not stat.S_ISREG(mode):
        raise ModelFileError(path, f"{name} is not a regular file (a {describe_mode(mode)}); refusing to read it")


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


READER = register(
    Reader("savedmodel", "a tf.keras SavedModel directory", "directory", sniff, read, read_config, check_links)
)
