"""One registry of model readers: each input format is one module with a ``READER``.

A reader says from a path's *content* whether it is its format (``sniff``, cheap, never
raises for a path of another format) and reads it into a ``ModelGraph`` (``read``,
metadata only, never imports a class from the file). For the Keras loader it also gives
the config Keras will deserialise (``read_config``, checked by the trust rule at every
depth) and checks that its weight files hold nothing Keras or TensorFlow would follow
somewhere else (``check_links``). ``read_model`` and ``sniff_format`` ask the registry;
nothing downstream switches on the format, it only carries ``graph.format``.

Hostile input is refused here once for every reader: ``reader_for`` never opens a FIFO or
a device (regular files and directories only), and ``guarded`` turns every failure a
reader can raise into one ``ModelFileError`` line.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from resect.core.errors import ModelFileError
from resect.core.graph import ModelGraph
from resect.core.perf import paused_gc
from resect.core.reader.bounded import BoundedReadError, describe_mode, open_regular
from resect.core.reader.config_parser import ConfigError

__all__ = ["Reader", "READERS", "guarded", "register", "reader_for"]

T = TypeVar("T")


@dataclass(frozen=True)
class Reader:
    """One input format. ``kind`` is ``"file"`` or ``"directory"``."""

    format: str  # the value of ``ModelGraph.format`` and of ``inspect --json``'s "format"
    description: str  # for error messages: "a .keras zip archive"
    kind: str
    sniff: Callable[[str], bool]
    read: Callable[[str], ModelGraph]
    # the config Keras will deserialise (JSON values), read bounded; None: Keras may not load it
    read_config: Callable[[str], Any] | None = None
    # refuse weight files holding links, FIFOs, devices; None: Keras may not load it
    check_links: Callable[[str], None] | None = None


READERS: list[Reader] = []


def register(reader: Reader) -> Reader:
    """Add ``reader`` (replacing one of the same format): import its module to register it."""
    READERS[:] = [r for r in READERS if r.format != reader.format] + [reader]
    return reader


def reader_for(path: str) -> Reader:
    """The reader whose ``sniff`` accepts ``path``; a one-line ``ModelFileError`` otherwise.
    Never blocks: a FIFO, socket or device is refused from ``stat`` without being opened,
    a regular file is opened non-blocking (``core.reader.bounded``)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ModelFileError(path, "no such file") from None
    except OSError as error:
        raise ModelFileError(path, f"cannot be read ({error.strerror or error})") from None
    is_dir = stat.S_ISDIR(mode)
    if not is_dir:
        if not stat.S_ISREG(mode):
            raise ModelFileError(path, f"is not a regular file (a {describe_mode(mode)}); refusing to read it")
        try:
            with open_regular(path) as handle:
                if not handle.read(1):
                    raise ModelFileError(path, "is empty")
        except BoundedReadError as error:
            raise ModelFileError(path, str(error)) from None
        except OSError as error:
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


def guarded(path: str, call: Callable[[str], T]) -> T:
    """``call(path)`` with every failure a reader can raise on hostile input (a bounded
    read refused, a config that is malformed, nests too deeply or holds huge numbers, a
    corrupt container) turned into one ``ModelFileError`` line naming ``path``. The one
    place this translation lives, for every reader and every kind of read."""
    try:
        with paused_gc():
            return call(path)
    except ModelFileError:
        raise
    except BoundedReadError as error:
        raise ModelFileError(path, str(error)) from None
    except ConfigError as error:
        raise ModelFileError(path, f"unreadable model config: {error}") from None
    except RecursionError:
        raise ModelFileError(path, "unreadable model config: it nests too deeply") from None
    except RuntimeError as error:  # h5py's word for a broken HDF5 structure ("bad heap free list")
        raise ModelFileError(path, f"is corrupt or truncated ({_first_line(error)})") from None
    except (OverflowError, UnicodeError) as error:
        raise ModelFileError(path, f"unreadable model config: {type(error).__name__}: {_first_line(error)}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise ModelFileError(path, f"unreadable model config: {type(error).__name__}: {_first_line(error)}") from None
    except OSError as error:
        raise ModelFileError(path, f"is corrupt or truncated ({_first_line(error)})") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
