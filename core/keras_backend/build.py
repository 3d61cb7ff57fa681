"""Build the edited model in Keras from the original model's own layer objects.

The edited ``ModelGraph`` says what to build; the original ``keras.Model`` supplies the
layers. Kept layers are the original objects (their weights are shared, never copied
by hand), nested models that were not inlined are called whole, new layers come from
their configs through Keras' deserialisation. Calling a layer is Keras' own symbolic
call: the ``TensorRef`` leaves of a node's ``args`` / ``kwargs`` are replaced by the
``KerasTensor`` built for them, as ``Functional._run_through_graph`` does.

Two cases need a fresh object with the original weights copied into it: a layer
renamed by the recipe (the original object keeps its name, the export carries the
new one), and a layer the original object cannot be called for any more because an
input shape changed (``Dense`` after ``Flatten``). There every variable whose shape
still fits is copied; each one that does not is reported by layer name, and the
build refuses unless the recipe accepted re-initialising that layer.
"""

from __future__ import annotations

import graphlib
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from resect.core.errors import ResectError
from resect.core.graph import Layer, ModelGraph, Node
from resect.core.keras_backend.runtime import import_keras, run_deep
from resect.core.keras_backend.tf_ops import call_op, is_tf_op
from resect.core.tensor_ref import TensorRef

__all__ = [
    "BuildError",
    "BuiltModel",
    "ReinitializeError",
    "build",
    "build_model",
    "keras_tensor",
    "local_ref",
    "model_calls",
    "nested_place",
    "original_tensor",
    "operation_named",
    "original_layer",
]


class BuildError(ResectError):
    """The edited graph cannot be built in Keras; names the layer at fault."""

    def __init__(self, layer: str, message: str) -> None:
        self.layer = layer
        super().__init__(message)


class ReinitializeError(BuildError):
    """Trained weights would be lost to an input-shape change the recipe did not accept."""

    def __init__(self, lost: dict[str, list[str]]) -> None:
        self.layers = list(lost)
        names = ", ".join(f"{layer} ({', '.join(v.rsplit('/', 1)[-1] for v in lost[layer])})" for layer in lost)
        super().__init__(
            self.layers[0],
            f"the new input shape does not fit the trained weights of {names}; "
            f'add them to "reinitialize" of set_input_shape (or use ["*"]) to accept fresh weights',
        )


@dataclass
class BuiltModel:
    """The built model plus what the build had to do, for verification and reports."""

    model: Any
    tensors: dict[TensorRef, Any]  # edited tensor -> KerasTensor of the built model
    layers: dict[str, Any]  # edited layer name -> Keras layer object used
    copied: dict[str, str] = field(default_factory=dict)  # layer -> "renamed" | "rebuilt"
    reinitialized: dict[str, list[str]] = field(default_factory=dict)  # layer -> variables left fresh
    original_flags: list[tuple[Any, bool]] = field(default_factory=list)  # every original layer, outer first

    def restore_trainable(self) -> None:
        """Give the original model's layers back their own trainable flags. Kept layers
        are shared objects, so the edited flags are set on the original's layers too;
        call this once the edited model is saved (``run_apply`` does)."""
        for layer, flag in self.original_flags:  # outer before inner: Keras propagates a flag downwards
            if layer.trainable != flag:
                layer.trainable = flag


def build_model(original: Any, edited: ModelGraph, reinitialize: Collection[str] = ()) -> Any:
    """The edited model as a ``keras.Model`` (see ``build`` for what it does; its kept
    layers are the original's objects, carrying the edited trainable flags)."""
    return build(original, edited, reinitialize).model


def build(original: Any, edited: ModelGraph, reinitialize: Collection[str] = ()) -> BuiltModel:
    """Build ``edited`` from ``original``'s layers. ``reinitialize`` names the layers
    (or ``"*"``) whose weights may start fresh when an input shape change makes the
    trained ones unusable; any other such layer makes the build fail, naming it.
    Runs with a deep stack: Keras recurses once per layer when it makes the Model."""
    return run_deep(_build, original, edited, frozenset(reinitialize))


