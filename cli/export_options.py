"""The output options every exporting command shares (``apply``, ``convert``): ``--format``
and the deployment formats' choices, read from the one format table
(``core.keras_backend.formats``), and the ``--verify`` report."""

from __future__ import annotations

import argparse
from typing import Any

from resect.core.keras_backend.formats import ExportOptions

__all__ = ["add_format_arguments", "export_options", "print_verify"]


def add_format_arguments(parser: argparse.ArgumentParser) -> None:
    """``--format`` and the deployment formats' options, from the one format table (also
    for ``convert``)."""
    from resect.core.keras_backend.formats import FORMATS

    parser.add_argument("--format", choices=tuple(FORMATS), help="output format (default: from the name of OUT)")
    parser.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="onnx/tflite: fix the batch dimension to N (default: dynamic batch size)",
    )
    parser.add_argument("--opset", type=int, metavar="N", help="onnx: the ONNX opset to write (9-18; default 15)")
    parser.add_argument(
        "--float16", action="store_true", help="tflite: store weights as float16 (half the size; looser --verify)"
    )


def export_options(args: argparse.Namespace) -> ExportOptions:
    return ExportOptions(args.batch_size, args.opset, args.float16)


def print_verify(result: Any, options: ExportOptions) -> None:
    """The largest difference per compared tensor, and the runtime that computed it."""
    from resect.core.keras_backend.formats import FORMATS

    report = result.verify
    if report is None:
        return
    spec = FORMATS[result.format]
    if report.checks:
        runtime = f", run in {spec.runtime}" if spec.converted else ""  # Keras' own files: as before
        print(f"verify: max abs diff {report.max_abs_diff:.3g} (tolerance {spec.describe_tolerance(options)}{runtime})")
        for check in report.checks:
            role = "output" if check.is_output else "kept tensor"
            where = "" if check.where == "reloaded" else f", {check.where}"
            against = check.original if " " in check.original else f"original {check.original}"
            print(f"  {check.tensor}  vs {against}: {check.max_abs_diff:.3g} ({role}{where})")
    else:
        print("verify: nothing to compare (no tensor of the export is computed as in the original)")
    compared = {check.tensor for check in report.checks}
    for ref in report.unchecked_outputs:
        if ref not in compared:
            print(f"  {ref}: new computation, not compared")
