"""Find the blocks a user thinks in: residual and inception blocks, name-prefix groups, nested models.

Blocks come from two sources that usually agree and strengthen each other:

* **structure**: every join (``Add`` / ``Concatenate``) whose branches start at one
  fork. The fork is the join's immediate dominator (every path from the inputs to the
  join passes through it); the block is what lies between fork and join.
* **names**: layers sharing a block prefix such as ``conv3_block2_``, ``block_3_``,
  ``block2a_`` or ``pool2_`` (a prefix ends after a name token with a digit; Keras'
  automatic names like ``conv2d_5`` are ignored).

A structural block that fits inside a prefix group takes the group's name and layers
(``conv3_block2`` = the residual block plus its ``_out`` activation). The result is
laminar (two blocks are disjoint or one contains the other), so it forms a tree that
the layer tree and the canvas can collapse level by level.

Layers are addressed by *key*: the layer name at the top level and ``outer/inner`` for
a layer inside a nested model (Keras 3 forbids ``/`` in layer names).

>>> [b.name for b in find_blocks(read_model("resnet50.keras")) if b.kind == "residual"][:2]  # doctest: +SKIP
['conv2_block1', 'conv2_block2']
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from resect.core.graph import Layer, ModelGraph
from resect.core.naming import to_snake_case
from resect.core.perf import paused_gc
from resect.core.tensor_ref import TensorRef

BlockKind = Literal["residual", "inception", "prefix", "nested"]
SEPARATOR = "/"

_JOIN_KINDS: dict[str, BlockKind] = {"Add": "residual", "Concatenate": "inception"}


@dataclass(frozen=True)
class Block:
    """A group of layers that can be drawn as one node.

    ``entry`` is the tensor the block starts from (its fork) and ``exit`` the tensor it
    produces, when there is exactly one of each; ``parent`` names the smallest block
    that contains this one (``None`` at the top).
    """

    name: str
    kind: BlockKind
    layers: tuple[str, ...]
    entry: TensorRef | None
    exit: TensorRef | None
    parent: str | None = None


def layer_key(path: tuple[str, ...]) -> str:
    """The key of a layer from its path of nested-model names: ``("base", "conv1")`` -> ``"base/conv1"``."""
    return SEPARATOR.join(path)


def find_blocks(graph: ModelGraph) -> list[Block]:
    """Every block of ``graph`` (nested models included), outermost first, laminar."""
    with paused_gc():
        candidates: list[Block] = []
        _collect(graph, (), candidates)
        accepted = _laminar(candidates)
        return _name_and_parent(accepted, graph)


# --- collection, per graph level ------------------------------------------------


def _collect(graph: ModelGraph, prefix: tuple[str, ...], out: list[Block]) -> None:
    inner_of = {
        layer_key(prefix + (layer.name,)): [
            layer_key(p) for p, _ in layer.subgraph.iter_layers_deep(prefix + (layer.name,))
        ]
        for layer in graph.layers
        if layer.subgraph is not None
    }
    structural = [_with_inner(b, inner_of) for b in _structural_blocks(graph, prefix)]
    groups = [_with_inner(g, inner_of) for g in _prefix_groups(graph, prefix)]
    used_groups: set[str] = set()
    by_layer: dict[str, list[Block]] = defaultdict(list)
    for group in groups:
        for key in group.layers:
            by_layer[key].append(group)
    for block in structural:
        join_key = block.layers[-1]
        merged = None
        for group in sorted(by_layer.get(join_key, ()), key=lambda g: len(g.layers)):
            members = set(group.layers)
            if members.issuperset(block.layers) and len(members) - len(block.layers) <= max(2, len(block.layers) // 2):
                merged = group
                break
        if merged is not None:
            used_groups.add(merged.name)
            out.append(Block(merged.name, block.kind, merged.layers, block.entry, merged.exit or block.exit))
        else:
            out.append(block)
    out.extend(group for group in groups if group.name not in used_groups)
    for layer in graph.layers:
        if layer.subgraph is not None:
            path = prefix + (layer.name,)
            inner = [layer_key(p) for p, _ in layer.subgraph.iter_layers_deep(path)]
            entry = layer.nodes[0].inputs[0] if layer.nodes and layer.nodes[0].inputs else None
            out.append(
                Block(
                    layer_key(path),
                    "nested",
                    (layer_key(path), *inner),
                    _qualify(entry, prefix),
                    TensorRef(layer_key(path)),
                )
            )
            _collect(layer.subgraph, path, out)


def _with_inner(block: Block, inner_of: dict[str, list[str]]) -> Block:
    """A block holding a nested model also holds the nested model's layers."""
    if not any(key in inner_of for key in block.layers):
        return block
    keys = [k for key in block.layers for k in (key, *inner_of.get(key, ()))]
    return Block(block.name, block.kind, tuple(keys), block.entry, block.exit, block.parent)


