"""The immutable model graph: what a Keras model file says, without running it.

Names mirror Keras 3 (``keras/src/ops/node.py``, ``models/functional.py``): a
``Layer`` is called once per ``Node``; a node's outputs are addressed by
``TensorRef(layer, node_index, tensor_index)`` exactly like ``keras_history``.
Nested models are layers that carry a ``subgraph``. Nothing here changes after
construction: edits build new graphs, so any state is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from resect.core.errors import UnknownTensorError
from resect.core.tensor_ref import TensorRef

Shape = tuple[int | None, ...]

OPERATION_MODULE_PREFIXES = ("keras.src.ops.", "keras.ops.")


def is_operation_module(module: str | None) -> bool:
    """Whether a config entry's ``module`` is one of Keras' operation modules."""
    return bool(module) and str(module).startswith(OPERATION_MODULE_PREFIXES)


@dataclass(frozen=True)
class Weight:
    """One variable of a layer, known from the file's metadata only (no values)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    trainable: bool
    h5_path: str = ""

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        itemsize = {"float16": 2, "bfloat16": 2, "float64": 8, "int64": 8, "int8": 1, "uint8": 1}
        return self.size * itemsize.get(self.dtype, 4)


@dataclass(frozen=True)
class Node:
    """One call of a layer: its arguments (``TensorRef`` leaves) and tensor shapes."""

    layer: str
    index: int
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    inputs: tuple[TensorRef, ...] = ()
    input_shapes: tuple[Shape | None, ...] = ()
    output_shapes: tuple[Shape | None, ...] = (None,)
    origin_index: int | None = None  # index of this call in the original file; None for new calls

    @property
    def outputs(self) -> tuple[TensorRef, ...]:
        return tuple(TensorRef(self.layer, self.index, i) for i in range(len(self.output_shapes)))

    @property
    def key(self) -> tuple[str, int]:
        return (self.layer, self.index)


@dataclass(frozen=True)
class Layer:
    """A layer as the file describes it. ``problem`` says why Keras could not load it
    safely (a ``Lambda``, an unknown custom class); the graph still shows it."""

    name: str
    class_name: str
    config: Mapping[str, Any]
    trainable: bool = True
    module: str | None = None
    registered_name: str | None = None
    weights: tuple[Weight, ...] = ()
    nodes: tuple[Node, ...] = ()
    subgraph: ModelGraph | None = None
    problem: str | None = None
    # Provenance, so an edited graph can be rebuilt from the original Keras objects:
    origin: tuple[str, ...] | None = None  # path of the original layer (nested models first); None if new
    source_tensor: TensorRef | None = None  # for an input made by a cut: the original tensor it stands for
    fresh_weights: bool = False  # a reinitialize edit: rebuilt from its config, its own initializers
    fresh_seed: int | None = None  # that edit's seed (reproducible initial weights), if it gave one

    @property
    def is_input(self) -> bool:
        return self.class_name == "InputLayer"

    @property
    def is_operation(self) -> bool:
        """A Keras 3 operation node (``x + 3.0``, an ``ops.*`` call): in the functional
        graph but not in ``model.layers``; it has no weights and is called like a layer."""
        return is_operation_module(self.module)

    @property
    def params(self) -> int:
        return sum(w.size for w in self.weights)

    @property
    def trainable_params(self) -> int:
        return sum(w.size for w in self.weights if w.trainable)

    @property
    def non_trainable_params(self) -> int:
        return self.params - self.trainable_params

    def node(self, index: int) -> Node:
        if not 0 <= index < len(self.nodes):
            raise UnknownTensorError(f"layer {self.name!r} has no call {index}")
        return self.nodes[index]


@dataclass(frozen=True)
class CodeDefined:
    """What a file records of a model whose layer graph exists only in code (a KerasHub
    Backbone or Task: its config holds constructor hyperparameters, not layers). Without
    Keras this is all there is: the class, its hyperparameters, the weight tree with
    shapes (so parameter counts), asset files; Keras builds the real graph."""

    NOTE = "its layer graph exists only in code: Keras builds it (inspect without --fast, or the app's worker)"

    class_name: str
    module: str | None
    registered_name: str | None
    config: Mapping[str, Any]
    weights: tuple[Weight, ...]
    assets: tuple[str, ...] = ()  # tokenizer / preprocessor files of a preset directory
    problem: str | None = None  # why Keras could not build it here (keras_hub missing, ...)


