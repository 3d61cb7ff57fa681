"""Background work with results delivered on the UI thread.

Every slow step (reading a file, building a scene, importing TensorFlow, loading the
Keras model, reading weight values) runs on a daemon thread, so the window never
freezes and closing it never waits for TensorFlow. Results come back through a
queued Qt signal, so callbacks always run on the UI thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger(__name__)

Callback = Callable[[Any], None]


class _Pool:
    """A few daemon threads draining one queue (daemon: the app can quit mid-import)."""

    def __init__(self, name: str, workers: int) -> None:
        self._queue: queue.Queue[Callable[[], None]] = queue.Queue()
        for i in range(workers):
            threading.Thread(target=self._loop, name=f"resect-{name}-{i}", daemon=True).start()

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            try:
                job()
            except Exception:  # a job must never kill the worker thread
                log.exception("background job failed outside its own handler")
            finally:
                del job  # an idle thread must not keep the last job's closure (and its window) alive
                self._queue.task_done()

    def submit(self, job: Callable[[], None]) -> None:
        self._queue.put(job)


_pools: dict[str, _Pool] = {}
_pools_lock = threading.Lock()


def _shared_pools() -> dict[str, _Pool]:
    """One set of threads per process, whatever the number of windows."""
    with _pools_lock:
        if not _pools:
            _pools["work"] = _Pool("work", 2)
            _pools["keras"] = _Pool("keras", 1)
        return _pools


class TaskRunner(QObject):
    """Run ``fn(*args)`` in the background; call ``on_done(result)`` or ``on_error(exc)`` on
    the UI thread. ``pool="keras"`` serialises TensorFlow work on its own thread so a slow
    Keras load never delays a layout or a weight read."""

    _delivered = Signal(object, object)
    task_started = Signal(str)
    task_finished = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pools = _shared_pools()
        self._delivered.connect(self._deliver)
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """How many tasks have been submitted and not yet delivered (for tests and the status bar)."""
        return self._pending

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callback | None = None,
        on_error: Callback | None = None,
        pool: str = "work",
        name: str = "",
    ) -> None:
        self._pending += 1
        self.task_started.emit(name)

        def job() -> None:
            try:
                result = fn(*args)
            except BaseException as error:  # delivered to the UI, never lost in a thread
                if not isinstance(error, Exception):
                    log.exception("background task %s died", name)
                failure = error
                self._send(lambda: self._finish(name, on_error, failure))
                return
            self._send(lambda: self._finish(name, on_done, result))

        self._pools[pool].submit(job)

    def _send(self, thunk: Callable[[], None]) -> None:
        try:
            self._delivered.emit(thunk, None)
        except RuntimeError:  # the window closed while this task ran: nobody is waiting
            pass

    def _finish(self, name: str, callback: Callback | None, value: Any) -> None:
        self._pending -= 1
        try:
            if callback is not None:
                callback(value)
            elif isinstance(value, BaseException):
                log.error("background task %s failed: %s", name, value)
        finally:
            self.task_finished.emit(name)

    @Slot(object, object)
    def _deliver(self, thunk: Callable[[], None], _unused: object) -> None:
        thunk()
