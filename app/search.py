"""Finding layers by name or class (pure: no Qt), used by the search box."""

from __future__ import annotations

from resect.core.graph import ModelGraph


def find_layers(graph: ModelGraph, text: str) -> list[tuple[str, ...]]:
    """Paths of layers whose name or class contains ``text`` (case-insensitive), exact
    match first, then in file order (nested layers after their model): ``find_layers(g, "conv2d")``."""
    needle = text.strip().lower()
    if not needle:
        return []
    found = [
        path
        for path, layer in graph.iter_layers_deep()
        if needle in layer.name.lower() or needle in layer.class_name.lower()
    ]
    return sorted(found, key=lambda path: _rank(path[-1].lower(), needle))


def _rank(name: str, needle: str) -> int:
    """Exact name first, then names starting with the text, then the rest (each in file order:
    the sort is stable), so ``mixed9`` comes before ``mixed9_0``."""
    return 0 if name == needle else 1 if name.startswith(needle) else 2
