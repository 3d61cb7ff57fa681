"""A probe's compiled call: one TensorFlow trace per probe, whatever the batch size.

Measured here on ResNet50 with all 177 tensors as outputs (2 shared cores, loaded):
eager ``model(x)`` 0.52 s a run (0.48 s CPU); ``predict_on_batch`` traced for 7.6 s
(3.6 s CPU) on its first call *and again for every new batch size* (7.3 s for batch 2),
then ran in 0.54 s (0.26 s CPU); a ``tf.function`` over ``model(x, training=False)``
with the inputs' own shapes (batch ``None``) as its signature traced once in 5.0 s
(3.0 s CPU) and ran in 0.39 s (0.20 s CPU) for any batch size.

So a probe runs eagerly until its trace is ready and the trace happens off the request
path: ``trace_soon`` starts it in a background thread (the worker calls it after a
request is answered, while the user looks at the numbers); a run that comes while it
is tracing runs eagerly instead of waiting. One trace thread at a time per process.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from resect.core.keras_backend.runtime import run_deep

__all__ = ["CompiledCall"]

_one_trace_at_a_time = threading.Lock()
_tracing: list[threading.Thread] = []  # background traces started (finished ones dropped)
_closing = threading.Event()
EXIT_WAIT_SECONDS = 30.0


@atexit.register
def _finish_traces() -> None:
    """At exit, let a running trace end (a thread killed inside TensorFlow's C++ aborts the
    process: "terminate called ... exception not rethrown") and start no other. The worker
    does not wait: it leaves with ``os._exit`` (``service.main``)."""
    _closing.set()
    for thread in list(_tracing):
        thread.join(EXIT_WAIT_SECONDS)


class CompiledCall:
    """``model(inputs, training=False)`` as a ``tf.function`` whose signature is the
    model's own input shapes and dtypes (so a new batch size never retraces)."""

    def __init__(self, model: Any) -> None:
        import tensorflow as tf

        self._specs = [tf.TensorSpec(tuple(t.shape), t.dtype, name=None) for t in model.inputs]
        self._shapes = [tuple(t.shape) for t in model.inputs]
        self._dtypes = [np.dtype(str(t.dtype)) for t in model.inputs]

        def call(*inputs: Any) -> Any:
            return model(list(inputs), training=False)

        self._function = tf.function(call, input_signature=self._specs, autograph=False)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._concrete: Any = None
        self.error: str | None = None  # why tracing failed (the probe then stays eager)

    @property
    def ready(self) -> bool:
        return self._concrete is not None

    @property
    def traces(self) -> int:
        """How many times TensorFlow traced this call (one, whatever the batch sizes run)."""
        return int(self._function.experimental_get_tracing_count())

    def fits(self, feeds: Sequence[np.ndarray]) -> bool:
        """Whether ``feeds`` match the signature exactly (else the eager call, whose
        conversions and error messages are Keras' own, takes them)."""
        if len(feeds) != len(self._shapes):
            return False
        for value, shape, dtype in zip(feeds, self._shapes, self._dtypes, strict=True):
            if np.asarray(value).dtype != dtype or len(value.shape) != len(shape):
                return False
            if any(want is not None and want != have for want, have in zip(shape, value.shape, strict=True)):
                return False
        return True

    def trace(self) -> None:
        """Trace now, in this thread (waits for a trace already under way), and run the
        trace once on zeros: its first run took another 2.5 s here (graph optimisation)."""
        with _one_trace_at_a_time:
            if self._concrete is None and self.error is None and not _closing.is_set():
                try:
                    concrete = run_deep(self._function.get_concrete_function)
                    warm = self._zeros()
                    if warm is not None:  # TF optimises the graph on its first run: do that here too
                        concrete(*warm)
                    self._concrete = concrete
                except Exception as error:  # noqa: BLE001 - a graph TF cannot trace: stay eager
                    self.error = f"{type(error).__name__}: {error}"

    def _zeros(self) -> list[np.ndarray] | None:
        """A batch of one zero input, when only the batch size is unknown."""
        if any(d is None for shape in self._shapes for d in shape[1:]):
            return None
        return [np.zeros((1, *shape[1:]), dtype) for shape, dtype in zip(self._shapes, self._dtypes, strict=True)]

    def trace_soon(self) -> None:
        """Trace in a background thread unless done or under way."""
        with self._lock:
            if self.ready or self.error is not None or self._thread is not None or _closing.is_set():
                return
            self._thread = threading.Thread(target=self._trace_in_background, name="probe-trace", daemon=True)
            _tracing.append(self._thread)
            self._thread.start()

    def _trace_in_background(self) -> None:
        try:
            self.trace()
        finally:
            _tracing.remove(threading.current_thread())

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background trace (tests, the bench); whether it is ready."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.ready

    def __call__(self, feeds: Sequence[np.ndarray]) -> list[Any]:
        outputs = self._concrete(*[np.asarray(value) for value in feeds])
        return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
