"""A minimal protocol-buffer wire-format reader (no generated code, no TensorFlow).

Enough to walk the few messages a tf.keras SavedModel needs (``SavedMetadata`` in
``keras_metadata.pb``, the object graph in ``saved_model.pb``): fields are yielded as
``(number, wire_type, value)`` where a length-delimited value is a ``memoryview`` slice
(nothing copied, so skipping the large graph functions costs nothing).
"""

from __future__ import annotations

from collections.abc import Iterator

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class WireError(ValueError):
    """The bytes are not a valid protocol-buffer message."""


def read_varint(data: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise WireError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise WireError("varint too long")


def fields(data: bytes | memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """Every top-level field of one message, in order."""
    view = memoryview(data)
    pos = 0
    while pos < len(view):
        key, pos = read_varint(view, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire == VARINT:
            value, pos = read_varint(view, pos)
            yield number, wire, value
        elif wire == LENGTH:
            size, pos = read_varint(view, pos)
            if pos + size > len(view):
                raise WireError("truncated length-delimited field")
            yield number, wire, view[pos : pos + size]
            pos += size
        elif wire == FIXED64:
            pos += 8
            yield number, wire, 0
        elif wire == FIXED32:
            pos += 4
            yield number, wire, 0
        else:
            raise WireError(f"unsupported wire type {wire}")
    if pos != len(view):
        raise WireError("truncated message")


def text(value: int | memoryview) -> str:
    if not isinstance(value, memoryview):
        raise WireError("expected a string field")
    return bytes(value).decode("utf8")


def signed(value: int | memoryview) -> int:
    """An ``int32`` / ``int64`` varint (negative values are 10-byte two's complement)."""
    if isinstance(value, memoryview):
        raise WireError("expected a varint field")
    return value - (1 << 64) if value >= 1 << 63 else value
