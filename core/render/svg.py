"""Write a Scene as standalone SVG text: rounded boxes, centred labels, arrowed edges.

Hover text (``<title>``) carries what the canvas shows on hover: a layer's class,
shape and parameters, an edge's tensor and shape.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape as _xml_escape
from xml.sax.saxutils import quoteattr as _xml_quoteattr

from resect.core.render import style
from resect.core.render.legend import SWATCH, TEXT_SIZE, Legend, build_legend, canvas_bounds
from resect.core.render.scene import Box, Edge, Group, Scene

ARROW = 7.0  # px: arrowhead length


# Characters XML 1.0 cannot hold at all (C0 controls but tab/newline/return, lone
# surrogates, U+FFFE/U+FFFF): a name holding one would make the file ill-formed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", str(text))


def escape(text: str) -> str:
    """Text content, well-formed whatever the names hold (invalid characters become U+FFFD)."""
    return _xml_escape(_clean(text))


def quoteattr(text: str) -> str:
    """An attribute value, quoted, with the same replacement."""
    return _xml_quoteattr(_clean(text))


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _box_svg(box: Box) -> str:
    r = style.CORNER_RADIUS
    inner = box.w - 2 * style.BOX_PAD_X
    title = style.fit_text(box.title, style.TITLE_SIZE, inner, bold=True)
    badge_w = (style.text_width(box.badge, style.BADGE_SIZE) + 6) if box.badge else 0.0
    subtitle = style.fit_text(box.subtitle, style.SUBTITLE_SIZE, inner - badge_w)
    cx = box.x + box.w / 2
    hover = [box.key, box.class_name, box.subtitle]
    if box.badge:
        hover.append(f"{box.badge} parameters")
    parts = [
        f'<g class="box {escape(box.kind)}" data-key={quoteattr(box.key)}>',
        f"<title>{escape(' · '.join(h for h in hover if h))}</title>",
    ]
    if box.block:  # a collapsed block: a second card behind says "there is more inside"
        s = style.STACK_OFFSET
        parts.append(
            f'<rect x="{_num(box.x + s)}" y="{_num(box.y + s)}" width="{_num(box.w)}" height="{_num(box.h)}" '
            f'rx="{_num(r)}" fill="{box.fill}" stroke="{box.stroke}" stroke-width="1"/>'
        )
    parts += [
        f'<rect x="{_num(box.x)}" y="{_num(box.y)}" width="{_num(box.w)}" height="{_num(box.h)}" '
        f'rx="{_num(r)}" fill="{box.fill}" stroke="{box.stroke}" stroke-width="{_num(box.stroke_width)}"' + "/>",
        f'<text x="{_num(cx)}" y="{_num(box.y + 18)}" class="t">{escape(title)}</text>',
    ]
    if box.band:  # one call of a shared layer: the band its other calls carry too
        parts.insert(
            -1,
            f'<rect class="call-band" x="{_num(box.x)}" y="{_num(box.y)}" width="{_num(style.CALL_BAND_WIDTH)}" '
            f'height="{_num(box.h)}" rx="2" fill="{box.band}"/>',
        )
    line2 = f'<text x="{_num(cx)}" y="{_num(box.y + 34)}" class="s">{escape(subtitle)}'
    if box.badge:
        line2 += f'<tspan dx="6" class="b">{escape(box.badge)}</tspan>'
    parts.append(line2 + "</text>")
    parts.append("</g>")
    return "".join(parts)


def _group_svg(group: Group) -> str:
    return (
        f'<g class="group" data-group={quoteattr(group.key)}><title>{escape(group.key)}</title>'
        f'<rect x="{_num(group.x)}" y="{_num(group.y)}" width="{_num(group.w)}" height="{_num(group.h)}" '
        f'rx="{_num(style.CORNER_RADIUS * 1.5)}" fill="{group.fill}" stroke="{group.stroke}" '
        'stroke-width="1" stroke-dasharray="6 3"/>'
        f'<text x="{_num(group.x + 8)}" y="{_num(group.y + 6 + style.GROUP_TITLE_SIZE)}" class="g">'
        f"{escape(group.title)}</text></g>"
    )


def _edge_svg(edge: Edge) -> str:
    points = " ".join(f"{_num(x)},{_num(y)}" for x, y in edge.points)
    marker = "ah" if edge.highlighted else "a"
    hover = ", ".join(str(t) for t in edge.tensors) + (f" · {edge.label}" if edge.label else "")
    width = style.EDGE_WIDTH * (2 if edge.highlighted else 1)
    return (
        f'<polyline points="{points}" stroke="{edge.colour}" stroke-width="{_num(width)}" '
        f'marker-end="url(#{marker})"><title>{escape(hover)}</title></polyline>'
    )


def _legend_svg(legend: Legend) -> str:
    parts = [
        '<g class="legend">',
        f'<rect x="{_num(legend.x)}" y="{_num(legend.y)}" width="{_num(legend.w)}" height="{_num(legend.h)}" '
        'rx="4" fill="#ffffff" stroke="#d0d0d0"/>',
    ]
    for entry in legend.entries:
        parts.append(
            f'<rect x="{_num(entry.x)}" y="{_num(entry.y)}" width="{_num(SWATCH)}" height="{_num(SWATCH)}" rx="3" '
            f'fill="{entry.fill}" stroke="{entry.stroke}"/>'
            f'<text x="{_num(entry.x + SWATCH + 8)}" y="{_num(entry.y + SWATCH - 3)}" class="l">{escape(entry.label)}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


def scene_to_svg(scene: Scene, legend: bool = True) -> str:
    """The whole scene as an SVG document (UTF-8 text, user units = scene pixels), with a
    colour key to the right unless ``legend=False``."""
    key = build_legend(scene) if legend else None
    x0, y0, x1, y1 = canvas_bounds(scene, key)
    w, h = x1 - x0, y1 - y0
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(w)}" height="{_num(h)}" '
        f'viewBox="{_num(x0)} {_num(y0)} {_num(w)} {_num(h)}">\n'
        f"<title>{escape(scene.title)}</title>\n"
        "<defs>"
        f'<marker id="a" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="{_num(ARROW)}" '
        f'markerHeight="{_num(ARROW)}" markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{style.EDGE_COLOUR}"/></marker>'
        f'<marker id="ah" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="{_num(ARROW * 1.4)}" '
        f'markerHeight="{_num(ARROW * 1.4)}" markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{style.EDGE_HIGHLIGHT_COLOUR}"/></marker>'
        "<style>"
        f"text{{font-family:{style.FONT_FAMILY};text-anchor:middle}}"
        f".t{{font-size:{_num(style.TITLE_SIZE)}px;font-weight:bold;fill:{style.TEXT_COLOUR}}}"
        f".s{{font-size:{_num(style.SUBTITLE_SIZE)}px;fill:{style.SUBTITLE_COLOUR}}}"
        f".b{{font-size:{_num(style.BADGE_SIZE)}px;fill:{style.BADGE_COLOUR}}}"
        f".g{{font-size:{_num(style.GROUP_TITLE_SIZE)}px;fill:{style.GROUP_TITLE_COLOUR};text-anchor:start}}"
        f".l{{font-size:{_num(TEXT_SIZE)}px;fill:{style.TEXT_COLOUR};text-anchor:start}}"
        "polyline{fill:none;stroke-linejoin:round;stroke-linecap:round}"
        "</style></defs>\n"
        f'<rect x="{_num(x0)}" y="{_num(y0)}" width="{_num(w)}" height="{_num(h)}" fill="{scene.background}"/>\n'
    )
    body = ['<g class="groups">', *(_group_svg(g) for g in scene.groups), "</g>"]
    body += ['<g class="edges">', *(_edge_svg(e) for e in scene.edges), "</g>"]
    body += ['<g class="boxes">', *(_box_svg(b) for b in scene.boxes), "</g>"]
    if key is not None:
        body.append(_legend_svg(key))
    return head + "\n".join(body) + "\n</svg>\n"
