"""Reader for legacy HDF5 model files (``model.save("m.h5")``): ``model_config`` as an
attribute, weights under ``model_weights`` (read through hard links only)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import h5py

from resect.core.errors import ModelFileError
from resect.core.graph import ModelGraph
from resect.core.reader.bounded import MAX_CONFIG_BYTES, open_regular
from resect.core.reader.common import first_line, load_json, read_head
from resect.core.reader.registry import Reader, guarded, register
from resect.core.reader.upgrading import parse_legacy_config, upgraded_config
from resect.core.reader.weight_index import LegacyWeightIndex, check_all_links

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def sniff(path: str) -> bool:
    return read_head(path, 8) == HDF5_SIGNATURE


def read(path: str) -> ModelGraph:
    return guarded(path, _read)


def read_config(path: str) -> Any:
    """``model_config`` as Keras 3 will deserialise it (upgraded: every ``.h5`` is Keras 2)."""
    with _open(path) as h5:
        return upgraded_config(load_json(path, _config_text(path, h5), "model_config"))


def check_links(path: str) -> None:
    """Refuse a file holding a soft or external link anywhere (Keras follows them)."""
    with _open(path) as h5:
        check_all_links(h5)


def _read(path: str) -> ModelGraph:
    with _open(path) as h5:
        text = _config_text(path, h5)
        root = load_json(path, text, "model_config")
        return parse_legacy_config(root, LegacyWeightIndex(h5), "h5", path, text)


@contextlib.contextmanager
def _open(path: str) -> Iterator[h5py.File]:
    """The HDF5 file, after checking (without blocking) that ``path`` is a regular file."""
    open_regular(path).close()
    try:
        h5 = h5py.File(path, "r")
    except OSError as error:
        raise ModelFileError(path, f"is a corrupt or truncated HDF5 file ({first_line(error)})") from None
    with h5:
        yield h5


def _config_text(path: str, h5: h5py.File) -> str:
    raw_config = h5.attrs.get("model_config")
    if raw_config is None:
        # Keras 2 save_weights: layer_names; Keras 3 .weights.h5: top-level layers/ and vars/
        if "layer_names" in h5.attrs or "model_weights" in h5 or ("layers" in h5 and "vars" in h5):
            raise ModelFileError(path, "is a weights-only HDF5 file (no model_config); open the full model file")
        raise ModelFileError(path, "is an HDF5 file without a Keras model_config: not a Keras model")
    if isinstance(raw_config, bytes):
        if len(raw_config) > MAX_CONFIG_BYTES:
            raise ModelFileError(path, "model_config is larger than the size limit; refusing to read it")
        raw_config = raw_config.decode("utf8", errors="replace")
    if not isinstance(raw_config, str):
        raise ModelFileError(path, "model_config is not text")
    if len(raw_config) > MAX_CONFIG_BYTES:
        raise ModelFileError(path, "model_config is larger than the size limit; refusing to read it")
    return raw_config


READER = register(Reader("h5", "a legacy HDF5 model file", "file", sniff, read, read_config, check_links))