def _qualify(ref: TensorRef | None, prefix: tuple[str, ...]) -> TensorRef | None:
    if ref is None or not prefix:
        return ref
    return TensorRef(layer_key(prefix + (ref.layer,)), ref.node_index, ref.tensor_index)


def _structural_blocks(graph: ModelGraph, prefix: tuple[str, ...]) -> list[Block]:
    """Blocks between a join and its fork (immediate dominator), on the layer graph."""
    import igraph

    names = [layer.name for layer in graph.layers]
    index = {name: i for i, name in enumerate(names)}
    preds: list[set[int]] = [set() for _ in names]
    for i, layer in enumerate(graph.layers):
        for node in layer.nodes:
            for ref in node.inputs:
                j = index.get(ref.layer)
                if j is not None and j != i:
                    preds[i].add(j)
    joins = [i for i, layer in enumerate(graph.layers) if layer.class_name in _JOIN_KINDS and len(preds[i]) >= 2]
    if not joins:
        return []
    root = len(names)
    edges = [(j, i) for i in range(len(names)) for j in preds[i]]
    edges += [(root, i) for i in range(len(names)) if not preds[i]]
    dag = igraph.Graph(n=root + 1, edges=edges, directed=True)
    idom = dag.dominator(root, mode="out")
    blocks = []
    for join in joins:
        fork = idom[join]
        if fork != fork or fork < 0 or fork == root:  # nan (unreachable) or no common fork
            continue
        fork = int(fork)
        members = {join}
        stack = [join]
        while stack:
            for p in preds[stack.pop()]:
                if p != fork and p not in members:
                    members.add(p)
                    stack.append(p)
        ordered = [names[i] for i in sorted(members)]  # file order; the join is last in topological files
        ordered.remove(names[join])
        ordered.append(names[join])
        layer = graph.layers[join]
        entry = next((r for r in layer.nodes[0].inputs if r.layer == names[fork]), None) if layer.nodes else None
        if entry is None:
            entry = TensorRef(names[fork])
        blocks.append(
            Block(
                layer_key(prefix + (names[join],)),
                _JOIN_KINDS[layer.class_name],
                tuple(layer_key(prefix + (n,)) for n in ordered),
                _qualify(entry, prefix),
                _qualify(TensorRef(names[join]), prefix),
            )
        )
    return blocks


def _is_auto_name(layer: Layer) -> bool:
    base = to_snake_case(layer.class_name.rsplit(">", 1)[-1])
    return re.fullmatch(re.escape(base) + r"(_\d+)?", layer.name) is not None


def _block_prefixes(name: str) -> list[str]:
    """``conv3_block2_1_conv`` -> ``["conv3_", "conv3_block2_"]``: prefixes ending after a
    token with a digit; a final all-digit token (a sub-layer index) counts only if it
    is the first such prefix (``block_3_`` in MobileNetV2)."""
    tokens = name.split("_")
    found: list[str] = []
    for i, token in enumerate(tokens[:-1]):
        if any(c.isdigit() for c in token):
            if token.isdigit() and found:
                continue
            found.append("_".join(tokens[: i + 1]) + "_")
    return found