@dataclass(frozen=True)
class ModelGraph:
    """A functional graph of layers, with the model's input and output tensors.

    >>> graph.layer("conv1_conv").params          # doctest: +SKIP
    9472
    >>> graph.consumers(TensorRef("conv1_relu"))  # doctest: +SKIP
    [('pool1_pad', 0)]
    """

    name: str
    layers: tuple[Layer, ...]
    inputs: tuple[TensorRef, ...]
    outputs: tuple[TensorRef, ...]
    class_name: str = "Functional"
    format: str = "keras"
    path: str = ""
    # Keras 2 -> 3 rewrites (core.upgrade.Rewrite) the file needs before Keras 3 loads it
    upgrades: tuple[Any, ...] = ()
    code_defined: CodeDefined | None = None  # set, with no layers, until Keras built the graph

    # --- lookups (computed once per immutable graph) -------------------------
    @cached_property
    def _by_name(self) -> dict[str, Layer]:
        return {layer.name: layer for layer in self.layers}

    @cached_property
    def _consumers(self) -> dict[TensorRef, list[tuple[str, int]]]:
        found: dict[TensorRef, list[tuple[str, int]]] = {}
        for layer in self.layers:
            for node in layer.nodes:
                for ref in dict.fromkeys(node.inputs):
                    found.setdefault(ref, []).append(node.key)
        return found

    def has_layer(self, name: str) -> bool:
        return name in self._by_name

    def layer(self, name: str) -> Layer:
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownTensorError(f"no layer named {name!r} in model {self.name!r}") from None

    def node(self, key: tuple[str, int]) -> Node:
        return self.layer(key[0]).node(key[1])

    def iter_nodes(self) -> Iterator[Node]:
        for layer in self.layers:
            yield from layer.nodes

    def consumers(self, ref: TensorRef) -> list[tuple[str, int]]:
        """The (layer, node_index) calls that take ``ref`` as an input."""
        return list(self._consumers.get(ref, ()))

    def resolve(self, ref: TensorRef | str) -> TensorRef:
        """Check that a tensor exists and return it as a ``TensorRef``."""
        if isinstance(ref, str):
            ref = TensorRef.parse(ref)
        layer = self.layer(ref.layer)
        if not 0 <= ref.node_index < len(layer.nodes):
            raise UnknownTensorError(f"tensor {ref}: layer {ref.layer!r} has {len(layer.nodes)} call(s)")
        node = layer.nodes[ref.node_index]
        if not 0 <= ref.tensor_index < len(node.output_shapes):
            raise UnknownTensorError(
                f"tensor {ref}: call {ref.node_index} of {ref.layer!r} has {len(node.output_shapes)} output(s)"
            )
        return ref

    def shape(self, ref: TensorRef) -> Shape | None:
        shapes = self.node(ref.node_key).output_shapes
        return shapes[ref.tensor_index] if ref.tensor_index < len(shapes) else None

    # --- totals --------------------------------------------------------------
    def all_weights(self) -> Iterator[Weight]:
        """Every weight: the layers', or the file's weight tree of a code-defined model."""
        if not self.layers and self.code_defined is not None:
            yield from self.code_defined.weights
            return
        for layer in self.layers:
            yield from layer.weights

    @property
    def total_params(self) -> int:
        return sum(w.size for w in self.all_weights())

    @property
    def trainable_params(self) -> int:
        return sum(w.size for w in self.all_weights() if w.trainable)

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def weight_bytes(self) -> int:
        return sum(w.nbytes for w in self.all_weights())

    def iter_layers_deep(self, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Layer]]:
        """Every layer with its path of nested-model names, outermost first."""
        for layer in self.layers:
            yield prefix + (layer.name,), layer
            if layer.subgraph is not None:
                yield from layer.subgraph.iter_layers_deep(prefix + (layer.name,))

    def with_layers(self, layers: tuple[Layer, ...]) -> ModelGraph:
        return replace(self, layers=layers)
