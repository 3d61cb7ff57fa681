"""``python -m resect [MODEL | COMMAND ...]``: the same dispatch as the ``resect`` command."""

from resect.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
