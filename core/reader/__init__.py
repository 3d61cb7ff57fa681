"""Read a Keras model file (``.keras`` or legacy ``.h5``) into a ``ModelGraph``.

Metadata only: the config JSON and the weight shapes. No class from the file is
imported, no code runs, no weight values are loaded, nothing is extracted.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import h5py

from core.errors import ModelFileError
from core.graph import ModelGraph
from core.perf import paused_gc
from core.reader.archive import check_member_names, open_member
from core.reader.config_parser import ConfigError, parse_model_config
from core.reader.sliced_json import loads_sliced
from core.reader.weight_index import KerasWeightIndex, LegacyWeightIndex

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")

__all__ = ["read_config", "read_model", "sniff_format"]


def sniff_format(path: str) -> str:
    """``"keras"`` or ``"h5"`` from the file's first bytes (never from its name)."""
    if os.path.isdir(path):
        raise ModelFileError(path, "is a directory, not a .keras or .h5 model file")
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except FileNotFoundError:
        raise ModelFileError(path, "no such file") from None
    except OSError as error:
        raise ModelFileError(path, f"cannot be read ({error.strerror or error})") from None
    if not head:
        raise ModelFileError(path, "is empty")
    if head.startswith(ZIP_SIGNATURES):
        return "keras"
    if head == HDF5_SIGNATURE:
        return "h5"
    raise ModelFileError(path, "is not a Keras model (neither a .keras zip archive nor an HDF5 file)")


def read_model(path: str | os.PathLike[str]) -> ModelGraph:
    """Read the model at ``path``; raises ``ModelFileError`` with a one-line reason."""
    path = os.fspath(path)
    fmt = sniff_format(path)
    try:
        with paused_gc():
            return _read_keras(path) if fmt == "keras" else _read_h5(path)
    except ModelFileError:
        raise
    except ConfigError as error:
        raise ModelFileError(path, f"unreadable model config: {error}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise ModelFileError(path, f"unreadable model config: {type(error).__name__}: {error}") from None
    except OSError as error:
        raise ModelFileError(path, f"is corrupt or truncated ({error})") from None


def read_config(path: str | os.PathLike[str]) -> Any:
    """The model config of ``path`` as JSON values, read the same bounded way as
    ``read_model`` (the Keras loader checks every object in it before Keras runs)."""
    path = os.fspath(path)
    fmt = sniff_format(path)
    try:
        if fmt == "keras":
            with open(path, "rb") as raw:
                try:
                    archive = zipfile.ZipFile(raw)
                except zipfile.BadZipFile:
                    raise ModelFileError(path, "is a truncated or corrupt zip archive") from None
                with archive:
                    if "config.json" not in set(archive.namelist()):
                        raise ModelFileError(path, "has no config.json: not a Keras .keras model")
                    return _load_json(path, _read_member(path, archive, "config.json"), "config.json")
        with h5py.File(path, "r") as h5:
            raw_config = h5.attrs.get("model_config")
            if raw_config is None:
                raise ModelFileError(path, "is an HDF5 file without a Keras model_config: not a Keras model")
            if isinstance(raw_config, bytes):
                raw_config = raw_config.decode("utf8", errors="replace")
            return _load_json(path, str(raw_config), "model_config")
    except OSError as error:
        raise ModelFileError(path, f"is corrupt or truncated ({_first_line(error)})") from None


def _read_keras(path: str) -> ModelGraph:
    with open(path, "rb") as raw:
        try:
            archive = zipfile.ZipFile(raw)
        except zipfile.BadZipFile:
            raise ModelFileError(path, "is a truncated or corrupt zip archive") from None
        with archive:
            unsafe = check_member_names(archive)
            if unsafe is not None:
                raise ModelFileError(path, f"has an unsafe entry name {unsafe!r}; refusing to open it")
            names = set(archive.namelist())
            if "config.json" not in names:
                raise ModelFileError(path, "has no config.json: not a Keras .keras model")
            root = _load_json(path, _read_member(path, archive, "config.json"), "config.json")
            if "model.weights.h5" not in names:
                raise ModelFileError(path, "has no model.weights.h5: not a complete Keras .keras model")
            try:
                member = open_member(archive, raw, "model.weights.h5")
                h5 = h5py.File(member, "r")
            except (OSError, zipfile.BadZipFile) as error:
                raise ModelFileError(path, f"has an unreadable model.weights.h5 ({_first_line(error)})") from None
            with member, h5:  # weight shapes are looked up while the config is parsed
                try:
                    return parse_model_config(root, KerasWeightIndex(h5), "keras", path, consume=True)
                except OSError as error:
                    raise ModelFileError(path, f"has an unreadable model.weights.h5 ({_first_line(error)})") from None


def _read_h5(path: str) -> ModelGraph:
    try:
        h5 = h5py.File(path, "r")
    except OSError as error:
        raise ModelFileError(path, f"is a corrupt or truncated HDF5 file ({_first_line(error)})") from None
    with h5:
        raw_config = h5.attrs.get("model_config")
        if raw_config is None:
            # Keras 2 save_weights: layer_names; Keras 3 .weights.h5: top-level layers/ and vars/
            if "layer_names" in h5.attrs or "model_weights" in h5 or ("layers" in h5 and "vars" in h5):
                raise ModelFileError(path, "is a weights-only HDF5 file (no model_config); open the full model file")
            raise ModelFileError(path, "is an HDF5 file without a Keras model_config: not a Keras model")
        if isinstance(raw_config, bytes):
            raw_config = raw_config.decode("utf8", errors="replace")
        root = _load_json(path, str(raw_config), "model_config")
        return parse_model_config(root, LegacyWeightIndex(h5), "h5", path, consume=True)


def _read_member(path: str, archive: zipfile.ZipFile, name: str) -> str:
    try:
        return archive.read(name).decode("utf8")
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise ModelFileError(path, f"has a corrupt {name} ({_first_line(error)})") from None
    except UnicodeDecodeError:
        raise ModelFileError(path, f"{name} is not UTF-8 text") from None


def _load_json(path: str, text: str, what: str) -> Any:
    try:
        return loads_sliced(text)
    except json.JSONDecodeError as error:
        raise ModelFileError(path, f"{what} is not valid JSON (line {error.lineno}, column {error.colno})") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
