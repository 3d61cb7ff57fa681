"""Small helpers the format readers share: JSON with one-line errors, error wrapping."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from core.errors import ModelFileError
from core.graph import ModelGraph
from core.perf import paused_gc
from core.reader.config_parser import ConfigError
from core.reader.sliced_json import loads_sliced


def guarded_read(path: str, read: Callable[[str], ModelGraph]) -> ModelGraph:
    """Run ``read(path)`` turning every parse failure into a one-line ``ModelFileError``."""
    try:
        with paused_gc():
            return read(path)
    except ModelFileError:
        raise
    except ConfigError as error:
        raise ModelFileError(path, f"unreadable model config: {error}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise ModelFileError(path, f"unreadable model config: {type(error).__name__}: {error}") from None
    except OSError as error:
        raise ModelFileError(path, f"is corrupt or truncated ({error})") from None


def load_json(path: str, text: str, what: str) -> Any:
    try:
        return loads_sliced(text)
    except json.JSONDecodeError as error:
        raise ModelFileError(path, f"{what} is not valid JSON (line {error.lineno}, column {error.colno})") from None


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def read_head(path: str, count: int = 8) -> bytes:
    """The first ``count`` bytes of a file (``b""`` if it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(count)
    except OSError:
        return b""
