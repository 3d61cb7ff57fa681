"""KerasHub models without Keras: ``.keras`` files whose top-level class is a KerasHub
Backbone or Task, and preset directories written by ``save_to_preset`` (``config.json``,
``model.weights.h5`` or sharded weights, ``metadata.json``, tokenizer / preprocessor
assets).

Their config holds constructor hyperparameters, not a layer graph: the graph exists only
once ``keras_hub`` builds the model. So the reading is a ``ModelGraph`` with no layers and a
``CodeDefined`` record (class, hyperparameters, the weight tree with shapes, assets); the
Keras side (``core.keras_backend.code_defined``) swaps in the real graph.
"""

from __future__ import annotations

import json
import os
from typing import Any

import h5py

from core.errors import ModelFileError
from core.graph import CodeDefined, ModelGraph, Weight
from core.reader.common import first_line, guarded_read, load_json
from core.reader.config_parser import is_model_entry
from core.reader.keras_archive import register_code_defined
from core.reader.registry import Reader, register
from core.trust import TrustRule

__all__ = ["is_code_defined", "read_code_defined"]

PACKAGES = ("keras_hub", "keras_nlp", "keras_cv")
WEIGHTS = "model.weights.h5"
SHARDED_INDEX = "model.weights.json"
_NON_TRAINABLE = {"batch_normalization": {"2", "3"}}  # moving mean / variance (vars/2, vars/3)


def is_code_defined(root: Any) -> bool:
    """A top-level object of a KerasHub-family class that is not a layer graph config."""
    if not isinstance(root, dict) or is_model_entry(root):
        return False
    module = str(root.get("module") or "")
    registered = str(root.get("registered_name") or "")
    return module.split(".", 1)[0] in PACKAGES or registered.split(">", 1)[0] in PACKAGES


def read_code_defined(
    root: dict[str, Any], h5_files: list[h5py.File], fmt: str, path: str, assets: tuple[str, ...] = ()
) -> ModelGraph:
    """The ``ModelGraph`` of a code-defined model: no layers, its ``CodeDefined`` record."""
    config = root.get("config") if isinstance(root.get("config"), dict) else {}
    trainable = config.get("trainable", True) is not False
    weights: list[Weight] = []
    for h5 in h5_files:
        weights.extend(_weight_tree(h5, trainable))
    code = CodeDefined(
        class_name=str(root.get("class_name")),
        module=root.get("module"),
        registered_name=root.get("registered_name"),
        config=config,
        weights=tuple(weights),
        assets=assets,
        problem=TrustRule().object_problem(root),
    )
    name = str(config.get("name") or root.get("class_name") or "model")
    return ModelGraph(name, (), (), (), str(root.get("class_name")), fmt, path, code_defined=code)


def _weight_tree(h5: h5py.File, trainable: bool) -> list[Weight]:
    """Every dataset of a Keras 3 weights file, by its path (``layers/dense/vars/0``)."""
    found: list[Weight] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset) and not _not_a_parameter(name):
            parts = name.split("/")
            group = parts[-3] if len(parts) >= 3 and parts[-2] == "vars" else ""
            frozen = any(group.startswith(k) and parts[-1] in v for k, v in _NON_TRAINABLE.items())
            found.append(Weight(name, tuple(int(d) for d in obj.shape), str(obj.dtype), trainable and not frozen, name))

    h5.visititems(visit)
    return found


def _not_a_parameter(name: str) -> bool:
    """Optimizer state (a compiled Task saves it), metrics and dropout seed state are in the
    weights file but not in ``count_params()``."""
    parts = name.split("/")
    return parts[0] in {"optimizer", "metrics", "compile_metrics"} or any("seed_generator" in p for p in parts)


def _from_archive(root: Any, h5: h5py.File, fmt: str, path: str) -> ModelGraph | None:
    return read_code_defined(root, [h5], fmt, path) if is_code_defined(root) else None


register_code_defined(_from_archive)


# --- preset directories ------------------------------------------------------------


def sniff_preset(path: str) -> bool:
    """A directory with a ``config.json`` naming a KerasHub-family class."""
    config = os.path.join(path, "config.json")
    if not os.path.isfile(config):
        return False
    try:
        with open(config, encoding="utf8") as handle:
            return is_code_defined(json.load(handle))
    except (OSError, ValueError):
        return False


def read_preset_config(path: str) -> Any:
    try:
        with open(os.path.join(path, "config.json"), encoding="utf8") as handle:
            return load_json(path, handle.read(), "config.json")
    except OSError as error:
        raise ModelFileError(path, f"config.json cannot be read ({first_line(error)})") from None


def read_preset(path: str) -> ModelGraph:
    return guarded_read(path, _read_preset)


def _read_preset(path: str) -> ModelGraph:
    root = read_preset_config(path)
    shards = _weight_files(path)
    files = [h5py.File(os.path.join(path, shard), "r") for shard in shards]
    try:
        known = {"config.json", "metadata.json", WEIGHTS, SHARDED_INDEX, *shards}
        assets = tuple(sorted(_relative_files(path) - known))
        return read_code_defined(root, files, "preset", path, assets)
    finally:
        for handle in files:
            handle.close()


def _weight_files(path: str) -> list[str]:
    """``model.weights.h5``, or the shards a ``model.weights.json`` index lists."""
    if os.path.isfile(os.path.join(path, WEIGHTS)):
        return [WEIGHTS]
    index = os.path.join(path, SHARDED_INDEX)
    if os.path.isfile(index):
        try:
            with open(index, encoding="utf8") as handle:
                data = json.load(handle)
        except (OSError, ValueError) as error:
            raise ModelFileError(path, f"has an unreadable {SHARDED_INDEX} ({first_line(error)})") from None
        shards = sorted({str(v) for v in _leaves(data.get("weight_map", data)) if str(v).endswith(".h5")})
        missing = [s for s in shards if not os.path.isfile(os.path.join(path, s))]
        if not shards or missing:
            raise ModelFileError(path, f"{SHARDED_INDEX} names missing weight shards {missing[:3]}")
        return shards
    raise ModelFileError(path, f"has no {WEIGHTS} (nor a sharded {SHARDED_INDEX}): an incomplete KerasHub preset")


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _relative_files(path: str) -> set[str]:
    found = set()
    for folder, _dirs, files in os.walk(path):
        for name in files:
            found.add(os.path.relpath(os.path.join(folder, name), path))
    return found


READER = register(
    Reader("preset", "a KerasHub preset directory", "directory", sniff_preset, read_preset, read_preset_config)
)
