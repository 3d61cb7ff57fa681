"""The ``reinitialize`` edit: chosen layers get fresh weights from their own initializers.

The graph only marks them (``Layer.fresh_weights``, ``fresh_seed``); the Keras backend
rebuilds each from its config, as ``keras.models.clone_model`` does, so the weights come
from the layer's own initializers. A layer inside a nested model inlines that model
first (as the other edits do). Layers without weights are left as they are.
"""

from __future__ import annotations

from dataclasses import replace

from resect.core.graph import ModelGraph
from resect.core.surgery.edits import Reinitialize
from resect.core.surgery.errors import EditError
from resect.core.surgery.layer_ops import _any_layer, _selected


def reinitialize(graph: ModelGraph, edit: Reinitialize) -> ModelGraph:
    if edit.all:
        names = [layer.name for layer in graph.layers]
    else:
        graph, names, inner = _selected(graph, edit)
        for path in inner:
            graph, layer = _any_layer(graph, "/".join(path))
            names.append(layer.name)
    chosen = {name for name in names if graph.layer(name).weights and not graph.layer(name).is_input}
    if not chosen:
        raise EditError("none of the chosen layers has weights; nothing to re-initialise")
    layers = tuple(
        replace(layer, fresh_weights=True, fresh_seed=edit.seed) if layer.name in chosen else layer
        for layer in graph.layers
    )
    return graph.with_layers(layers)