def _build(original: Any, edited: ModelGraph, reinitialize: frozenset[str]) -> BuiltModel:
    keras = import_keras()
    flags = [(layer, bool(layer.trainable)) for layer in original._flatten_layers(include_self=True)]
    builder = _Builder(keras, original, edited)
    try:
        builder.make_fresh()
        for node in topological_nodes(edited):
            builder.call(node)
        accept_all = "*" in reinitialize
        refused = {n: lost for n, lost in builder.reinitialized.items() if not accept_all and n not in reinitialize}
        if refused:
            raise ReinitializeError(refused)
        for name, obj in builder.fresh.items():  # asked for by a reinitialize edit: never compared
            builder.reinitialized[name] = [w.path for w in obj.weights]
    except BaseException:
        BuiltModel(None, {}, {}, original_flags=flags).restore_trainable()
        raise
    inputs = [builder.tensor(ref) for ref in edited.inputs]
    outputs = [builder.tensor(ref) for ref in edited.outputs]
    try:
        model = keras.Model(
            inputs=inputs[0] if len(inputs) == 1 else inputs,
            outputs=outputs[0] if len(outputs) == 1 else outputs,
            name=edited.name,
        )
    except Exception as error:  # Keras raises ValueError / TypeError for graph problems
        BuiltModel(None, {}, {}, original_flags=flags).restore_trainable()
        raise BuildError(edited.name, f"Keras refuses the edited graph: {_reason(error)}") from None
    return BuiltModel(model, builder.tensors, builder.objects, builder.copied, builder.reinitialized, flags)


def topological_nodes(graph: ModelGraph) -> list[Node]:
    """Every call of the graph, each after the calls that produce its inputs
    (iterative: no recursion, whatever the depth)."""
    nodes = {node.key: node for node in graph.iter_nodes()}
    sorter: graphlib.TopologicalSorter[tuple[str, int]] = graphlib.TopologicalSorter()
    for key, node in nodes.items():
        sorter.add(key, *(ref.node_key for ref in node.inputs))
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as error:
        layer = str(error.args[1][0][0])
        raise BuildError(layer, f"the edited graph has a cycle through {layer!r}") from None
    missing = [key for key in order if key not in nodes]
    if missing:
        layer, index = missing[0]
        raise BuildError(layer, f"the edited graph uses tensor {layer}:{index} that no kept layer produces")
    return [nodes[key] for key in order]


def original_layer(original: Any, path: tuple[str, ...]) -> Any:
    """The layer object at ``path`` (nested model names first) inside ``original``."""
    current = original
    for name in path:
        try:
            current = current.get_layer(name)
        except (ValueError, AttributeError):
            found = operation_named(current, name)
            if found is None:
                raise BuildError(name, f"the original model has no layer {'/'.join(path)!r}") from None
            current = found
    return current


def operation_named(model: Any, name: str) -> Any:
    """The operation node (``x + 3.0``: in the graph, not in ``model.layers``) called
    ``name`` in ``model``'s functional graph, or ``None``."""
    for operation in getattr(model, "operations", None) or ():
        if operation.name == name:
            return operation
    return None


def keras_tensor(model: Any, ref: TensorRef) -> Any:
    """The ``KerasTensor`` of ``model``'s own graph that ``ref`` names: output
    ``tensor_index`` of the ``node_index``-th call of the layer inside ``model``
    (calls made outside the model, e.g. by a later build, are not counted)."""
    layer = original_layer(model, (ref.layer,))
    calls = model_calls(model, layer)
    if not 0 <= ref.node_index < len(calls):
        raise BuildError(ref.layer, f"the original model has no tensor {ref}")
    outputs = calls[ref.node_index].outputs
    if not 0 <= ref.tensor_index < len(outputs):
        raise BuildError(ref.layer, f"the original model has no tensor {ref}")
    return outputs[ref.tensor_index]


