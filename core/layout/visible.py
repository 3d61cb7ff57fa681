"""What the layout draws: the visible items of a graph and the edges between them.

An item is a layer (a nested model's inner layers when it is expanded) or a collapsed
block. Keys are layer keys (``outer/inner`` inside nested models) or block names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from resect.core.analysis.blocks import Block, layer_key
from resect.core.graph import Layer, ModelGraph
from resect.core.layout.items import ItemInfo
from resect.core.render import labels
from resect.core.tensor_ref import TensorRef


@dataclass
class VisibleGraph:
    """Items in drawing order (``keys``), what each draws, and the tensors each edge carries."""

    keys: list[str]
    items: dict[str, ItemInfo]
    edges: dict[tuple[str, str], list[TensorRef]]


def visible_graph(
    graph: ModelGraph, collapsed: frozenset[str], blocks: Iterable[Block]
) -> tuple[VisibleGraph, dict[str, str]]:
    """The items to draw and the edges between them, and which item draws each layer key.

    Nested models are expanded into their inner layers unless collapsed; a collapsed
    block (outermost wins) becomes one item; edges between items carry every model
    tensor that flows between them, and edges inside one item disappear.
    """
    atoms: dict[str, Layer] = {}
    level_of: dict[str, ModelGraph] = {}
    deep: dict[str, tuple[str, ...]] = {}

    def walk(level: ModelGraph, prefix: tuple[str, ...]) -> None:
        for layer in level.layers:
            path = prefix + (layer.name,)
            key = layer_key(path)
            if layer.subgraph is not None and key not in collapsed:
                walk(layer.subgraph, path)
            else:
                atoms[key] = layer
                level_of[key] = level
                if layer.subgraph is not None:
                    deep[key] = (key, *(layer_key(p) for p, _ in layer.subgraph.iter_layers_deep(path)))

    walk(graph, ())
    calls = _calls(atoms)
    owner = {key: key for key in atoms}
    block_of: dict[str, Block] = {}
    absorbed: set[str] = set()  # layer keys drawn by a collapsed block (a block may share a layer's name)
    for block in blocks:  # outermost first: an enclosing collapsed block wins
        if block.name not in collapsed or block.kind == "nested":
            continue
        members = [key for key in block.layers if owner.get(key) == key]
        if members:
            block_of[block.name] = block
            for key in members:
                owner[key] = block.name
                absorbed.add(key)
    for key, keys in calls.items():  # each later call of a shared layer has a box of its own
        for call in keys[1:]:
            owner[call] = owner[key] if key in absorbed else call
    outputs = {layer_key((ref.layer,)) for ref in graph.outputs}
    items: dict[str, ItemInfo] = {}
    for key, layer in atoms.items():
        rep = owner[key]
        if rep in items:
            if key in outputs and not items[rep].is_output:
                items[rep] = items[rep]._replace(is_output=True)
            continue
        if key in absorbed:
            block = block_of[rep]
            params = sum(atoms[k].params for k in block.layers if k in atoms)
            items[rep] = ItemInfo(
                kind="block",
                layers=block.layers,
                title=rep,
                subtitle=labels.block_subtitle(graph, block.kind, len(block.layers), block.exit),
                badge=labels.format_count(params) if params else "",
                class_name=block.kind,
                is_output=key in outputs,
            )
        elif key in calls:  # rep == key: not in a block
            for position, (call, node) in enumerate(zip(calls[key], layer.nodes, strict=True)):
                items[call] = ItemInfo(
                    kind="layer",
                    layers=(call,),
                    title=f"{layer.name} (call {position + 1} of {len(layer.nodes)})",
                    subtitle=labels.node_subtitle(layer, node, level_of[key]),
                    badge=labels.layer_badge(layer) if position == 0 else ("shared weights" if layer.params else ""),
                    class_name=layer.class_name,
                    is_output=any(ref.layer == layer.name and ref.node_index == node.index for ref in graph.outputs),
                )
        else:
            items[rep] = ItemInfo(
                kind="layer",
                layers=deep.get(key, (key,)),
                title=layer.name,
                subtitle=labels.layer_subtitle(layer, level_of[key]),
                badge=labels.layer_badge(layer),
                class_name=layer.class_name,
                is_output=key in outputs,
            )
    edges: dict[tuple[str, str], list[TensorRef]] = {}

    def source_of(level: ModelGraph, prefix: tuple[str, ...], ref: TensorRef) -> str | None:
        if not level.has_layer(ref.layer):
            return None
        layer = level.layer(ref.layer)
        key = layer_key(prefix + (layer.name,))
        if key in calls:
            return call_key(key, layer, ref.node_index)
        if key in atoms or layer.subgraph is None or not layer.subgraph.outputs:
            return key
        outs = layer.subgraph.outputs
        return source_of(layer.subgraph, prefix + (layer.name,), outs[min(ref.tensor_index, len(outs) - 1)])

    def target_of(layer: Layer, prefix: tuple[str, ...], position: int, node_index: int = 0) -> str | None:
        key = layer_key(prefix + (layer.name,))
        if key in calls:
            return call_key(key, layer, node_index)
        if key in atoms or layer.subgraph is None:
            return key
        ins = layer.subgraph.inputs
        if not ins or not layer.subgraph.has_layer(ins[min(position, len(ins) - 1)].layer):
            return None
        inner = layer.subgraph.layer(ins[min(position, len(ins) - 1)].layer)
        return target_of(inner, prefix + (layer.name,), 0)

    def connect(level: ModelGraph, prefix: tuple[str, ...]) -> None:
        for layer in level.layers:
            for node in layer.nodes:
                for position, ref in enumerate(node.inputs):
                    src, tgt = source_of(level, prefix, ref), target_of(layer, prefix, position, node.index)
                    if src is None or tgt is None or owner.get(src) is None or owner.get(tgt) is None:
                        continue
                    pair = (owner[src], owner[tgt])
                    if pair[0] == pair[1]:
                        continue
                    tensor = TensorRef(layer_key(prefix + (ref.layer,)), ref.node_index, ref.tensor_index)
                    found = edges.setdefault(pair, [])
                    if tensor not in found:
                        found.append(tensor)
            path = prefix + (layer.name,)
            if layer.subgraph is not None and layer_key(path) not in atoms:
                connect(layer.subgraph, path)

    connect(graph, ())
    return VisibleGraph(list(items), items, edges), owner


def _calls(atoms: dict[str, Layer]) -> dict[str, list[str]]:
    """Box keys of each call of the shared layers (one node per call, as Keras counts them):
    the first call keeps the layer key, call ``n`` is ``key:n`` - the same text as the
    tensor name of that call's output, so a menu on the box acts on that call."""
    return {
        key: [key if i == 0 else f"{key}:{node.index}" for i, node in enumerate(layer.nodes)]
        for key, layer in atoms.items()
        if len(layer.nodes) > 1 and layer.subgraph is None
    }


def call_key(key: str, layer: Layer, node_index: int) -> str:
    """The box drawing call ``node_index`` of a shared layer (see ``_calls``)."""
    first = layer.nodes[0].index
    return key if node_index == first else f"{key}:{node_index}"


def layer_of_box(key: str) -> str:
    """The layer key a box key draws: ``enc2:1`` (call 1 of ``enc2``) -> ``enc2``."""
    head, _, last = key.rpartition("/")
    name, colon, call = last.partition(":")
    if colon and call.isdigit():
        return f"{head}/{name}" if head else name
    return key
