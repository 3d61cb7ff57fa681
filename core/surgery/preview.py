"""What an edited graph keeps, drops and adds, and its parameter counts, without TensorFlow.

Counts come from the weight shapes the file records; a layer shared by several calls
counts once (it is one layer). New layers' counts are Keras' answer once the worker has
given it, before that the proved pure-Python rules' (listed in ``estimated``), and where
neither knows the count is ``None`` ("needs Keras") until the worker answers. Runs in well under a millisecond per hundred layers.

>>> p = preview(original, apply_edits(original, [Cut(outputs=("conv4_block6_out",))]))  # doctest: +SKIP
>>> p.total_params, p.delta_total                                                        # doctest: +SKIP
(8589184, -17047528)
"""

from __future__ import annotations

from dataclasses import dataclass

from resect.core.graph import Layer, ModelGraph, Shape
from resect.core.perf import paused_gc
from resect.core.surgery.building import infer_shape, weights_known
from resect.core.surgery.exact import is_exact
from resect.core.surgery.shapes import weight_shapes
from resect.core.tensor_ref import TensorRef


@dataclass(frozen=True)
class TensorInfo:
    """A model input or output: its tensor, shape, and (for a cut input) the original tensor."""

    ref: TensorRef
    shape: Shape | None
    source: TensorRef | None = None

    def __str__(self) -> str:
        dims = "?" if self.shape is None else "x".join("?" if d is None else str(d) for d in self.shape[1:])
        return f"{self.ref} ({dims})"


@dataclass(frozen=True)
class Preview:
    """The document's live summary after every edit (see module docstring)."""

    kept: tuple[str, ...]
    removed: tuple[str, ...]
    new: tuple[str, ...]
    renamed: tuple[tuple[str, str], ...]
    frozen: tuple[str, ...]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    total_params: int | None
    trainable_params: int | None
    non_trainable_params: int | None
    original_total: int
    original_trainable: int
    original_non_trainable: int
    needs_keras: tuple[str, ...] = ()  # new layers whose parameter count needs Keras
    weights_not_fitting: tuple[str, ...] = ()  # kept layers whose weights no longer fit (known shapes)
    estimated: tuple[str, ...] = ()  # layers counted by the proved pure-Python rules, not by Keras yet
    reinitialized: tuple[str, ...] = ()  # kept layers a reinitialize edit gives fresh weights

    @property
    def exact(self) -> bool:
        """Every count is the file's or Keras' own (nothing unknown, nothing estimated)."""
        return not self.needs_keras and not self.estimated

    @property
    def delta_total(self) -> int | None:
        return None if self.total_params is None else self.total_params - self.original_total

    @property
    def delta_trainable(self) -> int | None:
        return None if self.trainable_params is None else self.trainable_params - self.original_trainable

    @property
    def delta_non_trainable(self) -> int | None:
        return None if self.non_trainable_params is None else self.non_trainable_params - self.original_non_trainable

    def summary(self) -> str:
        """One line for a status bar."""
        total = "?" if self.total_params is None else f"{self.total_params:,}"
        delta = "" if self.delta_total is None else f" ({self.delta_total:+,})"
        return (
            f"{len(self.kept) + len(self.new)} layers, {total} params{delta}; "
            f"in: {', '.join(map(str, self.inputs))}; out: {', '.join(map(str, self.outputs))}"
        )


# Layers are immutable and an edit keeps most of them as the same objects: cache per object.
_CACHE: dict[int, tuple[Layer, int, int, bool]] = {}
_CACHE_LIMIT = 200_000


def _counts(layer: Layer) -> tuple[int, int, bool]:
    """(trainable, non-trainable, weights no longer fit) of one layer, using re-estimated
    shapes for a kept layer whose recorded weights do not fit its (known) input shape."""
    entry = _CACHE.get(id(layer))
    if entry is not None and entry[0] is layer:
        return entry[1], entry[2], entry[3]
    refit = _refit(layer)
    if refit is None:
        trainable, non_trainable = layer.trainable_params, layer.non_trainable_params
    else:
        trainable = sum(_size(shape) for _, shape, t in refit if t and layer.trainable)
        non_trainable = sum(_size(shape) for _, shape, _t in refit) - trainable
    if len(_CACHE) > _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[id(layer)] = (layer, trainable, non_trainable, refit is not None)
    return trainable, non_trainable, refit is not None


