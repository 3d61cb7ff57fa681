"""Numerical proof that an exported model computes what the original computed.

Which tensors can be compared is decided from the graphs alone: a tensor of the edited
model is *faithful* when it is made by a kept layer (same object or a copy with every
weight kept) called on faithful tensors exactly as in the original call it came from;
a cut input is faithful to the original tensor it replaces. Every faithful tensor that
is a model output or feeds something new (a replaced head, an inserted layer) is
compared. The original side runs the original model on random input (or, after an
input-shape change, a clone of its kept trunk at the new shape with the original
weights, made by ``keras.models.clone_model``); the exported side is the file reloaded
from disk with ``keras.models.load_model``, fed the original's activations at each
cut input.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from resect.core.errors import ResectError
from resect.core.graph import ModelGraph, Node
from resect.core.keras_backend.build import BuiltModel, keras_tensor, local_ref, nested_place, topological_nodes
from resect.core.keras_backend.formats import FORMATS, KERAS_TOLERANCES, ExportOptions
from resect.core.keras_backend.runtime import import_keras, run_deep
from resect.core.tensor_ref import TensorRef

__all__ = ["TOLERANCES", "Check", "VerifyError", "VerifyReport", "faithful_tensors", "verify_export"]

TOLERANCES = KERAS_TOLERANCES  # Keras' own files; converted formats: core.keras_backend.formats
BATCH = 2
FREE_DIM = 32  # for dimensions the model leaves open (None)
KERAS_MODEL = "the Keras model before conversion"  # Check.original of a converted file's new output


class VerifyError(ResectError):
    """The exported model does not compute what the original computed."""


@dataclass(frozen=True)
class Check:
    """One compared tensor: its name in the exported model and in the original."""

    tensor: str
    original: str
    max_abs_diff: float
    tolerance: float
    is_output: bool
    where: str = "reloaded"  # "reloaded" from disk, or "in memory" (inside a SavedModel)

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance


@dataclass
class VerifyReport:
    checks: list[Check] = field(default_factory=list)
    unchecked_outputs: list[str] = field(default_factory=list)  # made by new or re-initialised layers

    @property
    def max_abs_diff(self) -> float:
        return max((c.max_abs_diff for c in self.checks), default=0.0)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def faithful_tensors(
    original: ModelGraph, edited: ModelGraph, fresh: Collection[str] = frozenset()
) -> dict[TensorRef, TensorRef]:
    """Edited tensor -> the original tensor it must equal (``"outer/inner"`` layer path
    for a tensor of an inlined nested model, as ``source_tensor`` names them). ``fresh``
    names layers whose weights were re-initialised: never faithful."""
    faithful: dict[TensorRef, TensorRef] = {}
    original_inputs = {ref.layer for ref in original.inputs}
    for node in topological_nodes(edited):
        layer = edited.layer(node.layer)
        out0 = TensorRef(layer.name, node.index, 0)
        if layer.is_input:
            if layer.source_tensor is not None:
                faithful[out0] = canonical(original, layer.source_tensor)
            elif layer.origin is not None and len(layer.origin) == 1 and layer.origin[0] in original_inputs:
                faithful[out0] = TensorRef(layer.origin[0])
            continue
        if layer.origin is None or node.origin_index is None or layer.name in fresh:
            continue
        source = _original_call(original, layer.origin, node.origin_index)
        if source is None or not _same_call(node, source, faithful):
            continue
        name = "/".join(layer.origin)
        for index in range(len(node.output_shapes)):
            faithful[TensorRef(layer.name, node.index, index)] = canonical(
                original, TensorRef(name, node.origin_index, index)
            )
    return faithful


def canonical(original: ModelGraph, ref: TensorRef) -> TensorRef:
    """One name per original tensor: an output of a nested model's graph is named as
    the output of that model's call (``func_block:1:0``, not ``func_block/inner_add:1:0``)."""
    if "/" not in ref.layer:
        return ref
    outer_name, inner_name = ref.layer.split("/", 1)
    if not original.has_layer(outer_name) or original.layer(outer_name).subgraph is None:
        return ref
    sub = original.layer(outer_name).subgraph
    if not sub.has_layer(inner_name):
        return ref
    call, index = divmod(ref.node_index, max(len(sub.layer(inner_name).nodes), 1))
    inner = TensorRef(inner_name, index, ref.tensor_index)
    if inner in sub.outputs:
        return TensorRef(outer_name, call, sub.outputs.index(inner))
    return ref


