"""``resect convert MODEL -o OUT [--verify] [--force] [--format ...]``: ``apply`` with no edits.

Writes MODEL (a tf.keras 2 ``.h5``, a tf.keras SavedModel folder, a tf.keras 2.13-2.15
``.keras``, or any Keras 3 model) as a Keras 3 model, or as any other export format
(``.onnx``, ``.tflite``, with ``apply``'s options), printing each Keras 2 -> 3 rewrite
(``core.upgrade``). ``--verify`` runs the written file in the runtime that serves it
(Keras, onnxruntime, the LiteRT interpreter) against the original run by its own
runtime: tf.keras 2 (``tf_keras``, in a subprocess) for a Keras 2 file, Keras 3 for a
Keras 3 one. Without ``tf_keras`` the output says it was not verified.
"""

from __future__ import annotations

import argparse
import sys

from resect.cli.apply_cmd import _Progress, _size
from resect.cli.export_options import add_format_arguments, export_options, print_verify
from resect.cli.quiet import keras_quiet
from resect.core.consent import add_consent_arguments, consent_from_args
from resect.core.errors import ResectError
from resect.core.graph import ModelGraph
from resect.core.upgrade.report import summarize


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="write a Keras 2 (or any) model as a Keras 3, ONNX or TFLite model, printing each rewrite",
        description=(
            "Write MODEL as a Keras 3 model, or as .onnx / .tflite (apply with no edits), printing each "
            "Keras 2 -> 3 rewrite."
        ),
    )
    parser.add_argument("model", metavar="MODEL", help="a .keras, legacy .h5, or tf.keras SavedModel folder")
    parser.add_argument(
        "-o", "--output", metavar="OUT", required=True, help="NAME.keras, NAME.h5, a folder/, NAME.onnx or NAME.tflite"
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="run OUT in the runtime that serves it against the original run by its own runtime",
    )
    parser.add_argument("--force", action="store_true", help="replace OUT if it exists")
    add_format_arguments(parser)
    parser.add_argument("--progress", action="store_true", help="print a line per step on stderr")
    add_consent_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from resect.core.keras_backend.export import check_options, check_target, resolve_format
    from resect.core.keras_backend.formats import FORMATS
    from resect.core.keras_backend.loading import first_problem
    from resect.core.reader import read_model

    fmt = resolve_format(args.output, args.format)
    options = export_options(args)
    check_options(args.output, fmt, options)
    check_target(args.output, args.force)
    graph = read_model(args.model)
    consent = consent_from_args(args)
    problem = None if consent else first_problem(graph)  # with consent, the loader says what still cannot load
    if problem is not None:  # before TensorFlow loads: an unmapped TF op, a rewrite that does not apply
        raise ResectError(
            f"{args.model}: cannot convert layer {problem[0]!r}: {problem[1]}{_flag_hint(graph, problem[0])}"
        )
    lines = summarize(graph.upgrades)
    if lines:
        print("Keras 2 -> 3 rewrites:")
        for line in lines:
            print(f"  {line}")
    else:
        print("no Keras 2 -> 3 rewrite needed")

    from resect.core.keras_backend.legacy_check import verify_against_legacy
    from resect.core.keras_backend.pipeline import run_apply

    def check(path: str, out_fmt: str) -> object:
        from resect.core.keras_backend.verify import VerifyError

        try:
            return verify_against_legacy(
                args.model, graph, path, out_fmt, safe_mode=not consent.unsafe, options=options
            )
        except ResectError:
            raise
        except Exception as error:  # noqa: BLE001 - Keras or tf.keras failing: one line, no traceback
            text = " ".join(str(error).split())[:200]
            raise VerifyError(f"verification against tf.keras 2 failed: {type(error).__name__}: {text}") from None

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
                consent=consent,
                options=options,
            )
    except ResectError:
        progress.clear()
        raise
    print(f"wrote {result.out} ({result.format}, {_size(result.file_size)})")
    counts = result.params_after
    print(f"params: {counts.total:,} (trainable {counts.trainable:,}, non-trainable {counts.non_trainable:,})")
    if not args.verify:
        return 0
    legacy, spec = result.check, FORMATS[result.format]
    if legacy is None and spec.converted:  # a Keras 3 model served by another runtime: as apply says it
        print_verify(result, options)
    elif legacy is None:  # a Keras 3 model: its own runtime is Keras 3, compared by apply's verification
        report = result.verify
        diff = report.max_abs_diff if report is not None else 0.0
        print(f"verify: max abs diff {diff:.3g} against the original in Keras 3 (tolerance 1e-05)")
    elif not legacy.verified:
        print(f"NOT VERIFIED against the original runtime: {legacy.reason}")
    else:
        served = f" (OUT run in {spec.runtime})" if spec.converted else ""
        print(f"verify: max abs diff {legacy.max_abs_diff:.3g} against the original run by {legacy.runtime}{served}")
        for check_ in legacy.checks:
            print(f"  {check_.tensor}: {check_.max_abs_diff:.3g} (tolerance {check_.tolerance:g})")
    return 0


def _flag_hint(graph: ModelGraph, where: str) -> str:
    """The consent flag that would let the layer at ``where`` load, if one would: a Lambda's
    code runs with ``--unsafe``, a custom class loads with ``--custom-code``; a Keras 2
    setting with no Keras 3 equivalent has none."""
    from resect.core.known_layers import KERAS_LAYER_CLASSES
    from resect.core.reader.config_parser import TF_OP_CLASSES

    layer = next((layer for path, layer in graph.iter_layers_deep() if "/".join(path) == where), None)
    if layer is None or layer.is_operation:
        return ""
    if layer.class_name == "Lambda":
        return " (pass --unsafe to run its code)"
    if layer.class_name in KERAS_LAYER_CLASSES or layer.class_name in TF_OP_CLASSES:
        return ""
    return " (pass --custom-code PATH.py|MODULE with its code to load it)"