def _prefix_groups(graph: ModelGraph, prefix: tuple[str, ...]) -> list[Block]:
    groups: dict[str, list[Layer]] = defaultdict(list)
    for layer in graph.layers:
        if layer.is_input or _is_auto_name(layer):
            continue
        for candidate in _block_prefixes(layer.name):
            groups[candidate].append(layer)
    blocks = []
    total = len(graph.layers)
    for candidate, members in groups.items():
        if len(members) < 2 or len(members) >= total - 1:
            continue
        member_names = {layer.name for layer in members}
        entries = {
            ref for layer in members for node in layer.nodes for ref in node.inputs if ref.layer not in member_names
        }
        produced = [TensorRef(layer.name, node.index, 0) for layer in members for node in layer.nodes]
        exits = [ref for ref in produced if _consumed_outside(graph, ref, member_names) or ref in graph.outputs]
        blocks.append(
            Block(
                layer_key(prefix + (candidate[:-1],)),
                "prefix",
                tuple(layer_key(prefix + (layer.name,)) for layer in members),
                _qualify(next(iter(entries)), prefix) if len(entries) == 1 else None,
                _qualify(exits[0], prefix) if len(exits) == 1 else None,
            )
        )
    return blocks


def _consumed_outside(graph: ModelGraph, ref: TensorRef, members: set[str]) -> bool:
    return any(layer not in members for layer, _ in graph.consumers(ref))


# --- making the set a tree ---------------------------------------------------------


def _laminar(candidates: list[Block]) -> list[Block]:
    """Keep blocks that nest: largest first, a block is kept only if all its layers
    currently belong to the same innermost block (or to none), and it is not a copy."""
    owner: dict[str, int] = {}
    accepted: list[Block] = []
    seen: set[frozenset[str]] = set()
    order = sorted(range(len(candidates)), key=lambda i: (-len(candidates[i].layers), i))
    for i in order:
        block = candidates[i]
        members = frozenset(block.layers)
        if len(members) < 2 or members in seen:
            continue
        owners = {owner.get(key, -1) for key in members}
        if len(owners) != 1:
            continue
        seen.add(members)
        number = len(accepted)
        accepted.append(block)
        for key in members:
            owner[key] = number
    return accepted


def _name_and_parent(blocks: list[Block], graph: ModelGraph) -> list[Block]:
    """Unique names (a clash gets ``#2``) and each block's parent, outermost first."""
    layer_keys = {layer_key(path) for path, _ in graph.iter_layers_deep()}
    names: list[str] = []
    taken: set[str] = set()
    for block in blocks:
        name = block.name
        if name in layer_keys and name not in block.layers:
            name = f"{name} block"
        base, n = name, 2
        while name in taken:
            name, n = f"{base}#{n}", n + 1
        taken.add(name)
        names.append(name)
    innermost: dict[str, int] = {}
    parents: list[str | None] = []
    for i, block in enumerate(blocks):  # largest first: a block's parent is already placed
        owners = {innermost.get(key) for key in block.layers}
        parent = owners.pop() if len(owners) == 1 else None
        parents.append(names[parent] if parent is not None else None)
        for key in block.layers:
            innermost[key] = i
    return [Block(names[i], b.kind, b.layers, b.entry, b.exit, parents[i]) for i, b in enumerate(blocks)]


LARGE_MODEL_LAYERS = 300  # above this, a model opens with its blocks collapsed


def default_collapsed(blocks: list[Block], layer_count: int | None = None) -> frozenset[str]:
    """The blocks to collapse for a readable overview of a large model: the one rule for
    the app's first view and ``resect render --collapse auto``.

    The outermost residual / inception blocks (``conv3_block2``, ``mixed5``), and name
    groups or nested models that hold no such block (``conv1``, ``pool2``, ``block_1``);
    a group or nested model that does hold them stays open so its blocks show. Given
    ``layer_count`` (the model's top-level layers), a model of at most
    ``LARGE_MODEL_LAYERS`` reads well flat and gets none.
    """
    if layer_count is not None and layer_count <= LARGE_MODEL_LAYERS:
        return frozenset()
    by_name = {block.name: block for block in blocks}
    holds_structural: set[str] = set()
    for block in blocks:
        if block.kind in ("residual", "inception"):
            parent = block.parent
            while parent is not None:
                holds_structural.add(parent)
                parent = by_name[parent].parent
    chosen: set[str] = set()
    for block in blocks:  # outermost first
        parent, inside = block.parent, False
        while parent is not None and not inside:
            inside = parent in chosen
            parent = by_name[parent].parent
        if inside:
            continue
        if block.kind in ("residual", "inception") or block.name not in holds_structural:
            chosen.add(block.name)
    return frozenset(chosen)