def nested_place(model: Any, ref: TensorRef) -> tuple[Any, TensorRef, int] | None:
    """For an original tensor inside a nested model (``"outer/inner"`` layer path, call
    index numbered outer-call-major as the surgery engine does): the nested model
    object, the tensor in its own graph, and which call of the nested model it is.
    ``None`` for a top-level tensor."""
    if "/" not in ref.layer:
        return None
    outer_name, inner_name = ref.layer.split("/", 1)
    if "/" in inner_name:
        raise BuildError(ref.layer, f"tensor {ref} lies more than one nested model deep; not supported")
    outer = original_layer(model, (outer_name,))
    inner = original_layer(outer, (inner_name,))
    count = max(len(model_calls(outer, inner)), 1)
    return outer, TensorRef(inner_name, ref.node_index % count, ref.tensor_index), ref.node_index // count


def original_tensor(model: Any, ref: TensorRef) -> Any:
    """``keras_tensor`` that also accepts ``"outer/inner"`` tensors (the tensor of the
    nested model's own graph: right shape and dtype, not tied to one outer call)."""
    place = nested_place(model, ref)
    if place is None:
        return keras_tensor(model, ref)
    return keras_tensor(place[0], place[1])


def model_calls(model: Any, layer: Any) -> list[Any]:
    """``layer``'s Keras nodes that belong to ``model``'s graph, in call order (a nested
    Functional's own construction node and calls made by other models are left out)."""
    from keras.src.ops.function import make_node_key  # the key format of Function._nodes

    own = getattr(model, "_nodes", None)
    if own is None and hasattr(model, "_functional"):  # a Sequential keeps its graph there
        own = getattr(model._functional, "_nodes", None)
    return [n for i, n in enumerate(layer._inbound_nodes) if own is None or make_node_key(layer, i) in own]


def local_ref(model: Any, tensor: Any) -> TensorRef:
    """The ``TensorRef`` (counting only ``model``'s own calls) of a ``KerasTensor``."""
    layer, node_index, tensor_index = tensor._keras_history
    node = layer._inbound_nodes[node_index]
    calls = model_calls(model, layer)
    return TensorRef(layer.name, next(i for i, n in enumerate(calls) if n is node), tensor_index)


