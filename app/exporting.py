"""Writing the picture and the text summary (run on a worker; atomic: temp file + rename)."""

from __future__ import annotations

import os
from typing import Any

from resect.core.atomic import write_text_atomically
from resect.core.errors import ResectError
from resect.core.graph import ModelGraph
from resect.core.render.output import PICTURE_SUFFIXES, write_scene


class ExportError(ResectError):
    """The picture or summary could not be written."""


def write_picture(scene: Any, path: str) -> str:
    """The scene as SVG or PNG by suffix, with the same code as ``resect render``."""
    if os.path.splitext(path)[1].lower() not in PICTURE_SUFFIXES:
        raise ExportError(f"{path}: choose a .svg or .png file name")
    try:
        write_scene(scene, path)
    except OSError as error:
        raise ExportError(f"{path}: cannot write ({error.strerror or error})") from None
    return path


def write_summary(graph: ModelGraph, path: str) -> str:
    """The same table as ``resect inspect`` prints."""
    from resect.core.summary import format_table

    try:
        write_text_atomically(path, format_table(graph) + "\n")
    except OSError as error:
        raise ExportError(f"{path}: cannot write ({error.strerror or error})") from None
    return path
