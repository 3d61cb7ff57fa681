"""Small helpers the format readers share: JSON with one-line errors, bounded heads."""

from __future__ import annotations

import json
from typing import Any

from resect.core.errors import ModelFileError
from resect.core.reader.bounded import open_regular
from resect.core.reader.sliced_json import loads_sliced
from resect.core.trust import TrustRule


def load_json(path: str, text: str, what: str) -> Any:
    try:
        return loads_sliced(text)
    except json.JSONDecodeError as error:
        raise ModelFileError(path, f"{what} is not valid JSON (line {error.lineno}, column {error.colno})") from None
    except ValueError as error:  # an integer of more than 4,300 digits
        raise ModelFileError(path, f"{what} is not a valid model config ({first_line(error)})") from None
    except RecursionError:
        raise ModelFileError(path, f"{what} nests too deeply to be a model config") from None


def load_config(path: str, text: str, what: str) -> tuple[Any, TrustRule]:
    """The config JSON of ``text`` and a trust rule that has prescanned it (so a clean
    config is not walked a second time by ``parse_model_config``)."""
    rule = TrustRule()
    rule.prescan(text)
    return load_json(path, text, what), rule


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def read_head(path: str, count: int = 8) -> bytes:
    """The first ``count`` bytes of a regular file (``b""`` for anything else; never
    blocks on a FIFO or device)."""
    try:
        with open_regular(path) as handle:
            return handle.read(count)
    except (OSError, ValueError):
        return b""
