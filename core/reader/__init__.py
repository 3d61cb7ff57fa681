"""Read a Keras model file (``.keras`` or legacy ``.h5``) into a ``ModelGraph``.

Metadata only: the config JSON and the weight shapes. No class from the file is
imported, no code runs, no weight values are loaded, nothing is extracted.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any, BinaryIO

import h5py

from core.errors import ModelFileError
from core.graph import ModelGraph
from core.perf import paused_gc
from core.reader.archive import check_member_names, open_member
from core.reader.bounded import MAX_CONFIG_BYTES, BoundedReadError, check_member, open_regular, read_member
from core.reader.config_parser import ConfigError, parse_model_config
from core.reader.sliced_json import loads_sliced
from core.reader.weight_index import KerasWeightIndex, LegacyWeightIndex, check_all_links
from core.trust import TrustRule

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")

__all__ = ["check_weight_links", "read_config", "read_model", "sniff_format"]


def sniff_format(path: str) -> str:
    """``"keras"`` or ``"h5"`` from the file's first bytes (never from its name)."""
    if os.path.isdir(path):
        raise ModelFileError(path, "is a directory, not a .keras or .h5 model file")
    try:
        with open_regular(path) as handle:
            head = handle.read(8)
    except FileNotFoundError:
        raise ModelFileError(path, "no such file") from None
    except BoundedReadError as error:
        raise ModelFileError(path, str(error)) from None
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
    except BoundedReadError as error:
        raise ModelFileError(path, str(error)) from None
    except ConfigError as error:
        raise ModelFileError(path, f"unreadable model config: {error}") from None
    except RecursionError:
        raise ModelFileError(path, "unreadable model config: it nests too deeply") from None
    except (OverflowError, UnicodeError) as error:
        raise ModelFileError(path, f"unreadable model config: {type(error).__name__}: {_first_line(error)}") from None
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
            with open_regular(path) as raw, _zip(path, raw) as archive:
                return _load_json(path, _read_member(path, archive, "config.json"), "config.json")
        with h5py.File(path, "r") as h5:
            return _load_json(path, _h5_config_text(path, h5), "model_config")
    except ModelFileError:
        raise
    except BoundedReadError as error:
        raise ModelFileError(path, str(error)) from None
    except OSError as error:
        raise ModelFileError(path, f"is corrupt or truncated ({_first_line(error)})") from None


def check_weight_links(path: str | os.PathLike[str]) -> None:
    """Refuse a model whose weights file holds a soft or external link anywhere: Keras
    (through h5py) follows them, and an external link may name a FIFO that blocks."""
    path = os.fspath(path)
    fmt = sniff_format(path)
    try:
        if fmt == "keras":
            with open_regular(path) as raw, _zip(path, raw) as archive:
                if "model.weights.h5" not in set(archive.namelist()):
                    return
                check_member(archive.getinfo("model.weights.h5"), None)
                with open_member(archive, raw, "model.weights.h5") as member, h5py.File(member, "r") as h5:
                    check_all_links(h5)
            return
        with h5py.File(path, "r") as h5:
            check_all_links(h5)
    except ModelFileError:
        raise
    except BoundedReadError as error:
        raise ModelFileError(path, str(error)) from None
    except OSError as error:
        raise ModelFileError(path, f"has an unreadable weights file ({_first_line(error)})") from None


def _zip(path: str, raw: BinaryIO) -> zipfile.ZipFile:
    """The archive, its member names checked, with a config.json."""
    try:
        archive = zipfile.ZipFile(raw)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError):
        raise ModelFileError(path, "is a truncated or corrupt zip archive") from None
    unsafe = check_member_names(archive)
    if unsafe is not None:
        archive.close()
        raise ModelFileError(path, f"has an unsafe entry name {unsafe!r}; refusing to open it")
    if "config.json" not in set(archive.namelist()):
        archive.close()
        raise ModelFileError(path, "has no config.json: not a Keras .keras model")
    return archive


def _h5_config_text(path: str, h5: h5py.File) -> str:
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


def _read_keras(path: str) -> ModelGraph:
    with open_regular(path) as raw, _zip(path, raw) as archive:
        text = _read_member(path, archive, "config.json")
        rule = TrustRule()
        rule.prescan(text)
        root = _load_json(path, text, "config.json")
        del text
        if "model.weights.h5" not in set(archive.namelist()):
            raise ModelFileError(path, "has no model.weights.h5: not a complete Keras .keras model")
        try:
            check_member(archive.getinfo("model.weights.h5"), None)
            member = open_member(archive, raw, "model.weights.h5")
            h5 = h5py.File(member, "r")
        except (OSError, zipfile.BadZipFile) as error:
            raise ModelFileError(path, f"has an unreadable model.weights.h5 ({_first_line(error)})") from None
        with member, h5:  # weight shapes are looked up while the config is parsed
            try:
                return parse_model_config(root, KerasWeightIndex(h5), "keras", path, consume=True, rule=rule)
            except OSError as error:
                raise ModelFileError(path, f"has an unreadable model.weights.h5 ({_first_line(error)})") from None


def _read_h5(path: str) -> ModelGraph:
    try:
        h5 = h5py.File(path, "r")
    except OSError as error:
        raise ModelFileError(path, f"is a corrupt or truncated HDF5 file ({_first_line(error)})") from None
    with h5:
        text = _h5_config_text(path, h5)
        rule = TrustRule()
        rule.prescan(text)
        root = _load_json(path, text, "model_config")
        del text
        return parse_model_config(root, LegacyWeightIndex(h5), "h5", path, consume=True, rule=rule)


def _read_member(path: str, archive: zipfile.ZipFile, name: str) -> str:
    try:
        return read_member(archive, name, MAX_CONFIG_BYTES).decode("utf8")
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as error:
        raise ModelFileError(path, f"has a corrupt {name} ({_first_line(error)})") from None
    except UnicodeDecodeError:
        raise ModelFileError(path, f"{name} is not UTF-8 text") from None


def _load_json(path: str, text: str, what: str) -> Any:
    try:
        return loads_sliced(text)
    except json.JSONDecodeError as error:
        raise ModelFileError(path, f"{what} is not valid JSON (line {error.lineno}, column {error.colno})") from None
    except ValueError as error:  # an integer of more than 4,300 digits
        raise ModelFileError(path, f"{what} is not a valid model config ({_first_line(error)})") from None
    except RecursionError:
        raise ModelFileError(path, f"{what} nests too deeply to be a model config") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
