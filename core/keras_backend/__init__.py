"""The only package of ``core`` that talks to TensorFlow / Keras, always lazily.

Importing this package (or its modules) never imports TensorFlow: Keras is imported
inside functions through ``runtime.import_keras()``, so ``inspect --fast`` and the
GUI start instantly and only pay the ~4 s TensorFlow import when they need Keras.
"""

from __future__ import annotations

__all__ = ["import_keras", "load_keras_model", "load_with_shapes", "fill_shapes", "run_deep"]


def __getattr__(name: str):  # lazy re-exports; no TensorFlow at import time
    if name in ("import_keras", "run_deep"):
        from resect.core.keras_backend import runtime

        return getattr(runtime, name)
    if name in ("load_keras_model", "load_with_shapes", "fill_shapes"):
        from resect.core.keras_backend import loading

        return getattr(loading, name)
    raise AttributeError(f"module 'resect.core.keras_backend' has no attribute {name!r}")
