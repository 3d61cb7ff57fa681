"""``resect inspect MODEL [--json] [--fast]``: what a model file holds, like ``model.summary()``.

Without ``--fast`` the model is also loaded through Keras (safe mode) to fill the
shapes the file does not record; if Keras cannot load it, what the file says is
still printed, with a one-line warning. ``--fast`` never imports TensorFlow.
"""

from __future__ import annotations

import argparse
import gc
import sys

from cli.quiet import keras_quiet
from core.errors import ResectError
from core.graph import ModelGraph
from core.reader import read_model
from core.summary import iter_inspect_json, iter_table_lines


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
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # The graph lives until exit: the cyclic GC would only re-walk the millions of
    # objects of a large config (a quarter of the time at 20,000 layers) and find
    # nothing to free. Keras, on the other hand, makes cycles: it runs with the GC on.
    gc.disable()
    graph = read_model(args.model)
    if not args.fast:
        gc.enable()
        graph = _with_keras_shapes(args.model, graph)
    if args.json:
        for piece in iter_inspect_json(graph):
            sys.stdout.write(piece)
        sys.stdout.write("\n")
    else:
        for line in iter_table_lines(graph):
            sys.stdout.write(line + "\n")
    return 0


def _with_keras_shapes(path: str, graph: ModelGraph) -> ModelGraph:
    """The graph with Keras' shapes, or the file's graph plus a warning if Keras fails."""
    from core.keras_backend.loading import fill_shapes, first_problem, load_keras_model

    problem = first_problem(graph)
    if problem is not None:
        _warn(f"{path}: Keras cannot load layer {problem[0]!r} ({problem[1]}); showing what the file records")
        return graph
    print("loading with Keras...", file=sys.stderr, flush=True)
    try:
        with keras_quiet():
            return fill_shapes(graph, load_keras_model(path, graph))
    except ResectError as error:
        _warn(f"{error}; showing what the file records")
    except Exception as error:  # a Keras bug while reading shapes must not hide the model
        _warn(f"{path}: could not take shapes from Keras ({type(error).__name__}); showing what the file records")
    return graph


def _warn(message: str) -> None:
    print(f"resect: warning: {message}", file=sys.stderr, flush=True)
