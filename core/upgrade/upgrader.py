"""Walk a Keras 2 model config and apply every rewrite (``rewrites.REWRITES`` per layer,
then the call records of each functional model).

Keras 2 writes a call as ``[[layer, node, tensor, kwargs], ...]`` and numbers the calls
of a nested model from 1 when it has a construction node (a Functional, a Sequential
with an InputLayer). Keras 3 reads calls as ``{"args": [...], "kwargs": {...}}`` whose
tensors carry ``keras_history`` numbered from 0, and converts neither tensors inside
legacy ``kwargs`` (an attention ``value``) nor a bare single-tensor call (``TFOpLambda``).
So every legacy call is rewritten in the Keras 3 node format, renumbered.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from resect.core.upgrade.report import Rewrite, UpgradeError
from resect.core.upgrade.rewrites import REWRITES

MODEL_CLASSES = {"Functional", "Model", "Sequential"}
WRAPPED_KEYS = ("layer", "backward_layer", "cell")  # Bidirectional / TimeDistributed / RNN inner layers


@dataclass(frozen=True)
class Upgraded:
    config: dict[str, Any]
    rewrites: tuple[Rewrite, ...]


def is_legacy_config(root: Any) -> bool:
    """Whether a model config is in the Keras 2 dialect anywhere (list-format calls,
    ``keras.src.engine`` modules, or a Keras 2-only key a rewrite knows)."""
    try:
        _Walker(dry_run=True).model(copy.deepcopy(root), ())
    except _Found:
        return True
    except UpgradeError:
        return True
    return False


def upgrade_config(root: dict[str, Any]) -> Upgraded:
    """A Keras 3 config for ``root`` (which is not changed) and the rewrites applied.
    Raises ``UpgradeError`` naming the layer when a Keras 2 setting cannot be expressed."""
    walker = _Walker()
    config = copy.deepcopy(root)
    walker.model(config, ())
    return Upgraded(config, tuple(walker.rewrites))


class _Found(Exception):
    pass


class _Walker:
    def __init__(self, dry_run: bool = False) -> None:
        self.dry_run = dry_run
        self.rewrites: list[Rewrite] = []

    def note(self, rule: str, path: tuple[str, ...], class_name: str, detail: str) -> None:
        if self.dry_run:
            raise _Found
        self.rewrites.append(Rewrite(rule, "/".join(path), class_name, detail))

    def model(self, entry: dict[str, Any], path: tuple[str, ...]) -> None:
        self.layer(entry, path, is_root=True)

    def layer(self, entry: dict[str, Any], path: tuple[str, ...], is_root: bool = False) -> None:
        if not isinstance(entry, dict):
            return
        config = entry.get("config")
        if not isinstance(config, dict):
            return
        name = str(entry.get("name") or config.get("name") or entry.get("class_name"))
        here = path if is_root else path + (name,)
        class_name = str(entry.get("class_name"))
        for rewrite in REWRITES:
            detail = rewrite.apply(entry, config)
            if detail is not None:
                self.note(rewrite.name, here or (name,), class_name, detail)
        for key in WRAPPED_KEYS:
            inner = config.get(key)
            if isinstance(inner, dict) and "class_name" in inner:
                self.layer(inner, here)
        layers = config.get("layers")
        if isinstance(layers, list) and (class_name in MODEL_CLASSES or "input_layers" in config):
            has_input = any(isinstance(c, dict) and c.get("class_name") == "InputLayer" for c in layers)
            for child in layers:
                self.layer(child, here)
                if has_input and isinstance(child, dict) and child.get("class_name") != "InputLayer":
                    self.redundant_input_shape(child, here)
            if "input_layers" in config:
                self.calls(config, here, class_name)

    def redundant_input_shape(self, entry: dict[str, Any], path: tuple[str, ...]) -> None:
        """tf.keras writes ``batch_input_shape`` on the first layer of a Sequential (and on
        every Embedding); the model's InputLayer already gives it, and Keras 3 warns."""
        config = entry.get("config")
        if isinstance(config, dict) and "batch_input_shape" in config:
            del config["batch_input_shape"]
            name = str(entry.get("name") or config.get("name"))
            self.note("batch_input_shape", path + (name,), str(entry.get("class_name")), "dropped batch_input_shape")

    # --- call records -------------------------------------------------------------
    def calls(self, config: dict[str, Any], path: tuple[str, ...], class_name: str) -> None:
        entries = [e for e in config["layers"] if isinstance(e, dict)]
        legacy = any(isinstance(n, list) for e in entries for n in e.get("inbound_nodes") or [])
        if not legacy:
            return
        offsets = {_entry_name(e): _legacy_offset(e) for e in entries}
        io_shift = {_entry_name(e): _io_shift(e) for e in entries}
        for entry in entries:
            entry["inbound_nodes"] = [
                _node(_entry_name(entry), data, offsets) for data in entry.get("inbound_nodes") or []
            ]
        for key in ("input_layers", "output_layers"):
            config[key] = _shift_io(config.get(key), io_shift)
        for entry in entries:
            if offsets[_entry_name(entry)] and entry.get("inbound_nodes"):
                self.note(
                    "nested_call_numbering",
                    path + (_entry_name(entry),),
                    str(entry.get("class_name")),
                    "calls renumbered from 0 (Keras 2 counted its construction as call 0)",
                )
        self.note(
            "node_format",
            path or (str(config.get("name") or "model"),),
            class_name,
            "calls rewritten in Keras 3 format",
        )


