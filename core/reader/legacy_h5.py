"""Reader for legacy HDF5 model files (``model.save("m.h5")``): ``model_config`` as an
attribute, weights under ``model_weights``."""

from __future__ import annotations

from typing import Any

import h5py

from core.errors import ModelFileError
from core.graph import ModelGraph
from core.reader.common import first_line, guarded_read, load_json, read_head
from core.reader.registry import Reader, register
from core.reader.upgrading import parse_legacy_config
from core.reader.weight_index import LegacyWeightIndex

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def sniff(path: str) -> bool:
    return read_head(path, 8) == HDF5_SIGNATURE


def read(path: str) -> ModelGraph:
    return guarded_read(path, _read)


def read_config(path: str) -> Any:
    """The ``model_config`` attribute as JSON values."""
    try:
        with h5py.File(path, "r") as h5:
            raw_config = h5.attrs.get("model_config")
            if raw_config is None:
                raise ModelFileError(path, "is an HDF5 file without a Keras model_config: not a Keras model")
            if isinstance(raw_config, bytes):
                raw_config = raw_config.decode("utf8", errors="replace")
            return load_json(path, str(raw_config), "model_config")
    except OSError as error:
        raise ModelFileError(path, f"is corrupt or truncated ({first_line(error)})") from None


def _read(path: str) -> ModelGraph:
    try:
        h5 = h5py.File(path, "r")
    except OSError as error:
        raise ModelFileError(path, f"is a corrupt or truncated HDF5 file ({first_line(error)})") from None
    with h5:
        raw_config = h5.attrs.get("model_config")
        if raw_config is None:
            # Keras 2 save_weights: layer_names; Keras 3 .weights.h5: top-level layers/ and vars/
            if "layer_names" in h5.attrs or "model_weights" in h5 or ("layers" in h5 and "vars" in h5):
                raise ModelFileError(path, "is a weights-only HDF5 file (no model_config); open the full model file")
            raise ModelFileError(path, "is an HDF5 file without a Keras model_config: not a Keras model")
        if isinstance(raw_config, bytes):
            raw_config = raw_config.decode("utf8", errors="replace")
        root = load_json(path, str(raw_config), "model_config")
        return parse_legacy_config(root, LegacyWeightIndex(h5), "h5", path)


READER = register(Reader("h5", "a legacy HDF5 model file", "file", sniff, read, read_config))
