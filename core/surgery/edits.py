"""Edits: small immutable objects that say what to change, serialised as recipe JSON.

An edit never touches a graph itself (``core.surgery.apply`` does that), so a document
is just the original graph plus a list of these, and any state is reproducible from
file + recipe. Field and op names are the recipe contract of DESIGN.md section 2.

>>> Cut(inputs=("conv3_block4_out",), outputs=("conv4_block6_out",)).to_json()
{'op': 'cut', 'inputs': ['conv3_block4_out'], 'outputs': ['conv4_block6_out']}
>>> edit_from_json({"op": "rename", "layer": "predictions", "to": "logits"}).describe()
'Rename predictions -> logits'
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from resect.core.surgery.errors import RecipeError
from resect.core.tensor_ref import TensorRef


@dataclass(frozen=True)
class LayerSpec:
    """A new Keras layer as ``{"class_name": ..., "config": {...}}`` (built by Keras' deserialisation)."""

    class_name: str
    config: Mapping[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.class_name, json.dumps(self.config, sort_keys=True, default=str)))

    def to_json(self) -> dict[str, Any]:
        return {"class_name": self.class_name, "config": copy.deepcopy(dict(self.config))}

    @classmethod
    def from_json(cls, obj: Any, what: str = "layer") -> LayerSpec:
        if not isinstance(obj, Mapping):
            raise RecipeError(f"{what} must be an object with class_name and config")
        class_name = obj.get("class_name")
        if not isinstance(class_name, str) or not class_name:
            raise RecipeError(f"{what} has no class_name")
        config = obj.get("config", {})
        if config is None:
            config = {}
        if not isinstance(config, Mapping):
            raise RecipeError(f"{what} ({class_name}): config must be an object")
        return cls(class_name, copy.deepcopy(dict(config)))

    def label(self) -> str:
        """``Dense(2)``-style short text for history labels."""
        cfg = self.config
        for key in ("units", "filters", "rate", "activation", "pool_size", "target_shape"):
            if key in cfg:
                return f"{self.class_name}({cfg[key]})"
        return self.class_name


class Edit:
    """Base of all edits: ``op`` (recipe name), ``from_json()`` (the recipe object's
    fields, already known to carry this op), ``to_json()`` and ``describe()`` (the History
    panel's words). The op registry (``core.surgery.registry``) lists them."""

    op: ClassVar[str] = ""

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Edit:
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


def _tensors(text: tuple[str, ...]) -> str:
    return ", ".join(text) if text else "model"


@dataclass(frozen=True)
class Cut(Edit):
    """Keep what lies between ``inputs`` (default: model inputs) and ``outputs`` (default: model outputs)."""

    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    complete: bool = False
    op: ClassVar[str] = "cut"

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Cut:
        cut = cls(_tensor_list(obj, "inputs"), _tensor_list(obj, "outputs"), _bool(obj, "complete", False))
        if cut.inputs and {TensorRef.parse(t) for t in cut.inputs} == {TensorRef.parse(t) for t in cut.outputs}:
            raise RecipeError("its inputs are its outputs: the cut model would compute nothing")
        return cut

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"op": self.op}
        if self.inputs:
            obj["inputs"] = list(self.inputs)
        if self.outputs:
            obj["outputs"] = list(self.outputs)
        if self.complete:
            obj["complete"] = True
        return obj

    def describe(self) -> str:
        if self.inputs and self.outputs:
            text = f"Cut at {_tensors(self.inputs)} -> {_tensors(self.outputs)}"
        elif self.inputs:
            text = f"Start at {_tensors(self.inputs)}"
        elif self.outputs:
            text = f"End at {_tensors(self.outputs)}"
        else:
            text = "Cut (whole model)"
        return text + (" (completed)" if self.complete else "")


@dataclass(frozen=True)
class AddOutputs(Edit):
    """Add intermediate tensors as extra model outputs (a feature extractor)."""

    tensors: tuple[str, ...] = ()
    op: ClassVar[str] = "add_outputs"

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> AddOutputs:
        tensors = _tensor_list(obj, "tensors", required=True)
        if not tensors:
            raise RecipeError("'tensors' is empty")
        return cls(tensors)

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "tensors": list(self.tensors)}

    def describe(self) -> str:
        return f"Add outputs {_tensors(self.tensors)}"