def _original_call(original: ModelGraph, origin: tuple[str, ...], index: int) -> Node | None:
    """The original call an edited call came from, with its arguments written in the
    original's tensor names (``"outer/inner"`` inside a nested model)."""
    if len(origin) == 1:
        if not original.has_layer(origin[0]) or not 0 <= index < len(original.layer(origin[0]).nodes):
            return None
        return original.layer(origin[0]).nodes[index]
    if len(origin) != 2 or not original.has_layer(origin[0]):
        return None
    outer = original.layer(origin[0])
    sub = outer.subgraph
    if sub is None or not sub.has_layer(origin[1]):
        return None
    count = max(len(sub.layer(origin[1]).nodes), 1)
    call, inner_index = divmod(index, count)
    if call >= len(outer.nodes) or inner_index >= len(sub.layer(origin[1]).nodes):
        return None
    outer_inputs = dict(zip(sub.inputs, outer.nodes[call].inputs, strict=False))

    def rename(ref: TensorRef) -> TensorRef:
        if ref in outer_inputs:
            return outer_inputs[ref]
        calls = max(len(sub.layer(ref.layer).nodes), 1)
        return canonical(
            original, TensorRef(f"{outer.name}/{ref.layer}", call * calls + ref.node_index, ref.tensor_index)
        )

    inner = sub.layer(origin[1]).nodes[inner_index]
    return replace(inner, args=_map(inner.args, rename), kwargs=_map(dict(inner.kwargs), rename))


def _map(value: Any, fn: Any) -> Any:
    if isinstance(value, TensorRef):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map(v, fn) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_map(v, fn) for v in value]
    return value


def _same_call(node: Node, source: Node, faithful: dict[TensorRef, TensorRef]) -> bool:
    """Same arguments as the original call, tensor for (faithful) tensor."""
    if any(ref not in faithful for ref in node.inputs):
        return False
    mapped_args = _map(list(node.args), faithful.__getitem__)
    mapped_kwargs = _map(dict(node.kwargs), faithful.__getitem__)
    return mapped_args == _map(list(source.args), _same) and mapped_kwargs == _map(dict(source.kwargs), _same)


def _same(ref: TensorRef) -> TensorRef:
    return ref


def compared_tensors(edited: ModelGraph, faithful: dict[TensorRef, TensorRef]) -> list[TensorRef]:
    """Faithful tensors that are outputs or feed a call that is not faithful (the
    attach point of a new head, the tensor before an inserted layer)."""
    chosen: dict[TensorRef, None] = {ref: None for ref in edited.outputs if ref in faithful}
    for node in edited.iter_nodes():
        if TensorRef(node.layer, node.index, 0) in faithful:
            continue
        for ref in node.inputs:
            if ref in faithful and not edited.layer(ref.layer).is_input:
                chosen.setdefault(ref, None)
    return list(chosen)


def verify_export(
    original_model: Any,
    original: ModelGraph,
    edited: ModelGraph,
    built: BuiltModel,
    path: str,
    fmt: str,
    seed: int = 0,
    input_shapes: dict[str, tuple[int | None, ...]] | None = None,
    options: ExportOptions | None = None,
    safe_mode: bool = True,
) -> VerifyReport:
    """Compare the model written at ``path`` with the original; raise ``VerifyError``
    naming the first tensor that differs by more than its dtype's tolerance.
    ``input_shapes`` gives the new batch shape of original inputs whose shape the recipe
    changed (needed when a later cut removed that input from the edited graph).
    ``safe_mode=False`` (the user's ``--unsafe``) reloads an export that keeps a Lambda."""
    options = options or ExportOptions()
    report = run_deep(
        _verify, original_model, original, edited, built, path, fmt, seed, input_shapes or {}, options, safe_mode
    )
    for check in report.checks:
        if not check.ok:
            against = check.original if check.original == KERAS_MODEL else f"the original {check.original}"
            raise VerifyError(
                f"verification failed: {check.tensor} differs from {against} "
                f"by {check.max_abs_diff:.3g} (tolerance {check.tolerance:g})"
            )
    return report


