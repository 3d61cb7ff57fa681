"""Read a model (``.keras``, legacy ``.h5``, a tf.keras SavedModel directory, ...) into a
``ModelGraph``, through the reader registry (``core.reader.registry``).

Metadata only: the config JSON and the weight shapes. No class from the file is
imported, no code runs, no weight values are loaded, nothing is extracted. Every reader
reads bounded (``core.reader.bounded``) and its errors become one line in one place
(``registry.guarded``). A new format is one module that calls ``register`` and is
imported below.
"""

from __future__ import annotations

import os
from typing import Any

from resect.core.errors import ModelFileError
from resect.core.graph import ModelGraph
from resect.core.reader import keras_archive, keras_hub_models, legacy_h5, savedmodel  # noqa: F401 - each registers its reader
from resect.core.reader.registry import READERS, Reader, guarded, reader_for

__all__ = ["READERS", "Reader", "check_weight_links", "read_config", "read_model", "reader_for", "sniff_format"]


def sniff_format(path: str | os.PathLike[str]) -> str:
    """The format name (``"keras"``, ``"h5"``, ...) from the content, never the name;
    raises ``ModelFileError`` with a one-line reason when no reader accepts ``path``.
    Never blocks on a FIFO or a device (refused: regular files and folders only)."""
    return reader_for(os.fspath(path)).format


def read_model(path: str | os.PathLike[str]) -> ModelGraph:
    """Read the model at ``path``; raises ``ModelFileError`` with a one-line reason."""
    path = os.fspath(path)
    return guarded(path, reader_for(path).read)


def read_config(path: str | os.PathLike[str]) -> Any:
    """The model config of ``path`` as JSON values, as Keras will deserialise it, read the
    same bounded way as ``read_model`` (the Keras loader checks every object in it
    against the trust rule before Keras runs)."""
    path = os.fspath(path)
    reader = reader_for(path)
    if reader.read_config is None:
        raise ModelFileError(path, f"is {reader.description}, which Resect cannot check before Keras loads it")
    return guarded(path, reader.read_config)


def check_weight_links(path: str | os.PathLike[str]) -> None:
    """Refuse a model whose weight files hold a soft or external HDF5 link, a FIFO or a
    device anywhere: Keras and TensorFlow follow them, and a FIFO blocks."""
    path = os.fspath(path)
    reader = reader_for(path)
    if reader.check_links is None:
        raise ModelFileError(path, f"is {reader.description}, whose weight files Resect cannot check")
    guarded(path, reader.check_links)
