"""Parse a large model config in slices, so other threads get the GIL between layers.

``json.loads`` of a 20,000-layer config (13.6 MB) is one C call of about 100 ms that holds
the GIL: while the app reads a model on a worker thread, its UI thread could not run for
that long. Decoding the top-level ``layers`` list one element at a time gives the
interpreter a switch point between slices. Anything unexpected falls back to a plain
``json.loads``, so the result is always exactly what ``json.loads`` returns.

Layers are decoded a batch at a time (about 256 KB of text, some hundreds of layers), not
one by one: the decoder shares one string per distinct key only within a call, so one
call per layer gave every layer its own ``"class_name"``, ``"config"``... strings, 20 MB
more than ``json.loads`` at 20,000 layers (83 MB against 63 MB).
"""

from __future__ import annotations

import codecs
import json
from typing import Any

SLICE_ABOVE = 1 << 20  # bytes: smaller configs parse in well under 10 ms
BATCH = 1 << 18  # characters of layers decoded per call: a few ms holding the GIL
_DECODER = json.JSONDecoder()
_MARKER = '"layers": ['
_SPACE = " \t\n\r"


def decode_sliced(data: bytes) -> str:
    """``data.decode("utf8")`` (same errors), a megabyte at a time: decoding 13.6 MB in one
    call holds the GIL for about 10 ms, more on a loaded machine."""
    if len(data) < SLICE_ABOVE:
        return data.decode("utf8")
    decoder = codecs.getincrementaldecoder("utf8")()
    view = memoryview(data)
    pieces = [decoder.decode(view[i : i + SLICE_ABOVE]) for i in range(0, len(data), SLICE_ABOVE)]
    pieces.append(decoder.decode(b"", final=True))
    return "".join(pieces)


def loads_sliced(text: str) -> Any:
    """``json.loads(text)``, decoding the top-level ``config.layers`` list layer by layer."""
    if len(text) < SLICE_ABOVE:
        return json.loads(text)
    start = text.find(_MARKER)
    if start < 0:
        return json.loads(text)
    position = start + len(_MARKER)
    layers: list[Any] = []
    single_until = position  # after a batch failed: one layer at a time up to its cut
    # between two layers: "}, " (json.dumps' separator) and how the first layer begins
    # ('{"module": "' in Keras 3), which the objects inside a layer rarely repeat
    between = "}, " + text[_skip_space(text, position) :][:12]
    while True:
        position = _skip_space(text, position)
        if text.startswith("]", position):
            end = position + 1
            break
        batch = _decode_batch(text, position, between) if position >= single_until else None
        if isinstance(batch, int):
            single_until, batch = batch, None
        if batch is not None:
            layers.extend(batch[0])
            position = batch[1]
        else:
            layer, position = _DECODER.raw_decode(text, position)
            layers.append(layer)
        position = _skip_space(text, position)
        if text.startswith(",", position):
            position += 1
        elif not text.startswith("]", position):
            return json.loads(text)  # raises the usual error with its line and column
    root = json.loads(text[: start + len(_MARKER)] + "]" + text[end:])
    config = root.get("config") if isinstance(root, dict) else None
    if not isinstance(config, dict) or config.get("layers") != []:
        return json.loads(text)  # the marker was not the model's own layer list
    config["layers"] = layers
    return root


def _decode_batch(text: str, position: int, between: str) -> tuple[list[Any], int] | int | None:
    """The layers from ``position`` (the start of one) to a cut about ``BATCH`` characters
    on, and the position after them; ``None`` near the end of the text. A cut that is not
    between two top-level layers (inside a nested model's list or a string) fails to
    parse: then the cut's position is returned and the caller goes one layer at a time
    past it. A batch that parses is exactly the layers ``raw_decode`` would read one by
    one, since each value is read from a layer's start."""
    cut = text.find(between, position + BATCH)
    if cut < 0:
        return None
    try:
        return json.loads("[" + text[position : cut + 1] + "]"), cut + 1
    except ValueError:  # JSONDecodeError, or a huge integer (raised again layer by layer)
        return cut


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in _SPACE:
        position += 1
    return position
