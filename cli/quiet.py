"""Keep Keras, TensorFlow and absl from adding their own lines to stderr.

The CLI's contract is one line on stderr for an error; a ``UserWarning`` from Keras'
loader (weights of the wrong shape, a skipped container) or an absl / TensorFlow log
record printed before it would break that. Inside ``keras_quiet()`` Python warnings are
recorded instead of shown and those loggers only pass errors we report ourselves.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator

_LOGGERS = ("absl", "tensorflow", "keras", "h5py", "jax")


@contextlib.contextmanager
def keras_quiet() -> Iterator[list[warnings.WarningMessage]]:
    """Silence Python warnings and the Keras-side loggers; yields the warnings caught."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ log, read at import
    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield caught
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
