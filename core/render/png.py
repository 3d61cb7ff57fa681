"""Write a Scene as a PNG with Pillow (no Qt): the same boxes, labels and arrows as the SVG.

Big graphs are capped (``MAX_SIDE`` px on the longest side, ``MAX_PIXELS`` in all) by
lowering the scale; text too small to read at that scale is left out, as the canvas
does at low zoom. Small pictures are drawn at twice the size and scaled down, which
gives smooth (anti-aliased) lines.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache

from resect.core.render import style
from resect.core.render.legend import SWATCH, build_legend, canvas_bounds
from resect.core.render.legend import TEXT_SIZE as LEGEND_TEXT_SIZE
from resect.core.render.scene import Scene

MAX_SIDE = 32000
MAX_PIXELS = 60_000_000
SUPERSAMPLE_PIXELS = 12_000_000  # supersample only when the 2x canvas stays below this
MIN_TEXT_PX = 5.0
_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts")


@lru_cache(maxsize=64)
def _font(size: float, bold: bool):
    from PIL import ImageFont

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in _FONT_DIRS:
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return ImageFont.truetype(path, max(1, round(size)))
    try:
        return ImageFont.truetype(name, max(1, round(size)))
    except OSError:
        return ImageFont.load_default(size=max(1, round(size)))


def fitted_scale(scene: Scene, scale: float, legend: bool = True) -> float:
    """``scale`` lowered so the picture stays within ``MAX_SIDE`` and ``MAX_PIXELS``."""
    x0, y0, x1, y1 = canvas_bounds(scene, build_legend(scene) if legend else None)
    w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    scale = min(scale, MAX_SIDE / w, MAX_SIDE / h, math.sqrt(MAX_PIXELS / (w * h)))
    return max(scale, 1e-3)


def _hex(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def render_image(scene: Scene, scale: float = 1.5, legend: bool = True):
    """The scene as a Pillow ``Image`` (RGB), with its colour key unless ``legend=False``."""
    from PIL import Image, ImageDraw

    key = build_legend(scene) if legend else None
    x0, y0, x1, y1 = canvas_bounds(scene, key)
    scale = fitted_scale(scene, scale, legend)
    out_w = max(1, round((x1 - x0) * scale))
    out_h = max(1, round((y1 - y0) * scale))
    ss = 2 if out_w * out_h * 4 <= SUPERSAMPLE_PIXELS else 1
    k = scale * ss
    image = Image.new("RGB", (out_w * ss, out_h * ss), _hex(scene.background))
    draw = ImageDraw.Draw(image)

    def pt(x: float, y: float) -> tuple[float, float]:
        return ((x - x0) * k, (y - y0) * k)

    show_text = style.SUBTITLE_SIZE * scale >= MIN_TEXT_PX
    group_font = _font(style.GROUP_TITLE_SIZE * k, False) if show_text else None
    for group in scene.groups:
        left, top = pt(group.x, group.y)
        right, bottom = pt(group.x + group.w, group.y + group.h)
        draw.rounded_rectangle(
            (left, top, right, bottom),
            radius=style.CORNER_RADIUS * 1.5 * k,
            fill=_hex(group.fill),
            outline=_hex(group.stroke),
            width=max(1, round(k)),
        )
        if show_text:
            draw.text(
                (left + 8 * k, top + (6 + style.GROUP_TITLE_SIZE) * k),
                group.title,
                font=group_font,
                fill=_hex(style.GROUP_TITLE_COLOUR),
                anchor="ls",
            )

    for edge in scene.edges:
        points = [pt(x, y) for x, y in edge.points]
        if len(points) < 2:
            continue
        colour = _hex(edge.colour)
        width = max(1, round(style.EDGE_WIDTH * (2 if edge.highlighted else 1) * k))
        arrow = 7.0 * k * (1.4 if edge.highlighted else 1)
        (ax, ay), (bx, by) = points[-2], points[-1]
        length = math.hypot(bx - ax, by - ay) or 1.0
        ux, uy = (bx - ax) / length, (by - ay) / length
        # stop the line at the arrow's base so its end does not poke through the tip
        points[-1] = (bx - ux * arrow * 0.8, by - uy * arrow * 0.8)
        draw.line(points, fill=colour, width=width, joint="curve")
        if arrow >= 2:
            base = (bx - ux * arrow, by - uy * arrow)
            half = arrow * 0.5
            draw.polygon(
                [(bx, by), (base[0] - uy * half, base[1] + ux * half), (base[0] + uy * half, base[1] - ux * half)],
                fill=colour,
            )

    title_font = _font(style.TITLE_SIZE * k, True) if show_text else None
    sub_font = _font(style.SUBTITLE_SIZE * k, False) if show_text else None
    badge_font = _font(style.BADGE_SIZE * k, False) if show_text else None
    text_colour, sub_colour, badge_colour = (
        _hex(style.TEXT_COLOUR),
        _hex(style.SUBTITLE_COLOUR),
        _hex(style.BADGE_COLOUR),
    )
    for box in scene.boxes:
        left, top = pt(box.x, box.y)
        right, bottom = pt(box.x + box.w, box.y + box.h)
        if box.block:  # a collapsed block: a second card behind says "there is more inside"
            step = style.STACK_OFFSET * k
            draw.rounded_rectangle(
                (left + step, top + step, right + step, bottom + step),
                radius=style.CORNER_RADIUS * k,
                fill=_hex(box.fill),
                outline=_hex(box.stroke),
                width=max(1, round(k)),
            )
        draw.rounded_rectangle(
            (left, top, right, bottom),
            radius=style.CORNER_RADIUS * k,
            fill=_hex(box.fill),
            outline=_hex(box.stroke),
            width=max(1, round(box.stroke_width * k)),
        )
        if not show_text:
            continue
        inner = box.w - 2 * style.BOX_PAD_X
        cx = (left + right) / 2
        title = style.fit_text(box.title, style.TITLE_SIZE, inner, bold=True)
        draw.text((cx, top + 18 * k), title, font=title_font, fill=text_colour, anchor="ms")
        badge_w = (style.text_width(box.badge, style.BADGE_SIZE) + 6) if box.badge else 0.0
        subtitle = style.fit_text(box.subtitle, style.SUBTITLE_SIZE, inner - badge_w)
        sub_len = sub_font.getlength(subtitle)
        badge_len = badge_font.getlength(box.badge) + 6 * k if box.badge else 0.0
        start = cx - (sub_len + badge_len) / 2
        baseline = top + 34 * k
        draw.text((start, baseline), subtitle, font=sub_font, fill=sub_colour, anchor="ls")
        if box.badge:
            draw.text((start + sub_len + 6 * k, baseline), box.badge, font=badge_font, fill=badge_colour, anchor="ls")
    if key is not None and show_text:
        left, top = pt(key.x, key.y)
        right, bottom = pt(key.x + key.w, key.y + key.h)
        draw.rounded_rectangle((left, top, right, bottom), radius=4 * k, fill=(255, 255, 255), outline=(208, 208, 208))
        label_font = _font(LEGEND_TEXT_SIZE * k, False)
        for entry in key.entries:
            ex, ey = pt(entry.x, entry.y)
            draw.rounded_rectangle(
                (ex, ey, ex + SWATCH * k, ey + SWATCH * k),
                radius=3 * k,
                fill=_hex(entry.fill),
                outline=_hex(entry.stroke),
                width=max(1, round(k)),
            )
            draw.text(
                (ex + (SWATCH + 8) * k, ey + (SWATCH - 3) * k),
                entry.label,
                font=label_font,
                fill=text_colour,
                anchor="ls",
            )
    if ss > 1:
        image = image.resize((out_w, out_h), Image.LANCZOS)
    return image


def scene_to_png(
    scene: Scene, path: str | os.PathLike[str], scale: float = 1.5, legend: bool = True
) -> tuple[int, int]:
    """Write the scene as a PNG at ``path``; returns the picture's (width, height) in pixels."""
    image = render_image(scene, scale, legend)
    image.save(path, format="PNG", optimize=False)
    return image.size