def _entry_name(entry: dict[str, Any]) -> str:
    return str(entry.get("name") or (entry.get("config") or {}).get("name"))


def _is_model(entry: dict[str, Any]) -> bool:
    config = entry.get("config")
    return (
        isinstance(config, dict)
        and isinstance(config.get("layers"), list)
        and (entry.get("class_name") in MODEL_CLASSES or "input_layers" in config)
    )


def _has_input_layer(entry: dict[str, Any]) -> bool:
    inner = entry["config"]["layers"]
    return bool(inner) and isinstance(inner[0], dict) and inner[0].get("class_name") == "InputLayer"


def _legacy_offset(entry: dict[str, Any]) -> int:
    """How many construction nodes Keras 2 numbers before a nested model's first call."""
    if not _is_model(entry):
        return 0
    if entry.get("class_name") == "Sequential":
        return 1 if _has_input_layer(entry) else 0
    return 1


def _io_shift(entry: dict[str, Any]) -> int:
    """Keras 3 still counts a nested Functional's construction node in ``input_layers`` /
    ``output_layers`` (it subtracts 1 on load), but not a Sequential's."""
    if _is_model(entry) and entry.get("class_name") == "Sequential" and _has_input_layer(entry):
        return 1
    return 0


def _tensor(layer: str, node: int, tensor: int) -> dict[str, Any]:
    # The shape is a placeholder: Keras 3 replaces the tensor by the real one from keras_history.
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [], "dtype": "float32", "keras_history": [layer, node, tensor]},
    }


def _is_ref(value: Any, offsets: dict[str, int]) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], str)
        and value[0] in offsets
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value[1:])
    )


def _ref(item: list[Any], offsets: dict[str, int], layer: str) -> dict[str, Any]:
    name, node, tensor = str(item[0]), item[1], item[2]
    if name not in offsets:
        raise UpgradeError(layer, f"calls unknown layer {name!r}")
    return _tensor(name, int(node) - offsets[name], int(tensor))


def _node(layer: str, data: Any, offsets: dict[str, int]) -> Any:
    """One legacy call -> ``{"args": [inputs], "kwargs": {...}}`` (Keras 2 passes a single
    tensor unnested, several as a list, and the same keyword arguments on every item)."""
    if isinstance(data, dict):
        return data
    if not isinstance(data, list):
        raise UpgradeError(layer, f"unreadable call record {data!r}")
    items = [data] if data and isinstance(data[0], str) else data
    tensors = []
    kwargs: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, list) or len(item) < 3 or not isinstance(item[0], str):
            raise UpgradeError(layer, f"unreadable call record {item!r}")
        tensors.append(_ref(item, offsets, layer))
        if len(item) > 3 and isinstance(item[3], dict):
            kwargs = {k: _ref(v, offsets, layer) if _is_ref(v, offsets) else v for k, v in item[3].items()}
    first = tensors[0] if len(tensors) == 1 else tensors
    return {"args": [first], "kwargs": kwargs}


def _shift_io(data: Any, shift: dict[str, int]) -> Any:
    if isinstance(data, list) and len(data) == 3 and isinstance(data[0], str) and isinstance(data[1], int):
        return [data[0], data[1] - shift.get(data[0], 0), data[2]]
    if isinstance(data, list):
        return [_shift_io(d, shift) for d in data]
    if isinstance(data, dict):
        return {k: _shift_io(v, shift) for k, v in data.items()}
    return data
