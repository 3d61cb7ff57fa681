"""Speed helpers shared by the reader, the surgery engine, the layout and the scene."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building or walking many small objects
    that are never cyclic garbage. Automatic collections walk every live object: they cost
    about half of reading a 20,000-layer model and 45% of laying it out. Nothing in these
    code paths makes reference cycles, so reference counting still frees everything.
    Restores the previous state (safe when nested or in threads)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
