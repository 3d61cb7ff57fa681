"""What ``inspect`` shows: a ``model.summary()``-like table and the JSON object of
DESIGN.md section 2, both computed from a ``ModelGraph`` alone (pure, no Keras).

Tensor names in the table use the recipe form ``layer:node:index`` so a user can copy
them straight into a recipe or a ``cut``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from resect.core.graph import CodeDefined, Layer, ModelGraph, Node, Shape
from resect.core.tensor_ref import TensorRef

__all__ = [
    "SummaryRow",
    "format_shape",
    "format_table",
    "inspect_object",
    "iter_inspect_json",
    "iter_table_lines",
    "summary_rows",
    "totals_lines",
]


# --- JSON ---------------------------------------------------------------------


def inspect_object(graph: ModelGraph) -> dict[str, Any]:
    """The ``inspect --json`` object: layers in file order, nested models as one layer
    whose ``"layers"`` key holds the inner list, unknown dimensions as ``None``.

    Beyond the contract (additions only): ``"class_name"`` of the model, and per layer
    ``"loadable"`` plus ``"problem"`` when Keras cannot load it safely.
    """
    return {**_header(graph), "layers": [_layer_object(layer) for layer in graph.layers]}


def _header(graph: ModelGraph) -> dict[str, Any]:
    total = trainable = 0
    for layer in graph.layers:  # one pass (the graph's properties each walk every weight)
        layer_total, layer_trainable = _param_counts(layer)
        total += layer_total
        trainable += layer_trainable
    extra: dict[str, Any] = {}
    if graph.code_defined is not None and not graph.layers:
        total, trainable = graph.total_params, graph.trainable_params
        extra["code_defined"] = code_defined_object(graph.code_defined)
    header: dict[str, Any] = {
        "name": graph.name,
        "format": graph.format,
        "class_name": graph.class_name,
        "inputs": [str(ref) for ref in graph.inputs],
        "outputs": [str(ref) for ref in graph.outputs],
        "total_params": total,
        "trainable_params": trainable,
        "non_trainable_params": total - trainable,
        **extra,
    }
    if graph.upgrades:
        header["upgrades"] = [
            {"rule": r.rule, "layer": r.layer, "class_name": r.class_name, "detail": r.detail} for r in graph.upgrades
        ]
    return header


def code_defined_object(code: CodeDefined) -> dict[str, Any]:
    """A code-defined model (KerasHub) as the file records it: an addition to the contract."""
    obj: dict[str, Any] = {
        "class_name": code.class_name,
        "module": code.module,
        "note": code.NOTE,
        "config": dict(code.config),
        "weights": [{"name": w.name, "shape": list(w.shape), "dtype": w.dtype} for w in code.weights],
        "assets": list(code.assets),
    }
    if code.problem:
        obj["problem"] = code.problem
    return obj


def _param_counts(layer: Layer) -> tuple[int, int]:
    """(total, trainable) in one walk over the layer's weights."""
    total = trainable = 0
    for weight in layer.weights:
        size = weight.size
        total += size
        if weight.trainable:
            trainable += size
    return total, trainable


def iter_inspect_json(graph: ModelGraph) -> Iterator[str]:
    """``json.dumps(inspect_object(graph))`` in pieces, one layer at a time, so printing
    a 20,000-layer model never holds the whole object (tens of MB) in memory."""
    text = json.dumps({**_header(graph), "layers": []})
    yield text[: -len("]}")]
    for position, layer in enumerate(graph.layers):
        yield (", " if position else "") + json.dumps(_layer_object(layer))
    yield "]}"


def _layer_object(layer: Layer) -> dict[str, Any]:
    total, trainable = _param_counts(layer)
    obj: dict[str, Any] = {
        "name": layer.name,
        "class_name": layer.class_name,
        "trainable": layer.trainable,
        "params": total,
        "trainable_params": trainable,
        "non_trainable_params": total - trainable,
        "loadable": layer.problem is None and _subgraph_loadable(layer),
        "nodes": [_node_object(node) for node in layer.nodes],
    }
    if layer.problem is not None:
        obj["problem"] = layer.problem
    if layer.class_name in ("TFOpLambda", "SlicingOpLambda"):
        obj["function"] = "tf." + str(layer.config.get("function", ""))
        obj["arguments"] = [{k: _argument(v) for k, v in node.kwargs.items() if k != "name"} for node in layer.nodes]
    if layer.subgraph is not None:
        obj["inner_inputs"] = [str(ref) for ref in layer.subgraph.inputs]
        obj["inner_outputs"] = [str(ref) for ref in layer.subgraph.outputs]
        obj["layers"] = [_layer_object(inner) for inner in layer.subgraph.layers]
    return obj


