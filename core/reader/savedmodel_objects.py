"""What a tf.keras SavedModel directory says about its model, read without TensorFlow.

``keras_metadata.pb`` (proto ``SavedMetadata``: ``repeated SavedObject nodes = 1`` with
``node_id = 2``, ``node_path = 3``, ``identifier = 4``, ``metadata = 5``) holds the
Keras 2 model config as JSON on its root node. ``saved_model.pb``'s object graph
(``MetaGraphDef.object_graph_def = 7``) links each Keras layer to its variables
(``keras_api/trainable_variables/<i>``, ``keras_api/non_trainable_variables/<i>``: the
order tf.keras saves and loads weights in) and gives each variable's shape, dtype and
name. A variable's key in the checkpoint ``variables/`` is its first path from the root
in breadth-first order, as TensorFlow's checkpointing names it.
"""

from __future__ import annotations

import json
import os
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from resect.core.reader.protowire import LENGTH, WireError, fields, signed, text

DTYPES = {
    1: "float32",
    2: "float64",
    3: "int32",
    4: "uint8",
    6: "int8",
    9: "int64",
    10: "bool",
    14: "bfloat16",
    19: "float16",
}


@dataclass
class Variable:
    name: str  # "dense/kernel:0"
    shape: tuple[int, ...]
    dtype: str
    trainable: bool
    key: str = ""  # "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"


@dataclass
class ObjectNode:
    children: list[tuple[str, int]] = field(default_factory=list)
    variable: Variable | None = None

    def child(self, name: str) -> int | None:
        return next((node for local, node in self.children if local == name), None)


def read_keras_metadata(data: bytes) -> dict[int, tuple[str, dict[str, Any]]]:
    """node_id -> (node_path, metadata JSON) of every Keras object in ``keras_metadata.pb``."""
    found: dict[int, tuple[str, dict[str, Any]]] = {}
    for number, wire, value in fields(data):
        if number != 1 or wire != LENGTH:
            continue
        node_id, path, metadata = 0, "", ""
        for inner, inner_wire, inner_value in fields(value):
            if inner == 2 and inner_wire == 0:
                node_id = signed(inner_value)
            elif inner == 3:
                path = text(inner_value)
            elif inner == 5:
                metadata = text(inner_value)
        found[node_id] = (path, json.loads(metadata, object_hook=_tuples) if metadata else {})
    return found


def _tuples(obj: dict[str, Any]) -> Any:
    """tf.keras' JSON encoder writes tuples as ``{"class_name": "__tuple__", "items": [...]}``
    (its ``json_utils.decode`` turns them back): lists here, as in an ``.h5`` config."""
    if obj.get("class_name") == "__tuple__" and "items" in obj:
        return list(obj["items"])
    return obj


def read_object_graph(data: bytes) -> list[ObjectNode]:
    """The object graph of the first MetaGraph in ``saved_model.pb``, keys filled in."""
    for number, wire, meta_graph in fields(data):
        if number == 2 and wire == LENGTH:
            for inner, inner_wire, graph in fields(meta_graph):
                if inner == 7 and inner_wire == LENGTH:
                    nodes = [_object(value) for n, w, value in fields(graph) if n == 1 and w == LENGTH]
                    _assign_keys(nodes)
                    return nodes
            break
    raise WireError("saved_model.pb has no object graph")


def _object(data: memoryview) -> ObjectNode:
    node = ObjectNode()
    for number, wire, value in fields(data):
        if number == 1 and wire == LENGTH:  # ObjectReference children
            node_id, local = 0, ""
            for inner, inner_wire, inner_value in fields(value):
                if inner == 1 and inner_wire == 0:
                    node_id = signed(inner_value)
                elif inner == 2:
                    local = text(inner_value)
            node.children.append((local, node_id))
        elif number == 7 and wire == LENGTH:  # SavedVariable
            node.variable = _variable(value)
    return node


def _variable(data: memoryview) -> Variable:
    dtype, shape, trainable, name = "float32", (), False, ""
    for number, wire, value in fields(data):
        if number == 1 and wire == 0:
            dtype = DTYPES.get(signed(value), f"dtype_{value}")
        elif number == 2 and wire == LENGTH:
            dims = []
            for inner, inner_wire, dim in fields(value):
                if inner == 2 and inner_wire == LENGTH:
                    size = 0
                    for d_number, d_wire, d_value in fields(dim):
                        if d_number == 1 and d_wire == 0:
                            size = signed(d_value)
                    dims.append(size)
            shape = tuple(dims)
        elif number == 3 and wire == 0:
            trainable = bool(value)
        elif number == 6:
            name = text(value)
    return Variable(name, shape, dtype, trainable)


def _escape(local: str) -> str:
    return local.replace(".", "..").replace("/", ".S")


def _assign_keys(nodes: list[ObjectNode]) -> None:
    seen = {0}
    queue: deque[tuple[int, str]] = deque([(0, "")])
    while queue:
        node_id, path = queue.popleft()
        if not 0 <= node_id < len(nodes):
            raise WireError(f"object graph refers to missing node {node_id}")
        node = nodes[node_id]
        if node.variable is not None:
            node.variable.key = f"{path}/.ATTRIBUTES/VARIABLE_VALUE"
        for local, child in node.children:
            if child not in seen:
                seen.add(child)
                queue.append((child, f"{path}/{_escape(local)}" if path else _escape(local)))


def legacy_variables(nodes: list[ObjectNode], node_id: int) -> list[Variable]:
    """A layer's variables in tf.keras' save order: trainable, then non-trainable."""
    api = nodes[node_id].child("keras_api")
    if api is None:
        return []
    found: list[Variable] = []
    for kind in ("trainable_variables", "non_trainable_variables"):
        holder = nodes[api].child(kind)
        if holder is None:
            continue
        for _, child in sorted(nodes[holder].children, key=lambda c: int(c[0]) if c[0].isdigit() else 0):
            variable = nodes[child].variable
            if variable is not None:  # trainable here means: in the layer's trainable list
                found.append(replace(variable, trainable=kind == "trainable_variables"))
    return found


def layer_nodes(nodes: list[ObjectNode], node_id: int) -> list[int]:
    """The node ids of a model's ``layers`` (tf.keras ``model.layers`` order)."""
    api = nodes[node_id].child("keras_api")
    holder = nodes[api].child("layers") if api is not None else None
    if holder is None:
        return []
    return [child for _, child in sorted(nodes[holder].children, key=lambda c: int(c[0]) if c[0].isdigit() else 0)]


@dataclass
class SavedModelDir:
    """The parsed metadata of one tf.keras SavedModel directory."""

    path: str
    root_config: dict[str, Any]
    metadata: dict[int, tuple[str, dict[str, Any]]]
    nodes: list[ObjectNode]

    @property
    def checkpoint_prefix(self) -> str:
        return os.path.join(self.path, "variables", "variables")

    def layer_weights(self, node_id: int = 0) -> dict[str, tuple[int, list[Variable]]]:
        """Layer name -> (node id, its variables in save order) for a model node."""
        out: dict[str, tuple[int, list[Variable]]] = {}
        for child in layer_nodes(self.nodes, node_id):
            name = str(self.metadata.get(child, ("", {}))[1].get("name", ""))
            out[name] = (child, legacy_variables(self.nodes, child))
        return out
