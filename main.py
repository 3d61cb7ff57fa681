"""Resect entry point: no argument or a model path opens the GUI; a subcommand runs the CLI."""

from resect.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