def _verify(
    original_model: Any,
    original: ModelGraph,
    edited: ModelGraph,
    built: BuiltModel,
    path: str,
    fmt: str,
    seed: int,
    input_shapes: dict[str, tuple[int | None, ...]],
    options: ExportOptions,
    safe_mode: bool = True,
) -> VerifyReport:
    keras = import_keras()
    faithful = faithful_tensors(original, edited, set(built.reinitialized))
    targets = compared_tensors(edited, faithful)
    report = VerifyReport(unchecked_outputs=[str(ref) for ref in edited.outputs if ref not in faithful])
    spec = FORMATS[fmt]
    # A converted file is also held to the Keras model it was converted from, on the
    # outputs the original cannot vouch for (a new head): the converter's own check.
    new_outputs = [ref for ref in edited.outputs if ref not in faithful] if spec.converted else []
    if not targets and not new_outputs:
        return report
    rng = np.random.default_rng(seed)

    # --- the original side: random input, activations at every needed tensor ---------
    input_refs = [ref for ref in edited.inputs if ref in faithful]
    needed = list(dict.fromkeys(faithful[ref] for ref in input_refs + targets))
    values = _original_values(keras, original_model, original, edited, built, needed, rng, input_shapes)

    # --- the exported side: run by its runtime, fed the original's activations --------
    edited_feed = [
        values[faithful[ref]]
        if ref in faithful
        else _random(rng, tuple(built.tensors[ref].shape), str(built.tensors[ref].dtype), edited, ref)
        for ref in edited.inputs
    ]
    outputs = _exported_values(keras, built, edited, path, fmt, targets + new_outputs, edited_feed, safe_mode)
    expected_values = {ref: (values[faithful[ref]], str(faithful[ref])) for ref in targets}
    if new_outputs:
        probe = keras.Model(built.model.inputs, [built.tensors[ref] for ref in new_outputs])
        in_memory = _as_list(probe(_structure(probe, edited_feed), training=False))
        for ref, value in zip(new_outputs, in_memory, strict=True):
            expected_values[ref] = (value, KERAS_MODEL)
    for ref, (expected, original_name) in expected_values.items():
        got, where = outputs[ref]
        expected = np.asarray(expected)
        got = np.asarray(got)
        dtype = str(built.tensors[ref].dtype)
        scale = float(np.max(np.abs(expected[np.isfinite(expected)]), initial=0.0)) if expected.size else 0.0
        tolerance = spec.tolerance(dtype, options, scale)
        if got.shape != expected.shape:
            raise VerifyError(f"verification failed: {ref} has shape {got.shape}, the original {expected.shape}")
        diff = max_abs_diff(got, expected)
        report.checks.append(Check(str(ref), original_name, diff, tolerance, ref in edited.outputs, where))
    return report