def _size(shape: tuple[int, ...]) -> int:
    size = 1
    for dim in shape:
        size *= dim
    return size


def _refit(layer: Layer) -> list | None:
    """The weight shapes a kept layer would need at its current input shape, when they
    differ from the recorded ones (``None`` when they fit or are unknown)."""
    if layer.origin is None or not layer.weights or not layer.nodes or layer.subgraph is not None:
        return None
    node = layer.nodes[0]
    if any(s is None for s in node.input_shapes):
        return None
    needed = weight_shapes(layer.class_name, layer.config, list(node.input_shapes))
    if needed is None or len(needed) != len(layer.weights):
        return None
    if all(tuple(w.shape) == tuple(shape) for w, (_, shape, _t) in zip(layer.weights, needed, strict=True)):
        return None
    return needed


def preview(original: ModelGraph, edited: ModelGraph) -> Preview:
    """Compare ``edited`` with ``original`` (both top-level graphs)."""
    with paused_gc():
        return _preview(original, edited)


def _preview(original: ModelGraph, edited: ModelGraph) -> Preview:
    origins: set[tuple[str, ...]] = set()
    tops: set[str] = set()
    kept: list[str] = []
    new: list[str] = []
    renamed: list[tuple[str, str]] = []
    needs: list[str] = []
    estimated: list[str] = []
    not_fitting: list[str] = []
    trainable = non_trainable = 0
    for layer in edited.layers:
        if layer.origin is None:
            new.append(layer.name)
            if not weights_known(layer):
                needs.append(layer.name)
            elif layer.weights and not layer.is_input and not is_exact(layer):
                estimated.append(layer.name)
        else:
            kept.append(layer.name)
            origins.add(layer.origin)
            tops.add(layer.origin[0])
            if layer.name != layer.origin[-1]:
                renamed.append(("/".join(layer.origin), layer.name))
        t, n, misfit = _counts(layer)
        trainable += t
        non_trainable += n
        if misfit:
            not_fitting.append(layer.name)
            estimated.append(layer.name)
    removed: list[str] = []
    for layer in original.layers:
        if layer.name not in tops:
            removed.append(layer.name)
        elif layer.subgraph is not None and (layer.name,) not in origins:
            for path, inner in layer.subgraph.iter_layers_deep((layer.name,)):
                if not inner.is_input and path not in origins and not any(o[: len(path)] == path for o in origins):
                    removed.append("/".join(path))
    frozen = tuple(layer.name for layer in edited.layers if not layer.trainable and layer.weights)
    unknown = bool(needs)
    original_trainable = original_non_trainable = 0
    for layer in original.layers:
        t, n, _misfit = _counts(layer)
        original_trainable += t
        original_non_trainable += n

    def info(ref: TensorRef) -> TensorInfo:
        return TensorInfo(ref, infer_shape(edited, ref), edited.layer(ref.layer).source_tensor)

    return Preview(
        kept=tuple(kept),
        removed=tuple(removed),
        new=tuple(new),
        renamed=tuple(renamed),
        frozen=frozen,
        inputs=tuple(info(r) for r in edited.inputs),
        outputs=tuple(info(r) for r in edited.outputs),
        total_params=None if unknown else trainable + non_trainable,
        trainable_params=None if unknown else trainable,
        non_trainable_params=None if unknown else non_trainable,
        original_total=original_trainable + original_non_trainable,
        original_trainable=original_trainable,
        original_non_trainable=original_non_trainable,
        needs_keras=tuple(needs),
        weights_not_fitting=tuple(not_fitting),
        estimated=tuple(estimated),
        reinitialized=tuple(layer.name for layer in edited.layers if layer.fresh_weights),
    )
