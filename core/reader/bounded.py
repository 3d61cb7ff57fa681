"""One bounded, typed way to read what a user hands us: model files, zip members, recipes.

Regular files only (a FIFO or a device given as a model or a recipe is refused at once,
without blocking in ``open``), sizes capped before anything is held in memory (a 1 MB
``.keras`` whose ``config.json`` inflates to 1 GB is refused, not decompressed), zip
members flagged as encrypted refused. The caps are far above real files: the config of
a 20,000-layer model is 13.6 MB.
"""

from __future__ import annotations

import os
import stat
import zipfile
from typing import BinaryIO

MAX_CONFIG_BYTES = 256 << 20  # config.json / model_config: 19x a 20,000-layer config
MAX_RECIPE_BYTES = 16 << 20  # a recipe of 100,000 edits is about 10 MB
MAX_SMALL_MEMBER_BYTES = 16 << 20  # metadata.json and the like
# a tf.keras SavedModel's saved_model.pb (object graph + traced functions; protobuf's own
# limit is 2 GB, a ResNet50's is about 5 MB) and keras_metadata.pb (every layer's config)
MAX_SAVED_MODEL_PB_BYTES = 1 << 30
MAX_DIRECTORY_ENTRIES = 1 << 16  # files under a SavedModel's variables/ (a few real ones)
# A compressed model.weights.h5 is read through a decompressing stream; refuse one that
# claims to inflate more than this many times (real weights compress about 1.1x).
MAX_COMPRESSION_RATIO = 50
_ENCRYPTED = 0x1  # zip general purpose flag bit 0


class BoundedReadError(ValueError):
    """What is wrong with the input, as the second half of a one-line message."""


def open_regular(path: str) -> BinaryIO:
    """Open ``path`` for binary reading if it is a regular file (symlinks to one are
    fine). Never blocks: the file is opened non-blocking and checked with ``fstat``
    before a byte is read. Raises ``BoundedReadError`` or ``OSError``."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise BoundedReadError("is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise BoundedReadError(f"is not a regular file (a {describe_mode(mode)}); refusing to read it")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str, limit: int) -> bytes:
    """The whole of the regular file ``path``, refused above ``limit`` bytes."""
    with open_regular(path) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise BoundedReadError(f"is larger than {_size(limit)}; refusing to read it")
    return data


def check_member(info: zipfile.ZipInfo, limit: int | None) -> None:
    """Refuse an encrypted member, or one that declares more than ``limit`` bytes or an
    implausible compression ratio (``limit=None``: the ratio alone)."""
    if info.flag_bits & _ENCRYPTED:
        raise BoundedReadError(f"{info.filename} is encrypted; refusing to read it")
    if limit is not None and info.file_size > limit:
        raise BoundedReadError(f"{info.filename} is larger than {_size(limit)}; refusing to read it")
    if (
        info.compress_type != zipfile.ZIP_STORED
        and info.file_size > (1 << 20)
        and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1)
    ):
        raise BoundedReadError(f"{info.filename} inflates {info.file_size // max(info.compress_size, 1)}x; refusing it")


def read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A member's bytes, never more than ``limit`` of them held, whatever its header
    claims (the header's size is checked first, then the stream is cut at the limit)."""
    info = archive.getinfo(name)
    check_member(info, limit)
    with archive.open(info) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise BoundedReadError(f"{name} is larger than {_size(limit)}; refusing to read it")
    return data


def describe_mode(mode: int) -> str:
    """What kind of special file ``mode`` (from ``stat``) is, for an error line."""
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def _size(limit: int) -> str:
    return f"{limit >> 20} MB"
