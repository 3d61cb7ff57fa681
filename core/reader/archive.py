"""Safe access to a ``.keras`` zip: its config without extracting anything, and its
weights file opened in place (a window onto the zip for stored members, a lazily
decompressing stream otherwise), so opening a model never copies its weights."""

from __future__ import annotations

import io
import os
import struct
import zipfile
from typing import IO, BinaryIO

_LOCAL_HEADER = struct.Struct("<4s22xHH")


class MemberWindow(io.RawIOBase):
    """A read-only, seekable view of ``size`` bytes of ``raw`` starting at ``start``."""

    def __init__(self, raw: BinaryIO, start: int, size: int) -> None:
        self._raw = raw
        self._start = start
        self._size = size
        self._pos = 0
        try:
            self._fd: int | None = raw.fileno() if hasattr(os, "preadv") else None
        except (AttributeError, OSError, io.UnsupportedOperation):
            self._fd = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = max(0, min(len(buffer), self._size - self._pos))
        if count == 0:
            return 0
        if self._fd is not None:  # straight into the buffer, no seek: HDF5 reads a lot
            got = os.preadv(self._fd, [memoryview(buffer)[:count]], self._start + self._pos)
        else:
            self._raw.seek(self._start + self._pos)
            data = self._raw.read(count)
            got = len(data)
            buffer[:got] = data
        self._pos += got
        return got


def check_member_names(archive: zipfile.ZipFile) -> str | None:
    """The first entry name that would escape an extraction folder, if any."""
    for name in archive.namelist():
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
            return name
    return None


def open_member(archive: zipfile.ZipFile, raw: BinaryIO, name: str) -> IO[bytes]:
    """Open one member for random access without reading it whole."""
    info = archive.getinfo(name)
    if info.compress_type == zipfile.ZIP_STORED:
        raw.seek(info.header_offset)
        header = raw.read(_LOCAL_HEADER.size)
        signature, name_length, extra_length = _LOCAL_HEADER.unpack(header)
        if signature != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"bad local header for {name}")
        start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
        return io.BufferedReader(MemberWindow(raw, start, info.file_size), buffer_size=64 * 1024)
    return archive.open(name)
