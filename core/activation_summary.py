"""What the app shows of one activation, small enough to send across a pipe as JSON.

An activation of ResNet50's first block is 112x112x64 floats (3 MB); the app shows its
statistics, a histogram, a grid of downsampled channel maps and, for a classifier
output, the top entries. The Keras worker keeps the arrays and sends only these
(pure NumPy, so the app and tests can make and read them without TensorFlow).

>>> s = summarize(np.arange(6, dtype="float32").reshape(1, 6))
>>> s["shape"], s["stats"]["max"], s["stats"]["zeros"]
([1, 6], 5.0, 0.16666666666666666)
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

__all__ = ["BINS", "GRID_CHANNELS", "TILE", "channel_grid", "decode_grid", "histogram", "summarize", "top_k"]

BINS = 32
TILE = 32  # a channel map is downsampled to at most TILE x TILE pixels
GRID_CHANNELS = 64  # channels shown in a grid (the first ones)


def stats(value: np.ndarray) -> dict[str, float]:
    """min / max / mean / std over finite values, and the fraction of exact zeros."""
    if value.size == 0:
        return {"min": 0.0, "max": 0.0, "mean": 0.0, "std": 0.0, "zeros": 0.0}
    data = value.astype(np.float64, copy=False)
    finite = data[np.isfinite(data)] if not np.all(np.isfinite(data)) else data
    if finite.size == 0:
        return {"min": math.nan, "max": math.nan, "mean": math.nan, "std": math.nan, "zeros": 0.0}
    return {
        "min": float(finite.min()),
        "max": float(finite.max()),
        "mean": float(finite.mean()),
        "std": float(finite.std()),
        "zeros": float(np.count_nonzero(data == 0) / data.size),
    }


def histogram(value: np.ndarray, bins: int = BINS) -> dict[str, list[float]]:
    """Counts over ``bins`` equal bins between the finite min and max."""
    data = value.astype(np.float64, copy=False).ravel()
    data = data[np.isfinite(data)]
    if data.size == 0:
        return {"counts": [], "edges": []}
    low, high = float(data.min()), float(data.max())
    if low == high:
        low, high = low - 0.5, high + 0.5
    counts, edges = np.histogram(data, bins=bins, range=(low, high))
    return {"counts": counts.astype(int).tolist(), "edges": edges.tolist()}


def is_image_like(value: np.ndarray) -> bool:
    """A batch of channels-last feature maps: rank 4, both spatial sizes above 1."""
    return value.ndim == 4 and value.shape[1] > 1 and value.shape[2] > 1


def channel_grid(value: np.ndarray, tile: int = TILE, limit: int = GRID_CHANNELS) -> dict[str, Any] | None:
    """The first ``limit`` channels of batch item 0, each downsampled (block means) to at
    most ``tile`` pixels a side and scaled to 0..255 on its own range, tiled row-major in a
    near-square grid. ``data`` is the grid image (uint8, base64); ``ranges`` the channel's
    own min / max so a viewer can name the channel under the cursor and its values."""
    if not is_image_like(value):
        return None
    maps = value[0].astype(np.float32, copy=False)  # (H, W, C)
    height, width, channels = maps.shape
    shown = min(channels, limit)
    step = max(1, math.ceil(max(height, width) / tile))
    th, tw = math.ceil(height / step), math.ceil(width / step)
    padded = np.zeros((th * step, tw * step, shown), np.float32)
    padded[:height, :width] = maps[:, :, :shown]
    small = padded.reshape(th, step, tw, step, shown).mean(axis=(1, 3))
    low = small.min(axis=(0, 1))
    high = small.max(axis=(0, 1))
    scaled = (small - low) / np.where(high > low, high - low, 1.0)
    scaled = np.nan_to_num(scaled, nan=0.0, posinf=1.0, neginf=0.0)
    cols = math.ceil(math.sqrt(shown))
    rows = math.ceil(shown / cols)
    grid = np.zeros((rows * th, cols * tw), np.uint8)
    for channel in range(shown):
        r, c = divmod(channel, cols)
        grid[r * th : (r + 1) * th, c * tw : (c + 1) * tw] = np.round(scaled[:, :, channel] * 255).astype(np.uint8)
    return {
        "rows": rows,
        "cols": cols,
        "tile": [th, tw],
        "channels": shown,
        "total_channels": int(channels),
        "data": base64.b64encode(grid.tobytes()).decode("ascii"),
        "ranges": [[float(a), float(b)] for a, b in zip(low, high, strict=True)],
    }


def decode_grid(grid: dict[str, Any]) -> np.ndarray:
    """The grid image of ``channel_grid`` as a (rows * th, cols * tw) uint8 array."""
    th, tw = grid["tile"]
    raw = np.frombuffer(base64.b64decode(grid["data"]), dtype=np.uint8)
    return raw.reshape(grid["rows"] * th, grid["cols"] * tw)


def grid_channel_at(grid: dict[str, Any], row: int, col: int) -> int | None:
    """The channel whose tile holds grid pixel (``row``, ``col``), or ``None``."""
    th, tw = grid["tile"]
    if row < 0 or col < 0 or row >= grid["rows"] * th or col >= grid["cols"] * tw:
        return None
    channel = (row // th) * grid["cols"] + col // tw
    return channel if channel < grid["channels"] else None


def top_k(value: np.ndarray, k: int = 5) -> list[list[float]] | None:
    """For a (batch, classes) output: the ``k`` largest entries of item 0 as [index, value]."""
    if value.ndim != 2 or value.shape[1] < 2:
        return None
    row = value[0].astype(np.float64)
    order = np.argsort(-row, kind="stable")[:k]
    return [[int(i), float(row[i])] for i in order]


def summarize(value: np.ndarray, bins: int = BINS) -> dict[str, Any]:
    """Shape, dtype, statistics and histogram: what every tensor sends (grids and top-k
    are asked for per tensor, see ``detail``)."""
    value = np.asarray(value)
    return {
        "shape": [int(d) for d in value.shape],
        "dtype": str(value.dtype),
        "stats": stats(value),
        "histogram": histogram(value, bins),
        "image_like": is_image_like(value),
    }


def detail(value: np.ndarray, is_output: bool, k: int = 5) -> dict[str, Any]:
    """``summarize`` plus the channel grid (4D maps) and top-k (a model output of rank 2)."""
    found = summarize(value)
    found["grid"] = channel_grid(np.asarray(value))
    found["top_k"] = top_k(np.asarray(value), k) if is_output else None
    return found