@dataclass(frozen=True)
class SetInputShape(Edit):
    """Give an input a new shape (without the batch axis); ``reinitialize`` accepts fresh
    weights for the named layers (or ``"*"``) whose weights no longer fit."""

    input: str
    shape: tuple[int | None, ...]
    batch_size: int | None = None
    reinitialize: tuple[str, ...] = ()
    op: ClassVar[str] = "set_input_shape"

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> SetInputShape:
        batch = obj.get("batch_size")
        if batch is not None and (not isinstance(batch, int) or isinstance(batch, bool) or not 0 < batch < MAX_DIM):
            raise RecipeError("'batch_size' must be a positive integer or null")
        reinit = obj.get("reinitialize", [])
        if reinit is True:
            reinit = ["*"]
        if isinstance(reinit, str):
            reinit = [reinit]
        if not isinstance(reinit, list) or not all(isinstance(r, str) for r in reinit):
            raise RecipeError("'reinitialize' must be a list of layer names (or [\"*\"])")
        return cls(_name(obj, "input"), _shape(obj), batch, tuple(reinit))

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"op": self.op, "input": self.input, "shape": list(self.shape)}
        if self.batch_size is not None:
            obj["batch_size"] = self.batch_size
        if self.reinitialize:
            obj["reinitialize"] = list(self.reinitialize)
        return obj

    def describe(self) -> str:
        dims = "x".join("?" if d is None else str(d) for d in self.shape)
        return f"Input {self.input} -> {dims}"


@dataclass(frozen=True)
class ReplaceHead(Edit):
    """Drop everything after ``at`` and stack new layers there."""

    at: str
    layers: tuple[LayerSpec, ...] = ()
    op: ClassVar[str] = "replace_head"

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ReplaceHead:
        layers = obj.get("layers")
        if not isinstance(layers, list):
            raise RecipeError("'layers' must be a list of {class_name, config}")
        specs = tuple(LayerSpec.from_json(item, f"layers[{i}]") for i, item in enumerate(layers))
        return cls(_tensor(obj, "at"), specs)

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "at": self.at, "layers": [spec.to_json() for spec in self.layers]}

    def describe(self) -> str:
        return f"New head at {self.at}: " + " > ".join(spec.label() for spec in self.layers)


@dataclass(frozen=True)
class InsertLayer(Edit):
    """Insert a new layer on the tensor ``after`` (every consumer then reads the new layer)."""

    after: str
    layer: LayerSpec
    op: ClassVar[str] = "insert_layer"

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> InsertLayer:
        return cls(_tensor(obj, "after"), LayerSpec.from_json(obj.get("layer"), "'layer'"))

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "after": self.after, "layer": self.layer.to_json()}

    def describe(self) -> str:
        return f"Insert {self.layer.label()} after {self.after}"


@dataclass(frozen=True)
class DeleteLayer(Edit):
    """Remove a single-input, single-output, shape-preserving layer (its consumers read its input)."""

    layer: str
    op: ClassVar[str] = "delete_layer"

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> DeleteLayer:
        return cls(_name(obj, "layer"))

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "layer": self.layer}

    def describe(self) -> str:
        return f"Delete {self.layer}"


@dataclass(frozen=True)
class ReplaceLayer(Edit):
    """Replace a layer (every call of it) by a new layer built from a config."""

    layer: str
    with_: LayerSpec
    op: ClassVar[str] = "replace_layer"

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ReplaceLayer:
        return cls(_name(obj, "layer"), LayerSpec.from_json(obj.get("with"), "'with'"))

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "layer": self.layer, "with": self.with_.to_json()}

    def describe(self) -> str:
        return f"Replace {self.layer} with {self.with_.label()}"


@dataclass(frozen=True)
class SetTrainable(Edit):
    """Freeze or unfreeze layers by name, ``below`` a tensor (what it depends on) or
    ``above`` it (what depends on it)."""

    trainable: bool
    layers: tuple[str, ...] = ()
    below: str | None = None
    above: str | None = None
    op: ClassVar[str] = "set_trainable"

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> SetTrainable:
        edit = cls(
            _bool(obj, "trainable"),
            _tensor_list(obj, "layers"),
            _tensor(obj, "below", False),
            _tensor(obj, "above", False),
        )
        if not edit.layers and edit.below is None and edit.above is None:
            raise RecipeError("give 'layers', 'below' or 'above'")
        return edit

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"op": self.op, "trainable": self.trainable}
        if self.layers:
            obj["layers"] = list(self.layers)
        if self.below is not None:
            obj["below"] = self.below
        if self.above is not None:
            obj["above"] = self.above
        return obj

    def describe(self) -> str:
        verb = "Unfreeze" if self.trainable else "Freeze"
        parts = []
        if self.layers:
            parts.append(", ".join(self.layers))
        if self.below is not None:
            parts.append(f"below {self.below}")
        if self.above is not None:
            parts.append(f"above {self.above}")
        return f"{verb} " + "; ".join(parts)


@dataclass(frozen=True)
class Rename(Edit):
    """Give a layer a new (unique) name; its provenance stays the original layer."""

    layer: str
    to: str
    op: ClassVar[str] = "rename"

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Rename:
        return cls(_name(obj, "layer"), _name(obj, "to"))

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "layer": self.layer, "to": self.to}

    def describe(self) -> str:
        return f"Rename {self.layer} -> {self.to}"


