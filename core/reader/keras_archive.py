"""Reader for Keras 3 ``.keras`` files: a zip of ``config.json``, ``metadata.json`` and
``model.weights.h5``, read in place (nothing extracted, no weight values loaded), every
member read bounded (``core.reader.bounded``) and the weights file through hard links only."""

from __future__ import annotations

import contextlib
import zipfile
from collections.abc import Iterator
from typing import IO, Any, BinaryIO

import h5py

from resect.core.errors import ModelFileError
from resect.core.graph import ModelGraph
from resect.core.reader.archive import check_member_names, open_member
from resect.core.reader.bounded import MAX_CONFIG_BYTES, check_member, open_regular, read_member
from resect.core.reader.common import first_line, load_config, read_head
from resect.core.reader.config_parser import parse_model_config
from resect.core.reader.registry import Reader, guarded, register
from resect.core.reader.sliced_json import decode_sliced
from resect.core.reader.upgrading import needs_upgrade, parse_legacy_config, upgraded_config
from resect.core.reader.weight_index import KerasWeightIndex, check_all_links

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
WEIGHTS = "model.weights.h5"

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
    return guarded(path, _read)


def read_config(path: str) -> Any:
    """``config.json`` as Keras will deserialise it (upgraded for a tf.keras 2 archive)."""
    with _archive(path) as (_, archive):
        root, _ = load_config(path, _read_member(path, archive, "config.json"), "config.json")
    return upgraded_config(root) if needs_upgrade(root, "keras") else root


def check_links(path: str) -> None:
    """Refuse a ``model.weights.h5`` holding a soft or external link anywhere: Keras
    (through h5py) follows them, and an external link may name a FIFO that blocks."""
    with _archive(path) as (raw, archive), _weights(path, archive, raw) as h5:
        if h5 is not None:
            check_all_links(h5)


def _read(path: str) -> ModelGraph:
    with _archive(path) as (raw, archive):
        root, rule = load_config(path, _read_member(path, archive, "config.json"), "config.json")
        with _weights(path, archive, raw) as h5:
            if h5 is None:
                raise ModelFileError(path, f"has no {WEIGHTS}: not a complete Keras .keras model")
            try:  # weight shapes are looked up while the config is parsed
                for parser in _code_defined:
                    graph = parser(root, h5, "keras", path)
                    if graph is not None:
                        return graph
                if needs_upgrade(root, "keras"):  # a tf.keras 2.13-2.15 archive
                    return parse_legacy_config(root, KerasWeightIndex(h5), "keras", path)
                return parse_model_config(root, KerasWeightIndex(h5), "keras", path, consume=True, rule=rule)
            except OSError as error:
                raise ModelFileError(path, f"has an unreadable {WEIGHTS} ({first_line(error)})") from None


@contextlib.contextmanager
def _archive(path: str) -> Iterator[tuple[BinaryIO, zipfile.ZipFile]]:
    """The archive (a regular file, opened without blocking), its member names checked,
    with a ``config.json``."""
    with open_regular(path) as raw:
        try:
            archive = zipfile.ZipFile(raw)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError):
            raise ModelFileError(path, "is a truncated or corrupt zip archive") from None
        with archive:
            unsafe = check_member_names(archive)
            if unsafe is not None:
                raise ModelFileError(path, f"has an unsafe entry name {unsafe!r}; refusing to open it")
            if "config.json" not in set(archive.namelist()):
                raise ModelFileError(path, "has no config.json: not a Keras .keras model")
            yield raw, archive


@contextlib.contextmanager
def _weights(path: str, archive: zipfile.ZipFile, raw: BinaryIO) -> Iterator[h5py.File | None]:
    """``model.weights.h5`` opened in place (``None`` when the archive has none)."""
    if WEIGHTS not in set(archive.namelist()):
        yield None
        return
    check_member(archive.getinfo(WEIGHTS), None)
    try:
        member: IO[bytes] = open_member(archive, raw, WEIGHTS)
        h5 = h5py.File(member, "r")
    except (OSError, zipfile.BadZipFile) as error:
        raise ModelFileError(path, f"has an unreadable {WEIGHTS} ({first_line(error)})") from None
    with member, h5:
        yield h5


def _read_member(path: str, archive: zipfile.ZipFile, name: str) -> str:
    try:
        return decode_sliced(read_member(archive, name, MAX_CONFIG_BYTES))
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as error:
        raise ModelFileError(path, f"has a corrupt {name} ({first_line(error)})") from None
    except UnicodeDecodeError:
        raise ModelFileError(path, f"{name} is not UTF-8 text") from None


READER = register(Reader("keras", "a .keras zip archive", "file", sniff, read, read_config, check_links))
