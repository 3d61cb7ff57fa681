"""Writing the picture and the text summary (run on a worker; atomic: temp file + rename)."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from core.errors import ResectError
from core.graph import ModelGraph


class ExportError(ResectError):
    """The picture or summary could not be written."""


def _atomic_write(path: str, write: Any) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    handle, temp = tempfile.mkstemp(prefix=".resect-", suffix=os.path.splitext(path)[1], dir=folder)
    os.close(handle)
    try:
        write(temp)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def write_picture(scene: Any, path: str) -> str:
    """The scene as SVG or PNG by suffix, with the same drawing code as ``resect render``."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".svg", ".png"):
        raise ExportError(f"{path}: choose a .svg or .png file name")
    try:
        if suffix == ".svg":
            from core.render.svg import scene_to_svg

            text = scene_to_svg(scene)

            def write(temp: str) -> None:
                with open(temp, "w", encoding="utf8") as handle:
                    handle.write(text)
        else:
            from core.render.png import scene_to_png

            def write(temp: str) -> None:
                scene_to_png(scene, temp)

        _atomic_write(path, write)
    except OSError as error:
        raise ExportError(f"{path}: cannot write ({error.strerror or error})") from None
    return path


def write_summary(graph: ModelGraph, path: str) -> str:
    """The same table as ``resect inspect`` prints."""
    from core.summary import format_table

    text = format_table(graph)

    def write(temp: str) -> None:
        with open(temp, "w", encoding="utf8") as handle:
            handle.write(text + "\n")

    try:
        _atomic_write(path, write)
    except OSError as error:
        raise ExportError(f"{path}: cannot write ({error.strerror or error})") from None
    return path
