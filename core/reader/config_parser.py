"""Turn a Keras model config (the JSON in ``config.json`` or ``model_config``) into a graph.

Understands both node formats Keras writes: Keras 3 (``{"args": [...], "kwargs": {...}}``
with ``__keras_tensor__`` leaves that record shapes) and Keras 2 / tf.keras
(``[[layer, node, tensor, kwargs], ...]``). Node indices are normalised to the order of
calls in the parent graph, which is what a model loaded by Keras 3 reports in
``keras_history``: Keras 2 numbers a nested model's calls from 1 (its node 0 is the
built-in one) and Keras 3 does the same in ``input_layers`` / ``output_layers``.
No class from the config is ever imported or instantiated.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from typing import Any, NamedTuple

from resect.core.graph import Layer, ModelGraph, Node, Shape, Weight, is_operation_module
from resect.core.known_layers import KERAS_LAYER_CLASSES
from resect.core.naming import to_snake_case
from resect.core.reader.graph_check import MAX_OUTPUTS_PER_CALL, graph_problems
from resect.core.tensor_ref import TensorRef
from resect.core.trust import TrustRule

MODEL_CLASSES = {"Functional", "Model", "Sequential"}
TF_OP_CLASSES = {"TFOpLambda", "SlicingOpLambda"}  # tf.keras 2's record of a TensorFlow function call
MAX_MODEL_DEPTH = 32  # models inside models; KerasHub tasks nest two or three
MAX_ARGUMENT_DEPTH = 64  # lists / dicts of tensors inside one call's arguments
MAX_CALLS = 1 << 20  # calls of one layer
MAX_RANK = 64
MAX_DIM = 1 << 62

# (name path of the layer, group path in a .keras weights file, layer entry, effective trainable)
WeightLookup = Callable[[tuple[str, ...], str, dict[str, Any], bool], tuple[Weight, ...]]


class ConfigError(ValueError):
    """The config is not a Keras model config we can understand."""


def is_model_entry(entry: dict[str, Any]) -> bool:
    config = entry.get("config")
    return (
        isinstance(config, dict)
        and isinstance(config.get("layers"), list)
        and (entry.get("class_name") in MODEL_CLASSES or "input_layers" in config)
    )


def parse_model_config(
    root: dict[str, Any],
    weights: WeightLookup,
    fmt: str,
    path: str,
    consume: bool = False,
    rule: TrustRule | None = None,
) -> ModelGraph:
    """Parse the top-level ``{"class_name": ..., "config": {...}}`` object.

    ``consume=True`` lets the parser drop each top-level layer's ``inbound_nodes`` from
    ``root`` once read (the graph keeps them as nodes), which lowers peak memory on very
    deep models; nested models' configs are left whole, since they may be rebuilt from them.
    ``rule`` decides ``Layer.problem`` (default: Keras' safe-mode rule, no consent given).
    """
    if not isinstance(root, dict) or not is_model_entry(root):
        raise ConfigError("the config does not describe a Functional or Sequential model")
    graph = _parse_model(root, (), "layers", weights, True, fmt, path, rule or TrustRule(), consume)
    problems = graph_problems(graph)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(problems[0] + more)
    return graph


MODEL, OPERATION, LAYER = "model", "operation", "layer"


class _Entry(NamedTuple):
    """One layer entry of a config, checked once before any of it is used: its name and
    what it is (``MODEL``, ``OPERATION`` or ``LAYER``). Its calls stay in ``raw`` only, so
    that ``consume`` frees them once read."""

    raw: dict[str, Any]
    name: str
    kind: str


# A call as the config records it: its args and kwargs (``TensorRef`` leaves), the tensors
# it reads and the shapes recorded for them. It becomes a ``Node`` once the level's
# consumers have said how many outputs it has and their shapes (``_Outputs``).
Call = tuple[tuple[Any, ...], dict[str, Any], tuple[TensorRef, ...], tuple[Shape | None, ...]]


def _parse_model(
    entry: dict[str, Any],
    name_path: tuple[str, ...],
    group_path: str,
    weights: WeightLookup,
    parent_trainable: bool,
    fmt: str,
    path: str,
    rule: TrustRule,
    consume: bool = False,
) -> ModelGraph:
    config = entry["config"]
    name = _checked_name(config.get("name") or entry.get("name") or "model", "a model")
    if len(name_path) > MAX_MODEL_DEPTH:
        raise ConfigError(f"models nest more than {MAX_MODEL_DEPTH} deep (at {'/'.join(name_path)!r})")
    trainable = parent_trainable and config.get("trainable", True) is not False
    entries = _checked_entries(config["layers"], name_path)
    if entry.get("class_name") == "Sequential" and "input_layers" not in config:
        return _parse_sequential(entry, entries, name, name_path, group_path, weights, trainable, fmt, path, rule)
    legacy = any(isinstance(n, list) for e in entries for n in e.raw.get("inbound_nodes") or ())
    models = [e for e in entries if e.kind == MODEL]
    offsets = {e.name: _node_offset(e.raw, legacy, in_io=False) for e in models}
    io_offsets = {e.name: _node_offset(e.raw, legacy, in_io=True) for e in models}
    group_names = _keras_group_names(entries)
    names = group_names.keys()  # a tf.keras 2 kwarg naming one of these is a tensor
    calls: list[tuple[Call, ...]] = []
    for entry_ in entries:
        inbound = entry_.raw.get("inbound_nodes") or ()  # a list: _checked_entries saw to it
        calls.append(tuple(_parse_call(entry_.name, data, offsets, names) for data in inbound))
        if consume:
            entry_.raw.pop("inbound_nodes", None)
    inputs = _io_refs(config.get("input_layers"), io_offsets)
    outputs = _io_refs(config.get("output_layers"), io_offsets)
    layers = _level_layers(
        entries, calls, outputs, group_names, name_path, group_path, weights, trainable, fmt, path, rule
    )
    return ModelGraph(name, layers, inputs, outputs, "Functional", fmt, path)


def _parse_sequential(
    entry: dict[str, Any],
    entries: list[_Entry],
    name: str,
    name_path: tuple[str, ...],
    group_path: str,
    weights: WeightLookup,
    trainable: bool,
    fmt: str,
    path: str,
    rule: TrustRule,
) -> ModelGraph:
    """A Sequential is a chain: each layer is called once on the previous output."""
    if not entries or entries[0].raw["class_name"] != "InputLayer":
        shape = entry["config"].get("build_input_shape")
        if shape is None and entries:
            first = entries[0].raw
            shape = (first.get("build_config") or {}).get("input_shape")
            shape = shape or (first.get("config") or {}).get("batch_input_shape")
        synthetic = _synthetic_input(f"{name}_input", shape)
        entries = [_Entry(synthetic, synthetic["name"], LAYER), *entries]
    group_names = _keras_group_names(entries[1:])  # a Sequential's model.layers exclude its InputLayer
    calls: list[tuple[Call, ...]] = [()]
    for position in range(1, len(entries)):
        previous = TensorRef(entries[position - 1].name, 0, 0)
        built = (entries[position].raw.get("build_config") or {}).get("input_shape")
        shape = _shape(built) if built is not None and not _is_nested_list(built) else None
        calls.append((((previous,), {}, (previous,), (shape,)),))
    inputs = (TensorRef(entries[0].name),)
    outputs = (TensorRef(entries[-1].name),) if len(entries) > 1 else inputs
    layers = _level_layers(
        entries, calls, outputs, group_names, name_path, group_path, weights, trainable, fmt, path, rule
    )
    return ModelGraph(name, layers, inputs, outputs, "Sequential", fmt, path)


def _level_layers(
    entries: list[_Entry],
    calls: list[tuple[Call, ...]],
    outputs: tuple[TensorRef, ...],
    group_names: dict[str, str],
    name_path: tuple[str, ...],
    group_path: str,
    weights: WeightLookup,
    trainable: bool,
    fmt: str,
    path: str,
    rule: TrustRule,
) -> tuple[Layer, ...]:
    """The layers of one graph level (Functional or Sequential), once its calls are read:
    each call's record is dropped once its node exists. An entry missing from
    ``group_names`` (a Sequential's input) keeps its own name as its group."""
    produced = _Outputs(calls, outputs)
    layers = []
    for at, entry in enumerate(entries):
        own, calls[at] = calls[at], ()
        group = f"{group_path}/{group_names.get(entry.name, entry.name)}"
        layers.append(_parse_layer(entry, own, produced, name_path, group, weights, trainable, fmt, path, rule))
    return tuple(layers)


def _parse_layer(
    entry: _Entry,
    calls: tuple[Call, ...],
    produced: _Outputs,
    name_path: tuple[str, ...],
    group_path: str,
    weights: WeightLookup,
    parent_trainable: bool,
    fmt: str,
    path: str,
    rule: TrustRule,
) -> Layer:
    raw, name = entry.raw, entry.name
    class_name = raw["class_name"]
    config = raw.get("config") or {}
    trainable = parent_trainable and config.get("trainable", True) is not False
    subgraph = None
    outputs_at_least = 1
    if entry.kind == MODEL:
        subgraph = _parse_model(raw, name_path + (name,), f"{group_path}/layers", weights, trainable, fmt, path, rule)
        own_weights = tuple(
            replace(w, name=f"{inner.name}/{w.name}") for inner in subgraph.layers for w in inner.weights
        )
        outputs_at_least = len(subgraph.outputs)
    elif entry.kind == OPERATION:
        own_weights = ()  # an operation node holds no variables
    else:
        own_weights = weights(name_path + (name,), group_path, raw, trainable)
    if class_name == "InputLayer" and not calls:
        shape = config.get("batch_shape", config.get("batch_input_shape"))
        known = (_shape(shape) if shape is not None else None,)
        nodes = (produced.node(name, 0, ((), {}, (), ()), known),)
    else:
        nodes = tuple(produced.node(name, index, call, at_least=outputs_at_least) for index, call in enumerate(calls))
    return Layer(
        name=name,
        class_name=class_name,
        config=config,
        trainable=trainable,
        module=raw.get("module"),
        registered_name=raw.get("registered_name"),
        weights=own_weights,
        nodes=nodes,
        subgraph=subgraph,
        problem=_loading_problem(entry, rule),
        origin=name_path + (name,),
    )


def _loading_problem(entry: _Entry, rule: TrustRule) -> str | None:
    """Why ``keras.models.load_model(..., safe_mode=True)`` could not build this layer:
    the trust rule first (core/trust.py, every object in the layer's own config), then
    classes Keras would look up by name and not find."""
    raw = entry.raw
    problem = rule.layer_problem(raw)
    if problem is not None or entry.kind != LAYER:
        return problem  # an operation node: Keras rebuilds it from keras.src.ops
    class_name = raw["class_name"]
    if class_name in TF_OP_CLASSES:
        from resect.core.upgrade.tf_ops import tf_op_mapping  # tf.keras 2 files only

        function = str((raw.get("config") or {}).get("function", ""))
        return None if tf_op_mapping(function) is not None else f"TensorFlow op tf.{function} has no Keras 3 mapping"
    registered = raw.get("registered_name")
    if registered and ">" in str(registered):
        return f"custom class {registered} is not loaded"
    # a trusted module inside a Keras package's sources (keras.src.applications.convnext's
    # LayerScale) is imported by Keras; public API modules are looked up by class name
    if class_name not in KERAS_LAYER_CLASSES and not _is_source_module(raw.get("module")):
        return f"unknown layer class {class_name!r}"
    return None


def _is_source_module(module: Any) -> bool:
    return isinstance(module, str) and module.split(".", 2)[1:2] == ["src"]


# --- nodes ------------------------------------------------------------------


def _parse_call(layer: str, data: Any, offsets: dict[str, int], names: Collection[str]) -> Call:
    if isinstance(data, list):  # Keras 2: [[layer, node, tensor, kwargs], ...]
        if data and isinstance(data[0], str):  # a TFOpLambda called on one tensor: the item alone
            data = [data]
        refs = []
        kwargs: dict[str, Any] = {}
        for item in data:
            if not isinstance(item, list) or len(item) < 3:
                raise ConfigError(f"layer {layer!r}: unreadable inbound node {item!r}")
            refs.append(_ref(item[0], item[1], item[2], offsets))
            if len(item) > 3 and isinstance(item[3], dict):
                kwargs = _convert_legacy_kwargs(item[3], offsets, names)
        args: tuple[Any, ...] = (refs[0],) if len(refs) == 1 else (refs,)
        inputs = tuple(refs) + tuple(_leaves(kwargs))
        return args, kwargs, inputs, (None,) * len(inputs)
    if not isinstance(data, dict) or "args" not in data:
        raise ConfigError(f"layer {layer!r}: unreadable inbound node")
    # _convert meets the tensors in the order _leaves would list them (args, then kwargs,
    # depth first), so it collects the inputs and their shapes in the same single pass.
    found: list[tuple[TensorRef, Shape | None]] = []
    raw_args, raw_kwargs = data.get("args") or [], data.get("kwargs") or {}
    if not isinstance(raw_args, list) or not isinstance(raw_kwargs, dict):
        raise ConfigError(f"layer {layer!r}: unreadable inbound node (args must be a list, kwargs an object)")
    args = tuple(_convert(a, offsets, found) for a in raw_args)
    kwargs = {k: _convert(v, offsets, found) for k, v in raw_kwargs.items()}
    return args, kwargs, tuple(ref for ref, _ in found), tuple(shape for _, shape in found)


def _convert(value: Any, offsets: dict[str, int], found: list[tuple[TensorRef, Shape | None]], depth: int = 0) -> Any:
    """Replace ``__keras_tensor__`` objects by ``TensorRef`` leaves, appending each with its
    recorded shape to ``found``."""
    if depth > MAX_ARGUMENT_DEPTH:
        raise ConfigError(f"a call's arguments nest more than {MAX_ARGUMENT_DEPTH} deep")
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            cfg = value.get("config") or {}
            history = cfg.get("keras_history") if isinstance(cfg, dict) else None
            if not isinstance(history, list) or len(history) != 3:
                raise ConfigError("a tensor in the config has no keras_history")
            ref = _ref(history[0], history[1], history[2], offsets)
            shape = cfg.get("shape")
            found.append((ref, _shape(shape) if shape is not None else None))
            return ref
        return {k: _convert(v, offsets, found, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_convert(v, offsets, found, depth + 1) for v in value]
    return value


def _convert_legacy_kwargs(kwargs: dict[str, Any], offsets: dict[str, int], names: Collection[str]) -> dict[str, Any]:
    """tf.keras writes tensor kwargs (e.g. an attention ``value``) as ``[layer, node, tensor]``."""
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if (
            isinstance(value, list)
            and len(value) == 3
            and isinstance(value[0], str)
            and all(isinstance(v, int) for v in value[1:])
            and value[0] in names
        ):
            out[key] = _ref(value[0], value[1], value[2], offsets)
        else:
            out[key] = value
    return out


def _leaves(value: Any) -> list[TensorRef]:
    if isinstance(value, TensorRef):
        return [value]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _leaves(v)]
    if isinstance(value, (list, tuple)):
        return [r for v in value for r in _leaves(v)]
    return []


def _ref(layer: Any, node: Any, tensor: Any, offsets: dict[str, int]) -> TensorRef:
    """A tensor address from the config, typed and bounded (a node index of ``1e30`` or a
    5,000-digit integer must not reach a ``range``)."""
    if (
        isinstance(layer, str)
        and type(node) is int
        and type(tensor) is int
        and 0 <= node < MAX_CALLS
        and 0 <= tensor < MAX_OUTPUTS_PER_CALL
    ):
        return TensorRef(layer, node - offsets.get(layer, 0), tensor)
    raise _bad_ref(layer, node, tensor)


def _bad_ref(layer: Any, node: Any, tensor: Any) -> ConfigError:
    """What is wrong with a tensor address ``_ref`` refused, in one line."""
    if not isinstance(layer, str):
        return ConfigError(f"a tensor names layer {_short(layer)}, not a layer name")
    for what, value, limit in (("call", node, MAX_CALLS), ("output", tensor, MAX_OUTPUTS_PER_CALL)):
        if type(value) is not int or not 0 <= value < limit:
            return ConfigError(
                f"a tensor of layer {_short(layer)} has {what} index {_short(value)} (not 0 to {limit - 1})"
            )
    return ConfigError(f"a tensor of layer {_short(layer)} is unreadable")


def _node_offset(entry: dict[str, Any], legacy: bool, in_io: bool) -> int:
    """How many built-in nodes precede a nested model's first call in this config."""
    if not is_model_entry(entry):
        return 0
    if legacy:
        if entry.get("class_name") == "Sequential":
            inner = entry["config"]["layers"]
            return 1 if inner and inner[0].get("class_name") == "InputLayer" else 0
        return 1
    return 1 if in_io and entry.get("class_name") != "Sequential" else 0


def _io_refs(data: Any, offsets: dict[str, int]) -> tuple[TensorRef, ...]:
    if data is None:
        return ()
    if isinstance(data, dict):
        data = list(data.values())
    if not isinstance(data, list):
        raise ConfigError(f"input_layers / output_layers hold {_short(data)}, not a list of tensors")
    if len(data) == 3 and isinstance(data[0], str):
        data = [data]
    refs = []
    stack = [(item, 0) for item in reversed(data)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if not isinstance(item, list) or depth > MAX_ARGUMENT_DEPTH:
            raise ConfigError(f"input_layers / output_layers hold {_short(item)}, not a tensor")
        if len(item) == 3 and isinstance(item[0], str):
            refs.append(_ref(item[0], item[1], item[2], offsets))
        else:
            stack.extend((inner, depth + 1) for inner in reversed(item))
    return tuple(refs)


# --- outputs: counts and shapes from consumers ----------------------------------


class _Outputs:
    """How many outputs each call of one graph level has and their shapes, as its
    consumers (and the level's outputs) recorded them: a call's own record knows neither.
    Read once over the level's calls, so each ``Node`` is built once, already whole (a
    20,000-layer model has 20,000 of them)."""

    def __init__(self, calls: list[tuple[Call, ...]], outputs: tuple[TensorRef, ...]) -> None:
        counts: dict[tuple[str, int], int] = {}
        shapes: dict[tuple[str, int, int], Shape] = {}
        for own in calls:
            for _, _, inputs, input_shapes in own:
                for ref, shape in zip(inputs, input_shapes, strict=True):
                    key = (ref.layer, ref.node_index)
                    if ref.tensor_index >= counts.get(key, 1):
                        counts[key] = ref.tensor_index + 1
                    if shape is not None:
                        shapes.setdefault((ref.layer, ref.node_index, ref.tensor_index), shape)
        for ref in outputs:
            key = (ref.layer, ref.node_index)
            counts[key] = max(counts.get(key, 1), ref.tensor_index + 1)
        self._counts = counts
        self._shapes = shapes

    def node(
        self, layer: str, index: int, call: Call, known: tuple[Shape | None, ...] = (None,), at_least: int = 1
    ) -> Node:
        """Call ``index`` of ``layer`` as a node; a shape a consumer recorded wins over
        ``known`` (what the layer's own config says, for an input)."""
        count = max(self._counts.get((layer, index), 1), at_least)
        shapes = self._shapes
        if count == 1:
            output_shapes = (shapes.get((layer, index, 0), known[0]),)
        else:
            output_shapes = tuple(
                shapes.get((layer, index, i), known[i] if i < len(known) else None) for i in range(count)
            )
        args, kwargs, inputs, input_shapes = call
        return Node(layer, index, args, kwargs, inputs, input_shapes, output_shapes, index)


# --- small helpers -------------------------------------------------------------


def _checked_name(name: Any, what: str) -> str:
    """A name as the rest of the program expects it: text without NUL, control characters
    or lone surrogates (HDF5 paths, SVG and terminals all choke on them)."""
    if not isinstance(name, str):
        raise ConfigError(f"{what} is named {_short(name)}, not a string")
    if not name.isprintable():
        bad = next(c for c in name if not c.isprintable())
        raise ConfigError(f"{what} name {_short(name)} holds the character U+{ord(bad):04X}")
    return name


def _checked_entries(entries: Any, name_path: tuple[str, ...]) -> list[_Entry]:
    """The layer list's structure, checked before any of it is used, in one pass that
    also notes what each entry is (the parser asks that of every entry several times)."""
    where = f" of {'/'.join(name_path)!r}" if name_path else ""
    if not isinstance(entries, list):
        raise ConfigError(f"the layers{where} are not a list")
    checked = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ConfigError(f"layer {index}{where} is {_short(entry)}, not an object")
        class_name = entry.get("class_name")
        if not isinstance(class_name, str):
            raise ConfigError(f"layer {index}{where} has class_name {_short(class_name)}")
        config = entry.get("config")
        if config is not None and not isinstance(config, dict):
            raise ConfigError(f"layer {index}{where}: its config is not an object")
        name = entry.get("name") or (config or {}).get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"a {_short(class_name)} layer has no name")
        _checked_name(name, "a layer")
        inbound = entry.get("inbound_nodes") or []
        if not isinstance(inbound, list):
            raise ConfigError(f"layer {name!r}: inbound_nodes is not a list")
        if is_model_entry(entry):
            kind = MODEL
        elif is_operation_module(entry.get("module")):
            kind = OPERATION
        else:
            kind = LAYER
        checked.append(_Entry(entry, name, kind))
    return checked


def _short(value: Any) -> str:
    """A value for an error line: its repr (escaped, so one line), cut to 60 characters."""
    text = ascii(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _keras_group_names(entries: list[_Entry]) -> dict[str, str]:
    """The group each layer's variables live in inside ``model.weights.h5``: Keras names
    them by snake-cased class with a per-container counter, in ``model.layers`` order
    (operation nodes are not in ``model.layers``, so they take no number)."""
    used: dict[str, int] = {}
    names: dict[str, str] = {}
    for entry in entries:
        if entry.kind == OPERATION:
            names[entry.name] = entry.name
            continue
        base = to_snake_case(entry.raw["class_name"])
        if base in used:
            used[base] += 1
            group = f"{base}_{used[base]}"
        else:
            used[base] = 0
            group = base
        names[entry.name] = group
    return names


def _shape(value: Any) -> Shape | None:
    if isinstance(value, dict) and "shape" in value:
        value = value["shape"]
    if not isinstance(value, (list, tuple)):
        return None
    if len(value) > MAX_RANK:
        raise ConfigError(f"a shape has {len(value)} dimensions")
    dims: list[int | None] = []
    for dim in value:
        if dim is None:
            dims.append(None)
        elif isinstance(dim, (list, tuple)):
            return None
        elif type(dim) is int and -1 <= dim < MAX_DIM:
            dims.append(dim)
        else:
            raise ConfigError(f"a shape holds {_short(dim)}, not a size")
    return tuple(dims)


def _is_nested_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and any(isinstance(v, (list, tuple)) for v in value)


def _synthetic_input(name: str, shape: Any) -> dict[str, Any]:
    return {"class_name": "InputLayer", "name": name, "config": {"name": name, "batch_shape": shape}}
