"""``resect apply MODEL RECIPE -o OUT [--verify] [--force] [--format ...]``.

Applies a recipe (DESIGN.md section 2) and writes the edited model atomically. Prints
the parameter counts before and after and, with ``--verify``, the largest absolute
difference against the original. Every failure is one line and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import textwrap

from resect.cli.export_options import add_format_arguments, export_options, print_verify
from resect.cli.quiet import keras_quiet
from resect.cli.recipe_args import read_model_and_recipe
from resect.core.consent import add_consent_arguments
from resect.core.errors import ResectError

EPILOG = textwrap.dedent(
    """\
    Changing an input shape (set_input_shape) keeps every trained weight whose shape still
    fits. A weight that cannot be kept (e.g. the Dense after a Flatten) makes apply refuse,
    naming its layer. To accept fresh (randomly initialised) weights for such layers, list
    them in the edit:
      {"op": "set_input_shape", "input": "input_layer", "shape": [128, 128, 3],
       "reinitialize": ["fc1", "predictions"]}
    or accept it for every layer with "reinitialize": ["*"].

    --verify runs the same random input through the original (up to the tensors the
    recipe keeps) and through OUT in the runtime that will serve it: Keras reloading a
    .keras / .h5 (fails above 1e-5, float32), TensorFlow for a SavedModel, onnxruntime for
    .onnx and the LiteRT interpreter for .tflite (fails above 1e-4, float32; with
    --float16, above 1e-2 x the output's largest magnitude, at least 1e-2). A converted
    file's outputs that are new layers are compared with the Keras model it came from.
    OUT is written to a temporary file beside it and renamed only when complete (and
    verified); an existing OUT is never replaced without --force. A layer ONNX or TFLite
    has no equivalent for is refused, named, and nothing is written.
    """
)


class _Progress:
    """A progress line on stderr: rewritten in place on a terminal, a line per step with
    ``--progress``, silent otherwise (so an error stays the only line)."""

    LABELS = {
        "reading": "reading the model and applying the recipe",
        "loading": "loading the model with Keras",
        "building": "building the edited model",
        "writing": "writing",
        "verifying": "verifying against the original",
    }

    def __init__(self, enabled: bool, in_place: bool) -> None:
        self.enabled = enabled
        self.in_place = in_place
        self.shown = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage == "done":
            self.clear()
            return
        text = f"resect: [{done + 1}/{total}] {self.LABELS.get(stage, stage)}..."
        if self.in_place:
            sys.stderr.write("\r\033[K" + text)
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.enabled and self.in_place and self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.shown = False


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "apply",
        help="apply a recipe to a model and write the edited model",
        description="Apply the edits of RECIPE to MODEL and write OUT (.keras, .h5, a SavedModel folder, .onnx, .tflite).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL", help="a .keras or legacy .h5 model file")
    parser.add_argument("recipe", metavar="RECIPE", help="a recipe file (*.resect.json)")
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        required=True,
        help="output: NAME.keras, NAME.h5, NAME.onnx, NAME.tflite, or a folder path ending in / for a SavedModel",
    )
    parser.add_argument(
        "--verify", action="store_true", help="check OUT (reloaded from disk) against the original on random input"
    )
    parser.add_argument("--force", action="store_true", help="replace OUT if it exists")
    add_format_arguments(parser)
    parser.add_argument("--progress", action="store_true", help="print a line per step on stderr")
    add_consent_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from resect.core.keras_backend.export import check_options, check_target, resolve_format

    # Everything that needs no TensorFlow is checked first: bad input fails in well under a second.
    fmt = resolve_format(args.output, args.format)
    options = export_options(args)
    check_options(args.output, fmt, options)
    check_target(args.output, args.force)
    read = read_model_and_recipe(args)

    from resect.core.keras_backend.pipeline import run_apply

    progress = _Progress(args.progress or sys.stderr.isatty(), in_place=not args.progress and sys.stderr.isatty())
    try:
        with keras_quiet():
            result = run_apply(
                args.model,
                read.edits,
                args.output,
                fmt=fmt,
                verify=args.verify,
                force=args.force,
                progress=progress,
                original=read.graph,
                options=options,
                consent=read.consent,
            )
    except ResectError:
        progress.clear()
        raise
    print(f"wrote {result.out} ({result.format}, {_size(result.file_size)})")
    before, after = result.params_before, result.params_after
    print(f"params before: {before.total:,} (trainable {before.trainable:,}, non-trainable {before.non_trainable:,})")
    print(f"params after:  {after.total:,} (trainable {after.trainable:,}, non-trainable {after.non_trainable:,})")
    for layer, variables in result.reinitialized.items():
        print(f"re-initialised: {layer} ({', '.join(v.rsplit('/', 1)[-1] for v in variables)})")
    print_verify(result, options)
    return 0


def _size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"
