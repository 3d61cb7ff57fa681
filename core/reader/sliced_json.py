"""Parse a large model config in slices, so other threads get the GIL between layers.

``json.loads`` of a 20,000-layer config (13.6 MB) is one C call of about 100 ms that holds
the GIL: while the app reads a model on a worker thread, its UI thread could not run for
that long. Decoding the top-level ``layers`` list one element at a time gives the
interpreter a switch point after every layer. Anything unexpected falls back to a plain
``json.loads``, so the result is always exactly what ``json.loads`` returns.
"""

from __future__ import annotations

import json
from typing import Any

SLICE_ABOVE = 1 << 20  # bytes: smaller configs parse in well under 10 ms
_DECODER = json.JSONDecoder()
_MARKER = '"layers": ['
_SPACE = " \t\n\r"


def loads_sliced(text: str) -> Any:
    """``json.loads(text)``, decoding the top-level ``config.layers`` list layer by layer."""
    if len(text) < SLICE_ABOVE:
        return json.loads(text)
    start = text.find(_MARKER)
    if start < 0:
        return json.loads(text)
    position = start + len(_MARKER)
    layers: list[Any] = []
    while True:
        position = _skip_space(text, position)
        if text.startswith("]", position):
            end = position + 1
            break
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


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in _SPACE:
        position += 1
    return position