class _Builder:
    """Walks the edited calls in order, keeping the tensors and layer objects made."""

    def __init__(self, keras: Any, original: Any, edited: ModelGraph) -> None:
        self.keras = keras
        self.original = original
        self.edited = edited
        self.tensors: dict[TensorRef, Any] = {}
        self.objects: dict[str, Any] = {}
        self.copied: dict[str, str] = {}
        self.reinitialized: dict[str, list[str]] = {}
        self.fresh: dict[str, Any] = {}  # layers a reinitialize edit rebuilds from their config

    def make_fresh(self) -> None:
        """Rebuild every layer a ``reinitialize`` edit marked from its config, in the
        order Keras runs the original and before any call (as ``keras.models.clone_model``:
        initializers draw their seeds when created, so the same seed gives the same
        weights), after seeding Keras
        with the edit's seed when it gave one: weights come from the layers' own
        initializers when they are built."""
        marked = [layer for layer in self.edited.layers if layer.fresh_weights and layer.origin is not None]
        order = _execution_order(self.original)
        marked.sort(key=lambda layer: order.get(layer.origin[0], len(order)))
        seeds = sorted({layer.fresh_seed for layer in marked if layer.fresh_seed is not None})
        if seeds:
            self.keras.utils.set_random_seed(seeds[0])
        for layer in marked:
            source = original_layer(self.original, layer.origin)
            config = {**source.get_config(), "name": layer.name}
            try:
                obj = source.__class__.from_config(config)
            except Exception as error:
                raise BuildError(layer.name, f"layer {layer.name!r} cannot be re-created: {_reason(error)}") from None
            self.objects[layer.name] = obj
            self.fresh[layer.name] = obj

    def tensor(self, ref: TensorRef) -> Any:
        try:
            return self.tensors[ref]
        except KeyError:
            raise BuildError(ref.layer, f"the edited graph uses tensor {ref} that no kept layer produces") from None

    def call(self, node: Node) -> None:
        layer = self.edited.layer(node.layer)
        if layer.is_input:
            self.tensors[TensorRef(layer.name, node.index, 0)] = self._make_input(layer)
            return
        args = _substitute(node.args, self.tensor, self._constant)
        kwargs = _substitute(dict(node.kwargs), self.tensor, self._constant)
        outputs = self._call_layer(layer, args, kwargs)
        flat = self.keras.tree.flatten(outputs)
        for index, tensor in enumerate(flat):
            self.tensors[TensorRef(layer.name, node.index, index)] = tensor

    def _constant(self, value: dict[str, Any]) -> Any:
        """A serialised non-tensor argument (``__slice__``, ``__tuple__``, ...), as Keras'
        ``deserialize_node`` turns it back into a Python value."""
        return self.keras.saving.deserialize_keras_object(value)

    # --- inputs ------------------------------------------------------------------
    def _make_input(self, layer: Layer) -> Any:
        config = dict(layer.config)
        batch_shape = config.get("batch_shape", config.get("batch_input_shape"))
        dtype = _dtype_name(config.get("dtype"))
        if layer.source_tensor is not None and (batch_shape is None or dtype is None):
            source = original_tensor(self.original, layer.source_tensor)
            batch_shape = batch_shape if batch_shape is not None else tuple(source.shape)
            dtype = dtype or source.dtype
        if batch_shape is None and layer.nodes and layer.nodes[0].output_shapes[0] is not None:
            batch_shape = layer.nodes[0].output_shapes[0]
        if batch_shape is None:
            raise BuildError(layer.name, f"input {layer.name!r} has no known shape")
        return self.keras.Input(batch_shape=tuple(batch_shape), dtype=dtype or "float32", name=layer.name)

    # --- layers ------------------------------------------------------------------
    def _call_layer(self, layer: Layer, args: Any, kwargs: Any) -> Any:
        obj = self.objects.get(layer.name)
        if obj is None:
            obj = self._first_object(layer)
            if obj is None:  # a renamed layer: a copy, built by its first call
                return self._call_copy(layer, args, kwargs, "renamed")
            self.objects[layer.name] = obj
        if is_tf_op(obj):  # a tf.keras TFOpLambda: the Keras 3 op itself, so the export needs no custom class
            try:
                return call_op(obj.function, args, kwargs)
            except Exception as error:
                raise BuildError(layer.name, f"TF op {layer.name!r} cannot be built: {_reason(error)}") from None
        _set_trainable(obj, layer)
        try:
            return obj(*args, **kwargs)
        except Exception as error:
            if layer.origin is None or layer.name in self.copied or layer.name in self.fresh:
                raise BuildError(layer.name, f"layer {layer.name!r} cannot be called: {_reason(error)}") from None
            first_error = error
        # The original object was built for other input shapes: rebuild it from its config.
        try:
            return self._call_copy(layer, args, kwargs, "rebuilt")
        except BuildError:
            raise BuildError(
                layer.name, f"layer {layer.name!r} cannot be called on its new input: {_reason(first_error)}"
            ) from None

    def _first_object(self, layer: Layer) -> Any:
        """The object for a layer's first call: the original one, a new one from its
        config, or ``None`` when a renamed copy is needed."""
        if layer.origin is None:
            return self._new_layer(layer)
        source = original_layer(self.original, layer.origin)
        if source.name != layer.name:
            return None
        return source

    def _new_layer(self, layer: Layer) -> Any:
        config = {**dict(layer.config), "name": layer.name}
        entry: dict[str, Any] = {"class_name": layer.class_name, "config": config}
        if layer.module:
            entry["module"] = layer.module
        if layer.registered_name:
            entry["registered_name"] = layer.registered_name
        try:
            obj = self.keras.layers.deserialize(entry)
        except Exception as error:
            raise BuildError(
                layer.name, f"new layer {layer.name!r} ({layer.class_name}) cannot be created: {_reason(error)}"
            ) from None
        return obj

    def _call_copy(self, layer: Layer, args: Any, kwargs: Any, why: str) -> Any:
        """Call a fresh copy of the original layer (new name, or new input shape) and
        copy every original variable whose shape still fits into it."""
        assert layer.origin is not None
        source = original_layer(self.original, layer.origin)
        config = {**source.get_config(), "name": layer.name}
        try:
            copy = source.__class__.from_config(config)
            _set_trainable(copy, layer)
            outputs = copy(*args, **kwargs)
        except Exception as error:
            raise BuildError(layer.name, f"layer {layer.name!r} cannot be rebuilt: {_reason(error)}") from None
        lost = _copy_weights(source, copy)
        self.objects[layer.name] = copy
        self.copied[layer.name] = why
        if lost:
            self.reinitialized[layer.name] = lost
        return outputs


