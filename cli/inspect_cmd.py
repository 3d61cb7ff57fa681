"""``resect inspect MODEL [--json] [--fast]``: what a model file holds, like ``model.summary()``.

Without ``--fast`` the model is also loaded through Keras (safe mode) to fill the
shapes the file does not record; if Keras cannot load it, what the file says is
still printed, with a one-line warning. ``--fast`` never imports TensorFlow.
"""

from __future__ import annotations

import argparse
import gc
import sys

from resect.core.consent import Consent, add_consent_arguments, consent_from_args
from resect.core.errors import ResectError
from resect.core.graph import ModelGraph
from resect.core.reader import read_model
from resect.core.summary import iter_inspect_json, iter_table_lines


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="print a model's layers, shapes and parameter counts",
        description="Print a per-layer table like model.summary() (nested models indented) and the totals.",
    )
    parser.add_argument("model", metavar="MODEL", help="a .keras or legacy .h5 model file")
    parser.add_argument("--json", action="store_true", help="print the JSON object of DESIGN.md section 2")
    parser.add_argument(
        "--fast",
        action="store_true",
        help="read the file only (never imports TensorFlow); shapes the file does not record stay unknown",
    )
    add_consent_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # The graph lives until exit: the cyclic GC would only re-walk the millions of
    # objects of a large config (a quarter of the time at 20,000 layers) and find
    # nothing to free. Keras, on the other hand, makes cycles: it runs with the GC on.
    gc.disable()
    graph = read_model(args.model)
    if not args.fast:
        gc.enable()
        graph = _with_keras_shapes(args.model, graph, consent_from_args(args))
    if args.json:
        for piece in iter_inspect_json(graph):
            sys.stdout.write(piece)
        sys.stdout.write("\n")
    else:
        for line in iter_table_lines(graph):
            sys.stdout.write(line + "\n")
    return 0


def _with_keras_shapes(path: str, graph: ModelGraph, consent: Consent) -> ModelGraph:
    """The graph with Keras' shapes, or the file's graph plus a warning if Keras fails.
    With ``--custom-code`` / ``--unsafe`` given, a failure of that code is an error."""
    from resect.cli.quiet import keras_quiet  # logging's import: only on the path that loads Keras
    from resect.core.keras_backend.custom_code import CustomCodeError
    from resect.core.keras_backend.loading import fill_shapes, load_graph_model, refusal_without_keras

    reason = None if consent else refusal_without_keras(graph)
    if reason is not None:
        _warn(f"{path}: Keras cannot load it: {reason}; showing what the file records")
        return graph
    print("loading with Keras...", file=sys.stderr, flush=True)
    try:
        with keras_quiet():
            return fill_shapes(graph, load_graph_model(path, graph, consent))
    except CustomCodeError:
        raise
    except ResectError as error:
        _warn(f"{error}; showing what the file records")
    except Exception as error:  # a Keras bug while reading shapes must not hide the model
        _warn(f"{path}: could not take shapes from Keras ({type(error).__name__}); showing what the file records")
    return graph


def _warn(message: str) -> None:
    print(f"resect: warning: {message}", file=sys.stderr, flush=True)
