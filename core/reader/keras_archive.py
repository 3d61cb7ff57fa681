"""Reader for Keras 3 ``.keras`` files: a zip of ``config.json``, ``metadata.json`` and
``model.weights.h5``, read in place (nothing extracted, no weight values loaded)."""

from __future__ import annotations

import zipfile
from typing import Any

import h5py

from core.errors import ModelFileError
from core.graph import ModelGraph
from core.reader.archive import check_member_names, open_member
from core.reader.common import first_line, guarded_read, load_json, read_head
from core.reader.config_parser import parse_model_config
from core.reader.registry import Reader, register
from core.reader.upgrading import needs_upgrade, parse_legacy_config
from core.reader.weight_index import KerasWeightIndex

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")

# A config whose top level is not a Functional / Sequential graph (a KerasHub Backbone
# or Task: code-defined, its config holds hyperparameters) is handed to this parser.
CodeDefinedParser = Any  # (root, h5 file, fmt, path) -> ModelGraph | None
_code_defined: list[CodeDefinedParser] = []


def register_code_defined(parser: CodeDefinedParser) -> None:
    """Let a module (``core.reader.keras_hub``) read code-defined models in ``.keras`` files."""
    if parser not in _code_defined:
        _code_defined.append(parser)


def sniff(path: str) -> bool:
    return read_head(path, 4).startswith(ZIP_SIGNATURES)


def read(path: str) -> ModelGraph:
    return guarded_read(path, _read)


def _read(path: str) -> ModelGraph:
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
            root = load_json(path, _read_member(path, archive, "config.json"), "config.json")
            if "model.weights.h5" not in names:
                raise ModelFileError(path, "has no model.weights.h5: not a complete Keras .keras model")
            try:
                member = open_member(archive, raw, "model.weights.h5")
                h5 = h5py.File(member, "r")
            except (OSError, zipfile.BadZipFile) as error:
                raise ModelFileError(path, f"has an unreadable model.weights.h5 ({first_line(error)})") from None
            with member, h5:  # weight shapes are looked up while the config is parsed
                try:
                    for parser in _code_defined:
                        graph = parser(root, h5, "keras", path)
                        if graph is not None:
                            return graph
                    if needs_upgrade(root, "keras"):  # a tf.keras 2.13-2.15 archive
                        return parse_legacy_config(root, KerasWeightIndex(h5), "keras", path)
                    return parse_model_config(root, KerasWeightIndex(h5), "keras", path, consume=True)
                except OSError as error:
                    raise ModelFileError(path, f"has an unreadable model.weights.h5 ({first_line(error)})") from None


def read_config(path: str) -> Any:
    """``config.json`` as JSON values."""
    try:
        with open(path, "rb") as raw:
            try:
                archive = zipfile.ZipFile(raw)
            except zipfile.BadZipFile:
                raise ModelFileError(path, "is a truncated or corrupt zip archive") from None
            with archive:
                if "config.json" not in set(archive.namelist()):
                    raise ModelFileError(path, "has no config.json: not a Keras .keras model")
                return load_json(path, _read_member(path, archive, "config.json"), "config.json")
    except OSError as error:
        raise ModelFileError(path, f"is corrupt or truncated ({first_line(error)})") from None


def _read_member(path: str, archive: zipfile.ZipFile, name: str) -> str:
    try:
        return archive.read(name).decode("utf8")
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise ModelFileError(path, f"has a corrupt {name} ({first_line(error)})") from None
    except UnicodeDecodeError:
        raise ModelFileError(path, f"{name} is not UTF-8 text") from None


READER = register(Reader("keras", "a .keras zip archive", "file", sniff, read, read_config))
