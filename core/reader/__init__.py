"""Read a model (``.keras``, legacy ``.h5``, a KerasHub preset directory, ...) into a
``ModelGraph``, through the reader registry (``core.reader.registry``).

Metadata only: the config JSON and the weight shapes. No class from the file is
imported, no code runs, no weight values are loaded, nothing is extracted.
A new format is one module that calls ``register`` and is imported below.
"""

from __future__ import annotations

import os
from typing import Any

from core.graph import ModelGraph
from core.reader import keras_archive, keras_hub_models, legacy_h5, savedmodel  # noqa: F401 - each registers its reader
from core.reader.registry import READERS, Reader, reader_for

__all__ = ["READERS", "Reader", "read_config", "read_model", "reader_for", "sniff_format"]


def sniff_format(path: str | os.PathLike[str]) -> str:
    """The format name (``"keras"``, ``"h5"``, ...) from the content, never the name;
    raises ``ModelFileError`` with a one-line reason when no reader accepts ``path``."""
    return reader_for(os.fspath(path)).format


def read_model(path: str | os.PathLike[str]) -> ModelGraph:
    """Read the model at ``path``; raises ``ModelFileError`` with a one-line reason."""
    path = os.fspath(path)
    return reader_for(path).read(path)


def read_config(path: str | os.PathLike[str]) -> Any:
    """The model config of ``path`` as JSON values, read the same bounded way as
    ``read_model`` (the Keras loader checks every object in it before Keras runs)."""
    path = os.fspath(path)
    return reader_for(path).read_config(path)
