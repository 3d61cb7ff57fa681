"""KerasHub models without Keras: ``.keras`` files whose top-level class is a KerasHub
Backbone or Task, and preset directories written by ``save_to_preset`` (``config.json``,
``model.weights.h5`` or sharded weights, ``metadata.json``, tokenizer / preprocessor
assets; a Task's preset adds ``task.json`` and ``task.weights.h5``, and opens as the Task,
as keras_hub's ``Task.from_preset`` would build it).

Their config holds constructor hyperparameters, not a layer graph: the graph exists only
once ``keras_hub`` builds the model. So the reading is a ``ModelGraph`` with no layers and a
``CodeDefined`` record (class, hyperparameters, the weight tree with shapes, assets); the
Keras side (``core.keras_backend.code_defined``) swaps in the real graph.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import h5py

from resect.core.errors import ModelFileError
from resect.core.graph import CodeDefined, ModelGraph, Weight
from resect.core.reader.bounded import (
    MAX_CONFIG_BYTES,
    MAX_DIRECTORY_ENTRIES,
    MAX_SMALL_MEMBER_BYTES,
    describe_mode,
    open_regular,
    read_regular,
)
from resect.core.reader.common import first_line, load_json
from resect.core.reader.config_parser import is_model_entry
from resect.core.reader.keras_archive import register_code_defined
from resect.core.reader.registry import Reader, guarded, register
from resect.core.reader.weight_index import check_all_links
from resect.core.trust import TrustRule

__all__ = ["is_code_defined", "preset_task", "read_code_defined"]

PACKAGES = ("keras_hub", "keras_nlp", "keras_cv")
WEIGHTS = "model.weights.h5"
SHARDED_INDEX = "model.weights.json"
TASK_CONFIG = "task.json"
TASK_WEIGHTS = "task.weights.h5"
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
    """A directory with a ``config.json`` naming a KerasHub-family class (read bounded:
    never opens a FIFO, never holds more than the config size limit)."""
    try:
        return is_code_defined(json.loads(read_regular(os.path.join(path, "config.json"), MAX_CONFIG_BYTES)))
    except (OSError, ValueError, RecursionError):  # BoundedReadError is a ValueError
        return False


def read_preset_config(path: str) -> Any:
    """What Keras gets, as JSON values: ``config.json`` (class and hyperparameters); for a
    Task's preset, ``task.json`` with ``config.json`` under the key ``"config.json"``
    (keras_hub passes the backbone's saved dtype into the Task), so a trust check of this
    object covers both files."""
    return guarded(path, _trust_config)


def _trust_config(path: str) -> Any:
    task = _task_config(path)
    return _backbone_config(path) if task is None else {**task, "config.json": _backbone_config(path)}


def _preset_config(path: str) -> Any:
    """The Task's ``task.json`` when it names a KerasHub-family class (keras_hub builds
    the Task around the backbone of ``config.json``), else ``config.json``."""
    return _task_config(path) or _backbone_config(path)


def _backbone_config(path: str) -> Any:
    text = read_regular(_member(path, "config.json"), MAX_CONFIG_BYTES)
    return load_json(path, text.decode("utf8"), "config.json")


def _task_config(path: str) -> dict[str, Any] | None:
    if not os.path.lexists(os.path.join(path, TASK_CONFIG)):
        return None
    text = read_regular(_member(path, TASK_CONFIG), MAX_CONFIG_BYTES)
    root = load_json(path, text.decode("utf8"), TASK_CONFIG)
    return root if is_code_defined(root) else None


def preset_task(path: str) -> dict[str, Any] | None:
    """The ``task.json`` object the preset opens as (its class named by
    ``registered_name``), or None: the preset is its backbone."""
    return guarded(path, _task_config)


def read_preset(path: str) -> ModelGraph:
    return guarded(path, _read_preset)


def check_preset_links(path: str) -> None:
    """Refuse a preset whose config, metadata or weight files are not regular files inside
    the folder (a symlink out of it, a FIFO, a device), or whose weights hold an HDF5 soft
    or external link: keras_hub opens them all by name and h5py follows any link."""
    for name in ("config.json", "metadata.json", TASK_CONFIG, TASK_WEIGHTS):
        if os.path.lexists(os.path.join(path, name)):
            open_regular(_member(path, name)).close()
    for shard in _weight_files(path) + _task_weight_files(path):
        with _open_h5(path, shard) as h5:
            check_all_links(h5)


def _member(path: str, name: str) -> str:
    """``path/name``, refused unless it stays inside the folder (after symlinks) and is a
    regular file; ``name`` comes from the folder itself (a shard index), so it is hostile."""
    root = os.path.realpath(path)
    full = os.path.realpath(os.path.join(root, name))
    if os.path.isabs(name) or os.path.commonpath([root, full]) != root or full == root:
        raise ModelFileError(path, f"{name!r} points outside the preset folder; refusing to read it")
    try:
        mode = os.stat(full).st_mode
    except OSError as error:
        raise ModelFileError(path, f"{name} cannot be read ({error.strerror or error})") from None
    if not stat.S_ISREG(mode):
        raise ModelFileError(path, f"{name} is not a regular file (a {describe_mode(mode)}); refusing to read it")
    return full


@contextlib.contextmanager
def _open_h5(path: str, name: str) -> Iterator[h5py.File]:
    full = _member(path, name)
    open_regular(full).close()  # never blocks, even if it was swapped for a FIFO since
    try:
        h5 = h5py.File(full, "r")
    except OSError as error:
        raise ModelFileError(path, f"has an unreadable {name} ({first_line(error)})") from None
    with h5:
        yield h5


def _read_preset(path: str) -> ModelGraph:
    task = _task_config(path)
    root = task or _backbone_config(path)
    shards = _weight_files(path)
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(_open_h5(path, shard)) for shard in shards]
        known = {"config.json", "metadata.json", WEIGHTS, SHARDED_INDEX, *shards}
        if task is not None:
            known |= {TASK_CONFIG, TASK_WEIGHTS}
        assets = tuple(sorted(_relative_files(path) - known))
        graph = read_code_defined(root, files, "preset", path, assets)
    code = graph.code_defined
    if task is None or code is None or not _task_weight_files(path):
        return graph
    # the head's weights: task.weights.h5 holds only what is not the backbone's
    trainable = code.config.get("trainable", True) is not False
    with _open_h5(path, TASK_WEIGHTS) as h5:
        head = [replace(w, name=f"{TASK_WEIGHTS}/{w.name}") for w in _weight_tree(h5, trainable)]
    return replace(graph, code_defined=replace(code, weights=(*code.weights, *head)))


def _task_weight_files(path: str) -> list[str]:
    """``task.weights.h5`` when the preset opens as its Task and has one."""
    if _task_config(path) is None or not os.path.lexists(os.path.join(path, TASK_WEIGHTS)):
        return []
    _member(path, TASK_WEIGHTS)
    return [TASK_WEIGHTS]


def _weight_files(path: str) -> list[str]:
    """``model.weights.h5``, or the shards a ``model.weights.json`` index lists (each one
    a regular file inside the folder)."""
    if os.path.lexists(os.path.join(path, WEIGHTS)):
        _member(path, WEIGHTS)
        return [WEIGHTS]
    if os.path.lexists(os.path.join(path, SHARDED_INDEX)):
        text = read_regular(_member(path, SHARDED_INDEX), MAX_SMALL_MEMBER_BYTES)
        data = load_json(path, text.decode("utf8"), SHARDED_INDEX)
        if not isinstance(data, dict):
            raise ModelFileError(path, f"{SHARDED_INDEX} is not a JSON object")
        shards = sorted({str(v) for v in _leaves(data.get("weight_map", data)) if str(v).endswith(".h5")})
        if not shards:
            raise ModelFileError(path, f"{SHARDED_INDEX} names no weight shards")
        for shard in shards:
            _member(path, shard)
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
    for count, (folder, _dirs, files) in enumerate(os.walk(path)):  # symlinked folders are not followed
        if count + len(found) > MAX_DIRECTORY_ENTRIES:
            raise ModelFileError(path, f"holds more than {MAX_DIRECTORY_ENTRIES} files")
        for name in files:
            found.add(os.path.relpath(os.path.join(folder, name), path))
    return found


READER = register(
    Reader(
        "preset",
        "a KerasHub preset directory",
        "directory",
        sniff_preset,
        read_preset,
        read_config=read_preset_config,
        check_links=check_preset_links,
    )
)
