"""Start the desktop app: ``python main.py [MODEL]`` (the bundled demo model when bare).

The window shows at once; the model is read on a worker and TensorFlow is imported in
the background. ``RESECT_BENCH_EXIT_AFTER_DRAW=1`` prints the seconds from process start
to the first painted graph (``drawn_after_s=...``) and quits right away (the launch
benchmark); nothing waits for TensorFlow.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resect.core.consent import Consent

BENCH_ENV = "RESECT_BENCH_EXIT_AFTER_DRAW"


def _process_start() -> float:
    """Seconds on ``time.time()``'s clock when this process started (Linux /proc), else now."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - uptime + start_ticks / ticks
    except (OSError, ValueError, IndexError):
        return time.time()


def default_model() -> str | None:
    try:
        from resect.resources import demo_model_path

        path = demo_model_path()
        return str(path) if path.is_file() else None
    except Exception:  # noqa: BLE001 - no demo model: start empty
        return None


def split_consent(argv: list[str]) -> tuple[list[str], Consent | None]:
    """``argv`` without ``--custom-code X`` / ``--unsafe``, and the consent they give
    (``None`` when ``--custom-code`` lacks its value). The code runs only in the Keras worker."""
    from resect.core.consent import Consent

    rest: list[str] = []
    code: list[str] = []
    unsafe = False
    items = iter(argv)
    for arg in items:
        if arg == "--unsafe":
            unsafe = True
        elif arg == "--custom-code":
            value = next(items, None)
            if value is None:
                return rest, None
            code.append(value)
        elif arg.startswith("--custom-code="):
            code.append(arg.split("=", 1)[1])
        else:
            rest.append(arg)
    return rest, Consent(tuple(code), unsafe)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        print(
            "usage: resect [MODEL] [--custom-code PATH.py|MODULE]... [--unsafe]   open MODEL in the desktop app "
            "(bare: the demo model); --custom-code / --unsafe: see `resect inspect --help`"
        )
        return 0
    argv, consent = split_consent(argv)
    if consent is None:
        print("resect: --custom-code needs a file or module name", file=sys.stderr)
        return 2
    bench = os.environ.get(BENCH_ENV) == "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from resect.app import dialogs
    from resect.app.main_window import MainWindow, icon

    application = QApplication.instance() or QApplication(sys.argv[:1])
    application.setApplicationName("Resect")
    application.setOrganizationName("Resect")
    from resect.resources import APP_ID

    application.setDesktopFileName(APP_ID)  # Wayland shells match the window to its .desktop entry
    application.setWindowIcon(icon("resect") if not icon("resect").isNull() else QIcon())
    from resect.app import keras_client

    keras_client.launch_consent.update(consent.to_json() if consent else {})  # the worker imports it
    window = MainWindow(use_keras=os.environ.get("RESECT_NO_KERAS") != "1")
    from resect.app.editor import install_editor  # the editor (issue 5) on top of the viewer

    install_editor(window)
    from resect.app.activations import install_activations  # "Run data..." (issue 15), after the editor

    install_activations(window)
    window.show()
    window.raise_()
    window.activateWindow()  # take keyboard focus even without a window manager (Xvfb, kiosk)
    path = argv[0] if argv else default_model()
    if bench:
        started = _process_start()

        def drawn(_: float) -> None:
            print(f"drawn_after_s={time.time() - started:.3f}", flush=True)
            os._exit(0)  # do not wait for anything: the measurement is done

        def failed(parent: object, title: str, message: str) -> None:  # no one to click a dialog away
            print(f"resect: {message}", file=sys.stderr, flush=True)
            os._exit(2)

        window.graph_drawn.connect(drawn)
        dialogs.show_error = failed
    if path:
        QTimer.singleShot(0, lambda: window.open_path(path))
    return application.exec()