def _argument(value: Any) -> Any:
    """A TF op's keyword argument for JSON: a tensor by its name (``"layer:0:0"``)."""
    if isinstance(value, TensorRef):
        return str(value)
    if isinstance(value, dict):
        return {k: _argument(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_argument(v) for v in value]
    return value


def _subgraph_loadable(layer: Layer) -> bool:
    if layer.subgraph is None:
        return True
    return all(inner.problem is None for _, inner in layer.subgraph.iter_layers_deep())


def _node_object(node: Node) -> dict[str, Any]:
    return {
        "inputs": [str(ref) for ref in node.inputs],
        "input_shapes": [_shape_list(shape) for shape in node.input_shapes],
        "output_shapes": [_shape_list(shape) for shape in node.output_shapes],
    }


def _shape_list(shape: Shape | None) -> list[int | None] | None:
    return None if shape is None else list(shape)


# --- table --------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryRow:
    """One line of the table; ``depth`` is how deep the layer sits in nested models."""

    depth: int
    name: str
    class_name: str
    output_shape: str
    params: int
    trainable: bool
    connected_to: tuple[str, ...]
    problem: str | None = None


def format_shape(shape: Shape | None) -> str:
    """``(None, 112, 112, 64)`` like Keras; ``?`` when the file does not record it."""
    if shape is None:
        return "?"
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def summary_rows(graph: ModelGraph, depth: int = 0) -> list[SummaryRow]:
    """Rows in file order; a nested model's inner layers follow it, one level deeper."""
    rows: list[SummaryRow] = []
    for layer in graph.layers:
        rows.append(
            SummaryRow(
                depth=depth,
                name=layer.name,
                class_name=layer.class_name,
                output_shape=_output_shape_text(layer),
                params=_param_counts(layer)[0],
                trainable=layer.trainable,
                connected_to=tuple(str(ref) for node in layer.nodes for ref in node.inputs),
                problem=layer.problem,
            )
        )
        if layer.subgraph is not None:
            rows.extend(summary_rows(layer.subgraph, depth + 1))
    return rows


def _output_shape_text(layer: Layer) -> str:
    """Distinct output shapes over all calls (a shared layer usually has one)."""
    texts: list[str] = []
    for node in layer.nodes:
        shapes = node.output_shapes
        text = format_shape(shapes[0]) if len(shapes) == 1 else "[" + ", ".join(map(format_shape, shapes)) + "]"
        if text not in texts:
            texts.append(text)
    return " | ".join(texts) if texts else "?"


def totals_lines(graph: ModelGraph) -> list[str]:
    """Total / trainable / non-trainable parameters with their size, as Keras prints them."""
    mb = graph.weight_bytes / (1024 * 1024)
    per_param = graph.weight_bytes / graph.total_params if graph.total_params else 4.0

    def size(count: int) -> str:
        return f"{count * per_param / (1024 * 1024):.2f} MB"

    return [
        f"Total params: {graph.total_params:,} ({mb:.2f} MB)",
        f"Trainable params: {graph.trainable_params:,} ({size(graph.trainable_params)})",
        f"Non-trainable params: {graph.non_trainable_params:,} ({size(graph.non_trainable_params)})",
    ]


HEADERS = ("Layer (type)", "Output Shape", "Param #", "Trainable", "Connected to")


def format_table(graph: ModelGraph) -> str:
    """The whole ``inspect`` text (see ``iter_table_lines``)."""
    return "\n".join(iter_table_lines(graph))


def iter_table_lines(graph: ModelGraph) -> Iterator[str]:
    """Header, one row per layer (a call's further inputs on extra lines, as Keras
    does), a note per layer Keras cannot load, and the totals; produced line by line."""
    rows = summary_rows(graph)
    widths = [len(h) for h in HEADERS]
    for row in rows:
        widths[0] = max(widths[0], len(_name_cell(row)))
        widths[1] = max(widths[1], len(row.output_shape))
        widths[2] = max(widths[2], len(f"{row.params:,}"))
        widths[4] = max(widths[4], max((len(c) for c in row.connected_to), default=1))

    def render(cells: tuple[str, str, str, str, str]) -> str:
        name, shape, params, trainable, connected = cells
        parts = [name.ljust(widths[0]), shape.ljust(widths[1]), params.rjust(widths[2])]
        return "  ".join([*parts, trainable.center(widths[3]), connected]).rstrip()

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    yield f'Model: "{graph.name}" ({graph.class_name}, {graph.format})'
    yield rule
    yield render(HEADERS)
    yield rule
    for row in rows:
        connected = row.connected_to or ("-",)
        yield render(
            (_name_cell(row), row.output_shape, f"{row.params:,}", "Y" if row.trainable else "N", connected[0])
        )
        for extra in connected[1:]:
            yield render(("", "", "", "", extra))
    yield rule
    if graph.code_defined is not None and not graph.layers:
        yield from _code_defined_lines(graph.code_defined)
        yield rule
    yield "Inputs: " + ", ".join(map(str, graph.inputs))
    yield "Outputs: " + ", ".join(map(str, graph.outputs))
    yield from totals_lines(graph)
    if graph.upgrades:
        from resect.core.upgrade.report import summarize  # Keras 2 files only

        yield "Keras 2 -> 3 rewrites (applied when loading in Keras 3):"
        for line in summarize(graph.upgrades):
            yield "  " + line
    problems = [(row.name, row.problem) for row in rows if row.problem]
    if problems:
        yield "Not loadable by Keras ([!]):"
        for name, problem in problems:
            yield f"  {name}: {problem}"


def _code_defined_lines(code: CodeDefined) -> Iterator[str]:
    yield f"{code.class_name} ({code.module}): {code.NOTE}"
    if code.problem:
        yield f"[!] {code.problem}"
    simple = {k: v for k, v in code.config.items() if isinstance(v, (int, float, str, bool)) or v is None}
    yield "Hyperparameters: " + ", ".join(f"{k}={v!r}" for k, v in simple.items())
    yield "Weights:"
    for weight in code.weights:
        yield f"  {weight.name}  {tuple(weight.shape)}  {weight.size:,}"
    for asset in code.assets:
        yield f"Asset: {asset}"


def _name_cell(row: SummaryRow) -> str:
    return "  " * row.depth + f"{row.name} ({row.class_name})" + (" [!]" if row.problem else "")
