"""Recipes: the JSON form of an edit list (``{"format": "resect-recipe/1", "edits": [...]}``).

Loading never half-succeeds: the whole file is parsed first, and any problem is one
``RecipeError`` line naming the file, the edit index and op. Saving is atomic (a
temporary file beside the target, then a rename).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from resect.core.atomic import write_text_atomically
from resect.core.reader.bounded import MAX_RECIPE_BYTES, BoundedReadError, read_regular
from resect.core.surgery.edits import Edit, edit_from_json
from resect.core.surgery.errors import RecipeError

FORMAT = "resect-recipe/1"

__all__ = ["FORMAT", "RecipeError", "dump_recipe", "load_recipe", "parse_recipe", "save_recipe"]


def parse_recipe(obj: Any, source: str = "recipe") -> list[Edit]:
    """A recipe object (or a bare list of edits) -> edits; ``source`` prefixes errors."""
    if isinstance(obj, list):
        items = obj
    elif isinstance(obj, Mapping):
        fmt = obj.get("format", FORMAT)
        if fmt != FORMAT:
            raise RecipeError(f"{source}: unsupported format {fmt!r} (expected {FORMAT!r})")
        items = obj.get("edits")
        if not isinstance(items, list):
            raise RecipeError(f"{source}: 'edits' must be a list")
    else:
        raise RecipeError(f"{source}: a recipe is an object with 'format' and 'edits'")
    edits: list[Edit] = []
    for index, item in enumerate(items):
        try:
            edits.append(edit_from_json(item))
        except RecipeError as error:
            op = item.get("op") if isinstance(item, Mapping) else None
            label = f"edit {index} ({op})" if isinstance(op, str) else f"edit {index}"
            raise RecipeError(f"{source}: {label}: {error}") from None
    return edits


def load_recipe(path: str | os.PathLike[str]) -> list[Edit]:
    """Read and parse a recipe file."""
    path = os.fspath(path)
    try:
        text = read_regular(path, MAX_RECIPE_BYTES).decode("utf8")
    except FileNotFoundError:
        raise RecipeError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RecipeError(f"{path}: is a directory, not a recipe") from None
    except BoundedReadError as error:
        raise RecipeError(f"{path}: {error}") from None
    except UnicodeDecodeError:
        raise RecipeError(f"{path}: not UTF-8 text") from None
    except OSError as error:
        raise RecipeError(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as error:
        raise RecipeError(f"{path}: not valid JSON (line {error.lineno}, column {error.colno})") from None
    except ValueError as error:  # an integer of more than 4,300 digits
        raise RecipeError(f"{path}: not a valid recipe ({error})") from None
    except RecursionError:
        raise RecipeError(f"{path}: nests too deeply to be a recipe") from None
    return parse_recipe(obj, path)


def dump_recipe(edits: Iterable[Edit]) -> dict[str, Any]:
    return {"format": FORMAT, "edits": [edit.to_json() for edit in edits]}


def save_recipe(path: str | os.PathLike[str], edits: Iterable[Edit]) -> None:
    """Write the recipe atomically: readers see the old file or the new one, never half."""
    write_text_atomically(path, json.dumps(dump_recipe(edits), indent=2) + "\n")
