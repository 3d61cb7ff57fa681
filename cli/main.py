"""Dispatch ``resect [MODEL]`` to the GUI and ``resect COMMAND ...`` to the CLI.

Every user error ends as one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from resect.core.errors import ResectError
from resect.core.version import __version__

COMMANDS = ("inspect", "apply", "convert", "render", "activations")


class UsageError(ResectError):
    """Bad command-line usage."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for every bad input
        raise UsageError(f"{self.prog}: {message}")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of ``command`` alone: a command's module imports what
    it runs (export formats, data input, consent), and ``inspect --fast`` should not pay for
    the other four at start-up."""
    parser = _Parser(
        prog="resect",
        description="Keras model surgery. Without a command, opens the desktop app (on MODEL if given).",
    )
    parser.add_argument("--version", action="version", version=f"resect {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS if command is None else (command,):
        importlib.import_module(f"resect.cli.{name}_cmd").add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    consent_first = bool(argv) and argv[0].split("=", 1)[0] in ("--custom-code", "--unsafe")  # resect --unsafe M
    if not argv or consent_first or (argv[0] not in COMMANDS and not argv[0].startswith("-")):
        return _run_gui(argv)
    try:
        args = build_parser(argv[0] if argv[0] in COMMANDS else None).parse_args(argv)
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except ResectError as error:
        print(f"resect: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("resect: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _run_gui(argv: list[str]) -> int:
    from resect.app.launch import main as gui_main

    return gui_main(argv)
