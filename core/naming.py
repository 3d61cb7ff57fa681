"""Keras' own naming rule, needed without importing Keras: where ``.keras`` files keep a
layer's weights, what an automatic layer name looks like, and names for new layers."""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=1024)  # called once per layer with few distinct class names
def to_snake_case(name: str) -> str:
    """``keras.src.utils.naming.to_snake_case``.

    >>> to_snake_case("GlobalAveragePooling2D")
    'global_average_pooling2d'
    """
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
