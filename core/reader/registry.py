"""One registry of model readers: each input format is one module with a ``READER``.

A reader says from a path's *content* whether it is its format (``sniff``, cheap, never
raises for a path of another format), reads it into a ``ModelGraph`` (``read``,
metadata only, never imports a class from the file) and gives its raw config
(``read_config``, for the trust check before Keras opens the file). ``read_model`` and
``sniff_format`` ask the registry; nothing downstream switches on the format, it only
carries ``graph.format`` for display and for the Keras-side loader registry.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.errors import ModelFileError
from core.graph import ModelGraph

__all__ = ["Reader", "READERS", "register", "reader_for"]


@dataclass(frozen=True)
class Reader:
    """One input format. ``kind`` is ``"file"`` or ``"directory"``."""

    format: str  # the value of ``ModelGraph.format`` and of ``inspect --json``'s "format"
    description: str  # for error messages: "a .keras zip archive"
    kind: str
    sniff: Callable[[str], bool]
    read: Callable[[str], ModelGraph]
    read_config: Callable[[str], Any]  # the model config as JSON values (the trust check reads it)


READERS: list[Reader] = []


def register(reader: Reader) -> Reader:
    """Add ``reader`` (replacing one of the same format): import its module to register it."""
    READERS[:] = [r for r in READERS if r.format != reader.format] + [reader]
    return reader


def reader_for(path: str) -> Reader:
    """The reader whose ``sniff`` accepts ``path``; a one-line ``ModelFileError`` otherwise."""
    if not os.path.exists(path):
        raise ModelFileError(path, "no such file")
    is_dir = os.path.isdir(path)
    if not is_dir:
        try:
            if os.path.getsize(path) == 0:
                raise ModelFileError(path, "is empty")
            with open(path, "rb"):
                pass
        except PermissionError as error:
            raise ModelFileError(path, f"cannot be read ({error.strerror or error})") from None
    kind = "directory" if is_dir else "file"
    candidates = [r for r in READERS if r.kind == kind]
    for reader in candidates:
        if reader.sniff(path):
            return reader
    expected = " nor ".join(r.description for r in candidates) or "a known model format"
    if is_dir:
        raise ModelFileError(path, f"is a directory, but not a Keras model directory (neither {expected})")
    raise ModelFileError(path, f"is not a Keras model (neither {expected})")
