"""The app's side of the Keras worker process (``core.keras_backend.service``).

One ``KerasClient`` per window wraps a ``QProcess``: requests go out as JSON lines and are
answered in order; replies arrive on the UI thread (Qt's event loop reads the pipe) and
call the request's callbacks. If the process dies, every open request fails with one
line, ``died`` says why, and the next request starts a fresh process. ``shutdown`` asks
the server to quit and waits briefly before killing it.

Windows share one worker (``acquire`` / ``release``): TensorFlow and a loaded model take
hundreds of megabytes, and a window opened on an exported model then finds Keras ready.
The last window to release it shuts it down, so no process outlives the app's windows.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

# From a checkout, ``resect/app`` is a link to ``app/``: resolved, this is the checkout root,
# where the ``resect`` package is importable from. From a wheel it is the installed ``resect``.
ROOT = Path(__file__).resolve().parents[1]


def _source_checkout(root: Path = ROOT) -> bool:
    """True when running from the repository (``pyproject.toml`` beside ``app``), not from an
    installed wheel, where ``root`` is the installed ``resect`` package, whose parent
    site-packages folder is on ``sys.path`` already."""
    return (root / "pyproject.toml").is_file() and root.name not in ("site-packages", "dist-packages")


STDERR_TAIL = 20  # lines of the server's stderr kept for the "it stopped" message

Callback = Callable[[Any], None]


@dataclass
class Request:
    """One request in flight and what to call when its answer comes."""

    id: int
    op: str
    on_done: Callback | None = None
    on_error: Callback | None = None  # called with a one-line message
    on_progress: Callable[[str, int, int], None] | None = None
    on_cancelled: Callable[[], None] | None = None
    owner: int | None = None  # id() of the window that asked (see ``forget``)
    on_data: Callback | None = None  # partial results streamed in progress events (activations)


class KerasClient(QObject):
    """Requests to the Keras worker process (see module docstring)."""

    ready = Signal()  # TensorFlow is imported in the worker
    import_failed = Signal(str)
    died = Signal(str)  # one line: the worker stopped on its own

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.process: QProcess | None = None
        self.is_ready = False
        self.starts = 0  # processes started so far (a restart after a crash adds one)
        self._next_id = 1
        self._open: dict[int, Request] = {}
        self._buffer = b""
        self._stderr: list[str] = []
        self._closing = False
        # the user's --custom-code / --unsafe (``core.consent.Consent.to_json``), sent with every
        # request: the worker imports that code, this process never does
        self.consent: dict[str, Any] = dict(launch_consent)

    # --- process ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    @property
    def pid(self) -> int | None:
        return int(self.process.processId()) if self.running else None

    @property
    def pending(self) -> int:
        return len(self._open)

    def start(self) -> None:
        """Start the worker (TensorFlow begins importing there) unless it runs already."""
        if self.running:
            return
        self._closing = False
        self.is_ready = False
        self._buffer, self._stderr = b"", []
        process = QProcess(self)
        process.setProgram(sys.executable)
        checkout = _source_checkout(ROOT)
        flags = [] if checkout else ["-P"]  # from a wheel, keep the working directory off sys.path too
        process.setArguments([*flags, "-m", "resect.core.keras_backend.service"])
        env = QProcessEnvironment.systemEnvironment()
        if checkout:
            # Only from a checkout: for an installed wheel ROOT is site-packages, and putting it
            # on PYTHONPATH (or using it as the working directory of ``-m``) would place it
            # ahead of the standard library.
            process.setWorkingDirectory(str(ROOT))
            env.insert("PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
        env.insert("TF_CPP_MIN_LOG_LEVEL", "3")
        process.setProcessEnvironment(env)
        process.readyReadStandardOutput.connect(self._read)
        process.readyReadStandardError.connect(self._read_errors)
        process.finished.connect(self._finished)
        self.process = process
        self.starts += 1
        process.start()

    def shutdown(self, msecs: int = 5000) -> None:
        """Ask the worker to quit (a running export stops between steps and cleans up),
        wait up to ``msecs``, then kill it. Open requests end as cancelled, silently."""
        process, self.process = self.process, None
        self._closing = True
        self._open.clear()
        if process is None:
            return
        if process.state() != QProcess.ProcessState.NotRunning:
            process.write(b'{"op": "quit"}\n')
            process.closeWriteChannel()
            if not process.waitForFinished(msecs):
                process.kill()
                process.waitForFinished(2000)
        process.deleteLater()

    # --- requests --------------------------------------------------------------------
    def request(
        self,
        op: str,
        payload: dict[str, Any],
        on_done: Callback | None = None,
        on_error: Callback | None = None,
        on_progress: Callable[[str, int, int], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        owner: object = None,
        on_data: Callback | None = None,
    ) -> int:
        """Send ``{"op": op, **payload}``; returns the request id (for ``cancel``).
        ``owner`` (a window) lets ``forget`` drop the request when that window closes;
        ``on_data`` receives the partial results some requests stream (activations)."""
        self.start()
        request = Request(
            self._next_id, op, on_done, on_error, on_progress, on_cancelled, None if owner is None else id(owner),
            on_data,
        )  # fmt: skip
        self._next_id += 1
        self._open[request.id] = request
        consent = {"consent": self.consent} if self.consent and "consent" not in payload else {}
        self._write({"id": request.id, "op": op, **consent, **payload})
        return request.id

    def cancel(self, request_id: int) -> None:
        if request_id in self._open and self.running:
            self._write({"op": "cancel", "id": request_id})

    def forget(self, owner: object) -> None:
        """``owner`` is going: cancel its requests and never call their callbacks."""
        for request in [r for r in self._open.values() if r.owner == id(owner)]:
            self.cancel(request.id)
            del self._open[request.id]

    def is_open(self, request_id: int) -> bool:
        return request_id in self._open

    def wait_for(self, request_id: int, msecs: int = 60_000) -> bool:
        """Block until ``request_id`` has its answer (tests, closing a dialog)."""
        remaining = msecs
        while request_id in self._open and self.running and remaining > 0:
            self.process.waitForReadyRead(min(remaining, 200))
            self._read()
            remaining -= 200
        return request_id not in self._open

    def _write(self, obj: dict[str, Any]) -> None:
        self.process.write((json.dumps(obj) + "\n").encode())

    # --- replies ---------------------------------------------------------------------
    def _read(self) -> None:
        if self.process is None:
            return
        self._buffer += bytes(self.process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            if line.startswith(b"{"):
                self._message(json.loads(line))

    def _read_errors(self) -> None:
        if self.process is None:
            return
        text = bytes(self.process.readAllStandardError().data()).decode(errors="replace")
        self._stderr = (self._stderr + [line for line in text.splitlines() if line.strip()])[-STDERR_TAIL:]
        if text.strip():
            sys.stderr.write(text if text.endswith("\n") else text + "\n")

    def _message(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        if event == "ready":
            self.is_ready = True
            self.ready.emit()
            return
        if event == "import_failed":
            self.import_failed.emit(str(message.get("message", "TensorFlow could not be imported")))
            return
        request = self._open.get(int(message.get("id", -1)))
        if request is None:
            return
        if event == "progress":
            if request.on_data is not None and "data" in message:
                request.on_data(message["data"])
            if request.on_progress is not None:
                request.on_progress(str(message["stage"]), int(message["done"]), int(message["total"]))
            return
        del self._open[request.id]
        if event == "done" and request.on_done is not None:
            request.on_done(message.get("result"))
        elif event == "cancelled" and request.on_cancelled is not None:
            request.on_cancelled()
        elif event == "failed" and request.on_error is not None:
            request.on_error(str(message.get("message", f"{request.op} failed")))

    def _finished(self, code: int, _status: Any) -> None:
        process = self.sender()
        if process is not self.process:  # an old process (after shutdown or a restart)
            return
        self._read()
        self._read_errors()
        self.process = None
        process.deleteLater()
        if self._closing:
            return
        last = self._stderr[-1] if self._stderr else "no message"
        message = f"The Keras worker process stopped (exit {code}): {last}"
        requests, self._open = list(self._open.values()), {}
        for request in requests:
            if request.on_error is not None:
                request.on_error(message)
        self.died.emit(message)


launch_consent: dict[str, Any] = {}  # ``python main.py MODEL --custom-code ...`` (set by app.launch)
_shared: KerasClient | None = None
_users = 0


def acquire() -> KerasClient:
    """The app's shared worker client (created on first use; started by ``start``)."""
    global _shared, _users
    if _shared is None:
        _shared = KerasClient()
    _users += 1
    return _shared


def release(client: KerasClient) -> None:
    """One user less; the last one shuts the worker down."""
    global _shared, _users
    if client is not _shared:
        client.shutdown()
        return
    _users -= 1
    if _users <= 0:
        _shared, _users = None, 0
        client.shutdown()
