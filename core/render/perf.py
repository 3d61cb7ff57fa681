"""Speed helpers shared by the layout, the block finder and the scene."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects that are
    never cyclic garbage: collection passes took about 45% of the layout time at
    20,000 layers. Restores the previous state (safe when nested or in threads)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