def _execution_order(model: Any) -> dict[str, int]:
    """Top-level layer name -> position in the order Keras runs the model (deepest
    nodes first, as ``Function._run_through_graph``, which ``clone_model`` follows)."""
    by_depth = getattr(model, "_nodes_by_depth", None) or {}
    order: dict[str, int] = {}
    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            operation = getattr(node, "operation", None)
            if operation is not None and operation.name not in order:
                order[operation.name] = len(order)
    return order


def _copy_weights(source: Any, target: Any) -> list[str]:
    """Assign each of ``source``'s variables to ``target``'s (same order, as both come
    from one config); return the paths of those whose shape no longer fits."""
    lost: list[str] = []
    old, new = list(source.weights), list(target.weights)
    if len(old) != len(new):
        return [str(getattr(v, "path", v.name)) for v in new] or [source.name]
    for old_var, new_var in zip(old, new, strict=True):
        if tuple(old_var.shape) == tuple(new_var.shape):
            new_var.assign(old_var.value)
        else:
            lost.append(str(getattr(new_var, "path", new_var.name)))
    return lost


def _set_trainable(obj: Any, layer: Layer) -> None:
    """The edited graph's flags; for a nested model kept whole, its inner layers' too
    (Keras propagates the outer flag down, so the outer one is set first)."""
    obj.trainable = bool(layer.trainable)
    if layer.subgraph is not None and hasattr(obj, "layers"):
        for inner in layer.subgraph.layers:
            if inner.is_input:
                continue
            try:
                inner_obj = obj.get_layer(inner.name)
            except ValueError:
                continue
            _set_trainable(inner_obj, inner)


def _substitute(value: Any, lookup: Any, constant: Any = None) -> Any:
    """Tensors for ``TensorRef`` leaves; serialised objects (a dict with a ``class_name``:
    ``__slice__`` in ``x[:, 0, :]``) through ``constant`` when given."""
    if isinstance(value, TensorRef):
        return lookup(value)
    if isinstance(value, dict):
        if constant is not None and "class_name" in value and "config" in value:
            return constant(value)
        return {k: _substitute(v, lookup, constant) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, lookup, constant) for v in value]
    if isinstance(value, tuple):
        return tuple(_substitute(v, lookup, constant) for v in value)
    return value


def _dtype_name(dtype: Any) -> str | None:
    if isinstance(dtype, dict):  # a serialised DTypePolicy
        dtype = (dtype.get("config") or {}).get("name")
    if dtype in (None, "mixed_float16", "mixed_bfloat16"):
        return None
    return str(dtype)


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 240 else text[:237] + "..."
