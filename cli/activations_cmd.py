"""``resect activations MODEL [RECIPE] --input DATA -o OUT.npz [--layers T1,T2] [--stats]``.

Runs DATA through MODEL (edited by RECIPE if given) in one pass and writes every tensor's
value, or the named ones, to an ``.npz`` keyed by tensor name ``LAYER:NODE:INDEX``
(DESIGN.md section 2). The file is written atomically and never replaces OUT without
``--force``. Every failure is one line and exit status 2.
"""

from __future__ import annotations

import argparse
import textwrap

import numpy as np

from resect.cli.quiet import keras_quiet
from resect.cli.recipe_args import read_model_and_recipe
from resect.core.consent import add_consent_arguments
from resect.core.errors import ResectError

EPILOG = textwrap.dedent(
    """\
    DATA is a .npy array (a model with one input), an .npz keyed by input layer name, an
    image (PNG/JPEG, resized to the model's input), or the word "random" (normal floats,
    or integers an Embedding accepts, of the input's shape and dtype). For a model of
    several inputs give one --input per input as NAME=DATA; an unnamed --input feeds every
    input not named. Arrays may leave out the batch axis.

    --preprocess applies to images: auto (the default) is the keras.applications family's
    own preprocess_input when the model is one of them (ResNet50, MobileNetV2, ...), else
    none; unit scales 0..255 to [0, 1]; family insists on the family's.

    Tensor names: "conv1_conv" is output 0 of the first call; "tower_dense:1" the second
    call of a shared layer; "func_block/inner_dense:0:0" a tensor inside a nested model.
    """
)


class ActivationsUsageError(ResectError):
    """Bad arguments to ``activations``."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "activations",
        help="run data through a model and write every tensor's value",
        description="Run DATA through MODEL (edited by RECIPE if given) and write every tensor's value to OUT.npz.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "model", metavar="MODEL", help="a .keras, legacy .h5, tf.keras SavedModel folder or KerasHub preset"
    )
    parser.add_argument("recipe", metavar="RECIPE", nargs="?", help="a recipe (*.resect.json) to apply first")
    parser.add_argument(
        "--input",
        metavar="DATA",
        action="append",
        required=True,
        help="a .npy, .npz, image or 'random'; NAME=DATA for one input of several (repeatable)",
    )
    parser.add_argument("-o", "--output", metavar="OUT.npz", required=True, help="the .npz file to write")
    parser.add_argument("--layers", metavar="T1,T2", help="write only these tensors (comma-separated names)")
    parser.add_argument("--stats", action="store_true", help="print min / max / mean / std per tensor")
    parser.add_argument(
        "--preprocess", choices=("auto", "none", "unit", "family"), default="auto", help="image preprocessing"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of random data (default 0)")
    parser.add_argument("--force", action="store_true", help="replace OUT if it exists")
    add_consent_arguments(parser)
    parser.set_defaults(handler=run)


def parse_sources(values: list[str]) -> dict[str | None, str]:
    """``--input`` values -> input name (``None``: every input not named) -> source."""
    sources: dict[str | None, str] = {}
    for value in values:
        name, sep, source = value.partition("=")
        key: str | None = name if sep and name and "/" not in name else None
        source = source if key is not None else value
        if key in sources:
            which = f"input {key!r}" if key else "the unnamed --input"
            raise ActivationsUsageError(f"--input {value}: data for {which} given twice")
        sources[key] = source
    return sources


def run(args: argparse.Namespace) -> int:
    from resect.core.keras_backend.export import check_target

    # Everything that needs no TensorFlow is checked first: bad input fails in well under a second.
    check_target(args.output, args.force)
    sources = parse_sources(args.input)
    for source in sources.values():
        if source != "random":
            _check_readable(source)
    read = read_model_and_recipe(args)

    from resect.core.keras_backend.activation_run import feeds, open_probes

    with keras_quiet():  # Keras' warnings and TensorFlow's logs would add stderr lines
        probes = open_probes(args.model, read.edits, graph=read.graph, consent=read.consent)
        probe = probes.edited or probes.original
        names = probe.resolve(args.layers.split(",")) if args.layers else None
        values = probe.run(feeds(probe, sources, args.preprocess, args.seed), only=names)
    _write(args.output, values, args.force)
    print(f"wrote {args.output} ({len(values)} tensors, batch {_batch(values)})")
    if args.stats:
        _print_stats(values)
    return 0


def _check_readable(source: str) -> None:
    import os

    if not os.path.isfile(source):
        raise ActivationsUsageError(f"{source}: no such data file")
    if not os.access(source, os.R_OK):
        raise ActivationsUsageError(f"{source}: not readable")


def _write(out: str, values: dict[str, np.ndarray], force: bool) -> None:
    """``np.savez`` into a temporary file, renamed onto OUT (``core.atomic``); the last
    existence check is repeated just before, as ``check_target`` did before the run."""
    from resect.core.atomic import write_atomically
    from resect.core.keras_backend.export import check_target

    def write(temporary: str) -> None:
        with open(temporary, "wb") as stream:  # a file object: savez would add ".npz" to a name
            np.savez(stream, **values)

    check_target(out, force)
    try:
        write_atomically(out, write)
    except OSError as error:
        raise ActivationsUsageError(f"{out}: cannot be written ({error.strerror or error})") from None


def _batch(values: dict[str, np.ndarray]) -> str:
    first = next(iter(values.values()), None)
    return "?" if first is None or first.ndim == 0 else str(first.shape[0])


def _print_stats(values: dict[str, np.ndarray]) -> None:
    from resect.core.activation_summary import stats

    width = max((len(name) for name in values), default=6)
    print(f"{'tensor':<{width}}  {'shape':<20} {'min':>11} {'max':>11} {'mean':>11} {'std':>11}")
    for name, value in values.items():
        s = stats(value)
        shape = "(" + ", ".join(str(d) for d in value.shape) + ")"
        print(f"{name:<{width}}  {shape:<20} {s['min']:>11.4g} {s['max']:>11.4g} {s['mean']:>11.4g} {s['std']:>11.4g}")
