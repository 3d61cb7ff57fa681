"""Write a scene to an ``.svg`` or ``.png`` file, atomically: shared by ``resect render``
and the app's Export picture, so both produce the same file from the same scene."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from resect.core.atomic import write_atomically, write_text_atomically

if TYPE_CHECKING:  # the CLI imports this module for its suffixes; keep that cheap
    from resect.core.render.scene import Scene

PICTURE_SUFFIXES = (".svg", ".png")


def write_scene(
    scene: Scene, path: str | os.PathLike[str], scale: float = 1.5, replace: bool = True
) -> tuple[int, int] | None:
    """Write ``scene`` as SVG or PNG by the suffix of ``path``; a PNG's (width, height)
    in pixels, ``None`` for SVG. Raises ``ValueError`` for another suffix. With
    ``replace=False`` nothing already at ``path`` is replaced (``OutputError``)."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix == ".svg":
        from resect.core.render.svg import scene_to_svg

        write_text_atomically(path, scene_to_svg(scene), replace)
        return None
    if suffix == ".png":
        from resect.core.render.png import scene_to_png

        size: list[tuple[int, int]] = []
        write_atomically(path, lambda temporary: size.append(scene_to_png(scene, temporary, scale)), replace)
        return size[0]
    raise ValueError(f"{path}: choose a .svg or .png file name")
