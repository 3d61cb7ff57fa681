"""``resect render MODEL [RECIPE] -o GRAPH.(svg|png)``: draw the layer graph as an image.

Uses the same Scene as the desktop canvas, without Qt and without TensorFlow: the
picture comes from the file alone (shapes the file does not record show the class
name instead). With a RECIPE the edited graph is drawn, its new and changed layers
outlined. The output is written atomically and never overwritten without ``--force``.
"""

from __future__ import annotations

import argparse
import os

from resect.core.atomic import check_output
from resect.core.consent import add_consent_arguments
from resect.core.errors import ResectError
from resect.core.render.output import PICTURE_SUFFIXES as FORMATS


class RenderError(ResectError):
    """A render request that cannot be carried out (bad output path, unknown block...)."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "render",
        help="draw the layer graph as an SVG or PNG image",
        description="Draw a model's layer graph (optionally after a recipe's edits) as SVG or PNG.",
    )
    parser.add_argument("model", metavar="MODEL", help="a .keras or legacy .h5 model file")
    parser.add_argument("recipe", metavar="RECIPE", nargs="?", help="a recipe (*.resect.json) to apply first")
    parser.add_argument("-o", "--output", required=True, metavar="GRAPH", help="output file ending in .svg or .png")
    parser.add_argument(
        "--direction", choices=("TB", "LR"), default="TB", help="top-to-bottom (default) or left-to-right"
    )
    parser.add_argument(
        "--collapse",
        nargs="?",
        const="auto",
        default=None,
        metavar="BLOCKS",
        help="draw blocks as single boxes: without a value (auto) as the app first shows the model (on a model "
        "of over 300 layers the residual/inception blocks and name groups); 'all' for the outermost blocks; "
        "or comma-separated block names",
    )
    parser.add_argument("--highlight", default="", metavar="LAYERS", help="comma-separated layer names to outline")
    parser.add_argument("--scale", type=float, default=1.5, help="PNG pixels per layout unit (default 1.5)")
    parser.add_argument("--force", action="store_true", help="overwrite GRAPH if it exists")
    add_consent_arguments(parser)  # used when the layer graph exists only in code (a KerasHub model)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    output = args.output
    extension = os.path.splitext(output)[1].lower()
    if extension not in FORMATS:
        raise RenderError(f"{output}: the output must end in .svg or .png")
    check_output(output, args.force)
    if not args.scale > 0:
        raise RenderError(f"--scale must be positive, not {args.scale}")

    from resect.core.analysis.blocks import default_collapsed, find_blocks
    from resect.core.reader import read_model
    from resect.core.render.scene import build_scene

    graph = read_model(args.model)
    if graph.code_defined is not None and not graph.layers:  # a KerasHub model: Keras builds its graph
        from resect.core.consent import consent_from_args
        from resect.core.keras_backend.loading import fill_shapes, load_graph_model

        graph = fill_shapes(graph, load_graph_model(args.model, graph, consent_from_args(args)))
    highlight = {name for name in args.highlight.split(",") if name}
    if args.recipe:
        graph, changed = _apply_recipe(graph, args.recipe)
        highlight |= changed
    blocks = find_blocks(graph) if args.collapse else None
    collapsed = _collapsed(args.collapse, blocks or [], len(graph.layers), default_collapsed)
    for name in sorted(highlight):
        if not _has_layer_key(graph, name):
            raise RenderError(f"--highlight: no layer named {name!r} in model {graph.name!r}")
    scene = build_scene(graph, collapsed, args.direction, highlight=highlight, blocks=blocks)
    size = _write(scene, output, args.scale, args.force)
    print(f"wrote {output} ({len(scene.boxes)} boxes, {len(scene.edges)} edges{size})")
    return 0


def _collapsed(option: str | None, blocks: list, layer_count: int, default_collapsed) -> frozenset[str]:
    if not option:
        return frozenset()
    if option == "auto":
        return default_collapsed(blocks, layer_count)  # the app's first view
    if option == "all":
        return frozenset(block.name for block in blocks if block.parent is None)
    names = frozenset(name.strip() for name in option.split(",") if name.strip())
    known = {block.name for block in blocks}
    unknown = sorted(names - known)
    if unknown:
        raise RenderError(f"--collapse: no block named {unknown[0]!r} (see the blocks the app lists)")
    return names


def _has_layer_key(graph, key: str) -> bool:
    level = graph
    *outer, name = key.split("/")
    for part in outer:
        if not level.has_layer(part) or level.layer(part).subgraph is None:
            return False
        level = level.layer(part).subgraph
    return level.has_layer(name)


def _apply_recipe(graph, recipe_path: str):
    """The edited graph and the names of its new or changed layers."""
    try:
        from resect.core.surgery.apply import apply_edits
        from resect.core.surgery.recipe import load_recipe
    except ImportError:  # pragma: no cover - the surgery engine ships with the app
        raise RenderError(f"{recipe_path}: recipes are not supported by this build") from None
    edited = apply_edits(graph, load_recipe(recipe_path))
    before = {layer.name: layer for layer in graph.layers}
    changed = set()
    for layer in edited.layers:
        old = before.get(layer.name)
        if layer.origin is None or old is None or old.class_name != layer.class_name or old.config != layer.config:
            changed.add(layer.name)
        elif old.trainable != layer.trainable:
            changed.add(layer.name)
    return edited, changed


def _write(scene, output: str, scale: float, force: bool) -> str:
    """Write the picture; for a PNG, its size and whether it had to shrink."""
    from resect.core.render.output import write_scene

    pixels = write_scene(scene, output, scale, replace=force)
    if pixels is None:
        return ""
    from resect.core.render import style
    from resect.core.render.png import MIN_TEXT_PX, fitted_scale

    size = f", {pixels[0]}x{pixels[1]} px"
    fitted = fitted_scale(scene, scale)
    if fitted < scale:
        size += f", shrunk to scale {fitted:.3g} to stay within the PNG size limit"
        if style.SUBTITLE_SIZE * fitted < MIN_TEXT_PX:
            size += "; labels left out (try --collapse, or .svg for full detail)"
    return size
