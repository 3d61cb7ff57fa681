"""Finding layers by name or class (pure: no Qt), used by the search box."""

from __future__ import annotations

from core.graph import ModelGraph


def find_layers(graph: ModelGraph, text: str) -> list[tuple[str, ...]]:
    """Paths of layers whose name or class contains ``text`` (case-insensitive), in file
    order, nested layers after their model: ``find_layers(g, "conv2d")``."""
    needle = text.strip().lower()
    if not needle:
        return []
    return [
        path
        for path, layer in graph.iter_layers_deep()
        if needle in layer.name.lower() or needle in layer.class_name.lower()
    ]
