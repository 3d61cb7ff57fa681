"""``resect convert MODEL -o OUT [--verify] [--force] [--format ...]``: ``apply`` with no edits.

Writes MODEL (a tf.keras 2 ``.h5``, a tf.keras SavedModel folder, a tf.keras 2.13-2.15
``.keras``, or any Keras 3 model) as a Keras 3 model, printing each Keras 2 -> 3 rewrite
(``core.upgrade``). ``--verify`` compares the written file, reloaded, with the original
run by its own runtime: tf.keras 2 (``tf_keras``, in a subprocess) for a Keras 2 file,
Keras 3 for a Keras 3 one. Without ``tf_keras`` the output says it was not verified.
"""

from __future__ import annotations

import argparse
import sys

from cli.apply_cmd import _Progress, _size
from cli.quiet import keras_quiet
from core.errors import ResectError
from core.upgrade import summarize


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="write a Keras 2 (or any) model as a Keras 3 model, printing each rewrite",
        description="Write MODEL as a Keras 3 model (apply with no edits), printing each Keras 2 -> 3 rewrite.",
    )
    parser.add_argument("model", metavar="MODEL", help="a .keras, legacy .h5, or tf.keras SavedModel folder")
    parser.add_argument("-o", "--output", metavar="OUT", required=True, help="NAME.keras, NAME.h5, or a folder/ ")
    parser.add_argument(
        "--verify", action="store_true", help="compare OUT (reloaded) with the original run by its own runtime"
    )
    parser.add_argument("--force", action="store_true", help="replace OUT if it exists")
    parser.add_argument("--format", choices=("keras", "h5", "savedmodel"), help="output format (default: from OUT)")
    parser.add_argument("--progress", action="store_true", help="print a line per step on stderr")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from core.keras_backend.export import check_target, resolve_format
    from core.keras_backend.loading import first_problem
    from core.reader import read_model

    fmt = resolve_format(args.output, args.format)
    check_target(args.output, args.force)
    graph = read_model(args.model)
    problem = first_problem(graph)
    if problem is not None:  # before TensorFlow loads: an unmapped TF op, a rewrite that does not apply
        raise ResectError(f"{args.model}: cannot convert layer {problem[0]!r}: {problem[1]}")
    lines = summarize(graph.upgrades)
    if lines:
        print("Keras 2 -> 3 rewrites:")
        for line in lines:
            print(f"  {line}")
    else:
        print("no Keras 2 -> 3 rewrite needed")

    from core.keras_backend.legacy_check import verify_against_legacy
    from core.keras_backend.pipeline import run_apply

    def check(path: str, out_fmt: str) -> object:
        return verify_against_legacy(args.model, graph, path, out_fmt)

    progress = _Progress(args.progress or sys.stderr.isatty(), in_place=not args.progress and sys.stderr.isatty())
    try:
        with keras_quiet():
            result = run_apply(
                args.model,
                [],
                args.output,
                fmt=fmt,
                verify=args.verify,
                force=args.force,
                progress=progress,
                original=graph,
                check=check if args.verify and graph.upgrades else None,
            )
    except ResectError:
        progress.clear()
        raise
    print(f"wrote {result.out} ({result.format}, {_size(result.file_size)})")
    counts = result.params_after
    print(f"params: {counts.total:,} (trainable {counts.trainable:,}, non-trainable {counts.non_trainable:,})")
    if not args.verify:
        return 0
    legacy = result.check
    if legacy is None:  # a Keras 3 model: its own runtime is Keras 3, compared by apply's verification
        report = result.verify
        diff = report.max_abs_diff if report is not None else 0.0
        print(f"verify: max abs diff {diff:.3g} against the original in Keras 3 (tolerance 1e-05)")
    elif not legacy.verified:
        print(f"NOT VERIFIED against the original runtime: {legacy.reason}")
    else:
        print(f"verify: max abs diff {legacy.max_abs_diff:.3g} against the original run by {legacy.runtime}")
        for check_ in legacy.checks:
            print(f"  {check_.tensor}: {check_.max_abs_diff:.3g} (tolerance {check_.tolerance:g})")
    return 0