def _original_values(
    keras: Any,
    original_model: Any,
    original: ModelGraph,
    edited: ModelGraph,
    built: BuiltModel,
    needed: list[TensorRef],
    rng: np.random.Generator,
    input_shapes: dict[str, tuple[int | None, ...]],
) -> dict[TensorRef, Any]:
    """The original's activations at ``needed`` on random input. A tensor inside a nested
    model is computed by that model's own graph, fed its outer call's input values."""
    groups: dict[tuple[str, int], list[tuple[TensorRef, TensorRef]]] = {}
    top: list[TensorRef] = []
    for ref in needed:
        place = nested_place(original_model, ref)
        if place is None:
            top.append(ref)
            continue
        outer, inner_ref, call = place
        groups.setdefault((outer.name, call), []).append((ref, inner_ref))
        top.extend(original.layer(outer.name).nodes[call].inputs)
    top = [ref for ref in dict.fromkeys(top) if ref not in original.inputs]
    reference, feeds = _reference(keras, original_model, original, edited, built, top, rng, input_shapes)
    values: dict[TensorRef, Any] = dict(zip(original.inputs, feeds, strict=True))
    if top:
        values.update(zip(top, _as_list(reference(_structure(reference, feeds), training=False)), strict=True))
    for (outer_name, call), refs in groups.items():
        outer = original_model.get_layer(outer_name)
        probe = keras.Model(outer.inputs, [keras_tensor(outer, inner) for _, inner in refs])
        feed = [values[ref] for ref in original.layer(outer_name).nodes[call].inputs]
        outputs = _as_list(probe(_structure(probe, feed), training=False))
        values.update(zip([ref for ref, _ in refs], outputs, strict=True))
    return values


def _reference(
    keras: Any,
    original_model: Any,
    original: ModelGraph,
    edited: ModelGraph,
    built: BuiltModel,
    needed: list[TensorRef],
    rng: np.random.Generator,
    input_shapes: dict[str, tuple[int | None, ...]],
) -> tuple[Any, list[np.ndarray]]:
    """A model from the original inputs to ``needed``, and random input for it. After an
    input-shape change it is Keras' own ``clone_model`` of the original trunk at the new
    shapes with the original weights (independent of our graph walk and build)."""
    # in our graph's order (a model built on a dict of inputs, as KerasHub's, lists them by key)
    by_layer = {t._keras_history.operation.name: t for t in original_model.inputs}
    originals = [by_layer.get(ref.layer, t) for ref, t in zip(original.inputs, original_model.inputs, strict=True)]
    new_shapes = _changed_input_shapes(original, edited, built, originals)
    for position, ref in enumerate(original.inputs):
        if ref.layer in input_shapes and tuple(input_shapes[ref.layer]) != tuple(originals[position].shape):
            new_shapes.setdefault(position, tuple(input_shapes[ref.layer]))
    shapes = [new_shapes.get(i, tuple(t.shape)) for i, t in enumerate(originals)]
    feeds = [
        _random(rng, shape, str(t.dtype), original, ref)
        for shape, t, ref in zip(shapes, originals, original.inputs, strict=True)
    ]
    if not needed:
        return None, feeds
    trunk = keras.Model(originals, [_original_tensor(original_model, original, ref) for ref in needed])
    if new_shapes:
        inputs = [
            keras.Input(batch_shape=shape, dtype=t.dtype, name=t.name)
            for shape, t in zip(shapes, originals, strict=True)
        ]
        try:  # Keras' own walk of the original graph, its layers called at the new shape
            trunk = keras.models.clone_model(trunk, input_tensors=inputs, clone_function=lambda layer: layer)
        except Exception:  # a layer built for the old shape refuses: fresh layers, original weights
            clone = keras.models.clone_model(trunk, input_tensors=inputs)
            clone.set_weights(trunk.get_weights())
            trunk = clone
    return trunk, feeds


def _changed_input_shapes(
    original: ModelGraph, edited: ModelGraph, built: BuiltModel, originals: list[Any]
) -> dict[int, tuple[int | None, ...]]:
    positions = {ref.layer: i for i, ref in enumerate(original.inputs)}
    changed: dict[int, tuple[int | None, ...]] = {}
    for ref in edited.inputs:
        layer = edited.layer(ref.layer)
        if layer.source_tensor is not None or layer.origin is None or layer.origin[0] not in positions:
            continue
        position = positions[layer.origin[0]]
        shape = tuple(built.tensors[ref].shape)
        if shape != tuple(originals[position].shape):
            changed[position] = shape
    return changed


def _original_tensor(model: Any, graph: ModelGraph, ref: TensorRef) -> Any:
    for position, input_ref in enumerate(graph.inputs):
        if ref == input_ref:
            return model.inputs[position]
    return keras_tensor(model, ref)