@dataclass(frozen=True)
class Bypass(Edit):
    """Remove a stretch from the middle: every reader of tensor ``to`` reads ``from_``
    instead, and what no longer reaches an output is dropped (kerassurgeon's
    delete-with-reconnection for whole blocks). Without a call index in ``to``, a shared
    stretch is bypassed in every call."""

    from_: str
    to: str
    op: ClassVar[str] = "bypass"

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Bypass:
        return cls(_tensor(obj, "from"), _tensor(obj, "to"))

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "from": self.from_, "to": self.to}

    def describe(self) -> str:
        return f"Bypass {self.from_} -> {self.to}"


@dataclass(frozen=True)
class Reinitialize(Edit):
    """Give layers fresh weights from their own initializers (Keras' ``clone_model``
    semantics): by name, ``below`` / ``above`` a tensor (as ``set_trainable``) or
    ``all``; ``seed`` makes the fresh weights reproducible."""

    layers: tuple[str, ...] = ()
    below: str | None = None
    above: str | None = None
    all: bool = False
    seed: int | None = None
    op: ClassVar[str] = "reinitialize"

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Reinitialize:
        seed = obj.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 1 << 32):
            raise RecipeError("'seed' must be a non-negative integer below 2**32")
        layers = obj.get("layers", [])
        if layers in ("above", "below"):
            raise RecipeError(f'give the tensor as {layers!r}: {{"{layers}": "TENSOR"}}')
        edit = cls(
            _tensor_list(obj, "layers"),
            _tensor(obj, "below", False),
            _tensor(obj, "above", False),
            _bool(obj, "all", False),
            seed,
        )
        if not edit.layers and edit.below is None and edit.above is None and not edit.all:
            raise RecipeError("give 'layers', 'below', 'above' or \"all\": true")
        return edit

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"op": self.op}
        if self.layers:
            obj["layers"] = list(self.layers)
        if self.below is not None:
            obj["below"] = self.below
        if self.above is not None:
            obj["above"] = self.above
        if self.all:
            obj["all"] = True
        if self.seed is not None:
            obj["seed"] = self.seed
        return obj

    def describe(self) -> str:
        parts = ["all layers"] if self.all else []
        if self.layers:
            parts.append(", ".join(self.layers) if len(self.layers) <= 3 else f"{len(self.layers)} layers")
        if self.below is not None:
            parts.append(f"below {self.below}")
        if self.above is not None:
            parts.append(f"above {self.above}")
        seed = f" (seed {self.seed})" if self.seed is not None else ""
        return "Re-initialise " + "; ".join(parts) + seed


# --- parsing helpers (fields shared by the ops' from_json) ----------------------


def _tensor(obj: Mapping[str, Any], key: str, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise RecipeError(f"missing {key!r}")
        return None
    if not isinstance(value, str):
        raise RecipeError(f"{key!r} must be a tensor or layer name (text), not {value!r}")
    try:
        TensorRef.parse(value)
    except ValueError:
        raise RecipeError(f"{key!r}: not a tensor name: {_cut(value)}") from None
    return value


def _tensor_list(obj: Mapping[str, Any], key: str, required: bool = False) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        if required:
            raise RecipeError(f"missing {key!r}")
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RecipeError(f"{key!r} must be a list of tensor names")
    for text in value:
        try:
            TensorRef.parse(text)
        except ValueError:
            raise RecipeError(f"{key!r}: not a tensor name: {_cut(text)}") from None
    return tuple(value)


def _cut(text: str) -> str:
    """A name for an error line: escaped (one line, no control characters), at most 60."""
    shown = ascii(text)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _name(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise RecipeError(f"{key!r} must be a layer name")
    return value


MAX_DIM = 1 << 31  # a dimension or batch size Keras (int32 shapes) can hold


def _shape(obj: Mapping[str, Any]) -> tuple[int | None, ...]:
    value = obj.get("shape")
    if not isinstance(value, list) or not value:
        raise RecipeError("'shape' must be a list like [128, 128, 3] (without the batch axis)")
    dims: list[int | None] = []
    for dim in value:
        if dim is None:
            dims.append(None)
        elif isinstance(dim, int) and not isinstance(dim, bool) and 0 < dim < MAX_DIM:
            dims.append(dim)
        else:
            shown = repr(dim) if len(repr(dim)) <= 40 else repr(dim)[:37] + "..."
            raise RecipeError(f"'shape' has a bad dimension {shown} (positive integers below 2**31, or null)")
    return tuple(dims)


def _bool(obj: Mapping[str, Any], key: str, default: bool | None = None) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise RecipeError(f"{key!r} must be true or false")
    return value


def edit_from_json(obj: Any) -> Edit:
    """One recipe edit object -> an ``Edit`` (through the op registry); raises
    ``RecipeError`` (without file context)."""
    from resect.core.surgery.registry import parse_edit

    return parse_edit(obj)
