"""The bundle's entry point: what ``main.py`` does, plus ``resect -m MODULE [ARGS]``.

A frozen app has no Python interpreter to run ``python -m MODULE``, yet the app starts
its Keras worker as ``sys.executable -m resect.core.keras_backend.service`` (app/keras_client.py),
and in the bundle ``sys.executable`` is this executable. So ``-m`` as the first argument
runs that bundled module as ``__main__``, exactly as the interpreter would; anything else
goes to the ``resect`` command line (GUI without a command, CLI with one).
"""

from __future__ import annotations

import runpy
import sys


def main() -> int:
    if len(sys.argv) >= 3 and sys.argv[1] == "-m":
        module = sys.argv[2]
        sys.argv = [sys.argv[0], *sys.argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    from resect.cli.main import main as resect_main

    return resect_main()


if __name__ == "__main__":
    raise SystemExit(main())
