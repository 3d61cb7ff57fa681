"""Importing Keras quietly, once, and running deep Keras work without RecursionError.

Keras recurses once per layer when it builds or loads a functional model; a
5,000-layer model raised ``RecursionError`` on ``load_model`` at default settings
(DESIGN.md). ``run_deep`` runs such work in a thread with a large stack and a raised
recursion limit, and hands back its result or exception as if called directly.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

DEEP_STACK_BYTES = 512 * 1024 * 1024
DEEP_RECURSION_LIMIT = 200_000

_import_lock = threading.Lock()
_deep_lock = threading.Lock()  # guards the process-wide stack size and recursion limit
_deep_active = 0
_saved_recursion_limit: int | None = None
_keras: Any = None


def import_keras() -> Any:
    """The ``keras`` module on the TensorFlow backend, with TensorFlow's C++ logging off.

    Idempotent and thread-safe: the first caller imports, the others wait for it.
    """
    global _keras
    if _keras is not None:
        return _keras
    with _import_lock:
        if _keras is None:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
            os.environ.setdefault("KERAS_BACKEND", "tensorflow")
            with _native_stderr_filtered():
                import keras

            _keras = keras
    return _keras


# Lines TensorFlow's C++ code writes before its logging is set up, which
# TF_CPP_MIN_LOG_LEVEL does not silence (TF 2.21): noise on every CLI run otherwise.
_NATIVE_NOISE = re.compile(rb"All log messages before absl::InitializeLog|oneDNN custom operations are on")


@contextlib.contextmanager
def _native_stderr_filtered() -> Iterator[None]:
    """Capture file descriptor 2 while TensorFlow loads, then write back every line but
    its start-up notices (everything, if the import fails)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    failed = True
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
            failed = False
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().splitlines(keepends=True)
            kept = b"".join(line for line in lines if failed or not _NATIVE_NOISE.search(line))
            if kept:
                os.write(2, kept)


def keras_is_imported() -> bool:
    """Whether Keras has been imported in this process (by us or anyone else)."""
    return _keras is not None or "keras" in sys.modules


def run_deep(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn(*args, **kwargs)`` in a thread with a 512 MB stack and a raised
    recursion limit; return its result or re-raise its exception here."""
    result: list[Any] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            error.append(exc)

    _enter_deep()
    try:
        with _deep_lock:
            previous = threading.stack_size(DEEP_STACK_BYTES)
            try:
                thread = threading.Thread(target=target, name="resect-keras-deep", daemon=True)
                thread.start()
            finally:
                threading.stack_size(previous)
        thread.join()
    finally:
        _leave_deep()
    if error:
        raise error[0].with_traceback(error[0].__traceback__)
    return result[0]


def _enter_deep() -> None:
    global _deep_active, _saved_recursion_limit
    with _deep_lock:
        if _deep_active == 0:
            _saved_recursion_limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_saved_recursion_limit, DEEP_RECURSION_LIMIT))
        _deep_active += 1


def _leave_deep() -> None:
    global _deep_active
    with _deep_lock:
        _deep_active -= 1
        if _deep_active == 0 and _saved_recursion_limit is not None:
            sys.setrecursionlimit(_saved_recursion_limit)