def _exported_values(
    keras: Any,
    built: BuiltModel,
    edited: ModelGraph,
    path: str,
    fmt: str,
    targets: list[TensorRef],
    feed: list[Any],
    safe_mode: bool = True,
) -> dict[TensorRef, tuple[Any, str]]:
    """Each target's value in the exported model: the file reloaded by Keras (with the
    consent's ``safe_mode``), or for a served format its outputs from its runtime and any
    inner tensor from memory."""
    spec = FORMATS[fmt]
    if spec.runner is not None:
        return _served_values(keras, spec, built, edited, path, targets, feed)
    reloaded = run_deep(keras.models.load_model, path, compile=False, safe_mode=safe_mode)
    refs = [local_ref(built.model, built.tensors[ref]) for ref in targets]
    probe = keras.Model(reloaded.inputs, [keras_tensor(reloaded, ref) for ref in refs])
    values = _as_list(probe(_structure(probe, feed), training=False))
    return {ref: (value, "reloaded") for ref, value in zip(targets, values, strict=True)}


def _served_values(
    keras: Any, spec: Any, built: BuiltModel, edited: ModelGraph, path: str, targets: list[TensorRef], feed: list[Any]
) -> dict[TensorRef, tuple[Any, str]]:
    """A SavedModel, ONNX or TFLite file only exposes its outputs: those come from its
    runtime, any inner tensor from the built model in memory (the graph that was exported)."""
    found: dict[TensorRef, tuple[Any, str]] = {}
    names = [str(tensor.name) for tensor in built.model.inputs]
    outputs = spec.run(path, [np.asarray(value) for value in feed], names)
    if len(outputs) != len(edited.outputs):
        raise VerifyError(
            f"verification failed: {path} has {len(outputs)} outputs in {spec.runtime}, the model {len(edited.outputs)}"
        )
    for ref, value in zip(edited.outputs, outputs, strict=True):
        if ref in targets:
            found[ref] = (value, "reloaded")
    inner = [ref for ref in targets if ref not in found]
    if inner:
        probe = keras.Model(built.model.inputs, [built.tensors[ref] for ref in inner])
        for ref, value in zip(inner, _as_list(probe(_structure(probe, feed), training=False)), strict=True):
            found[ref] = (value, "in memory")
    return found


def _random(
    rng: np.random.Generator, shape: tuple[int | None, ...], dtype: str, graph: ModelGraph, ref: TensorRef
) -> np.ndarray:
    """Random input of a tensor's shape (``None`` dims: batch 2, others 32) and dtype:
    normal floats, or integers a consuming ``Embedding`` accepts (``[0, input_dim)``),
    else 0 / 1."""
    batch = BATCH if not shape or shape[0] is None else int(shape[0])
    size = (batch, *(FREE_DIM if d is None else int(d) for d in tuple(shape)[1:]))
    if "int" in dtype:
        limits = [
            int(graph.layer(name).config.get("input_dim", 2))
            for name, _ in graph.consumers(ref)
            if graph.layer(name).class_name == "Embedding"
        ]
        return rng.integers(0, min(limits) if limits else 2, size=size).astype(dtype)
    if dtype == "bool":
        return rng.integers(0, 2, size=size).astype(bool)
    return rng.standard_normal(size).astype(dtype)


def max_abs_diff(got: np.ndarray, expected: np.ndarray) -> float:
    """Largest absolute difference; a NaN or infinity must sit at the same place with the
    same value on both sides (a deep random model may overflow), else the difference is inf."""
    if not got.size:
        return 0.0
    got, expected = got.astype("float64"), expected.astype("float64")
    finite = np.isfinite(got) & np.isfinite(expected)
    same_special = (np.isnan(got) & np.isnan(expected)) | (~np.isnan(got) & (got == expected))
    if not np.all(finite | same_special):
        return float("inf")
    return float(np.max(np.abs(got[finite] - expected[finite]), initial=0.0))


def _structure(model: Any, feed: list[Any]) -> Any:
    """Inputs in the structure the model was built with (a single tensor or a list)."""
    return feed[0] if len(feed) == 1 and not isinstance(model._inputs_struct, (list, tuple)) else list(feed)


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]
