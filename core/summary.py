"""What ``inspect`` shows: a ``model.summary()``-like table and the JSON object of
DESIGN.md section 2, both computed from a ``ModelGraph`` alone (pure, no Keras).

Tensor names in the table use the recipe form ``layer:node:index`` so a user can copy
them straight into a recipe or a ``cut``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.graph import Layer, ModelGraph, Node, Shape

__all__ = ["SummaryRow", "format_shape", "format_table", "inspect_object", "summary_rows", "totals_lines"]


# --- JSON ---------------------------------------------------------------------


def inspect_object(graph: ModelGraph) -> dict[str, Any]:
    """The ``inspect --json`` object: layers in file order, nested models as one layer
    whose ``"layers"`` key holds the inner list, unknown dimensions as ``None``.

    Beyond the contract (additions only): ``"class_name"`` of the model, and per layer
    ``"loadable"`` plus ``"problem"`` when Keras cannot load it safely.
    """
    return {
        "name": graph.name,
        "format": graph.format,
        "class_name": graph.class_name,
        "inputs": [str(ref) for ref in graph.inputs],
        "outputs": [str(ref) for ref in graph.outputs],
        "total_params": graph.total_params,
        "trainable_params": graph.trainable_params,
        "non_trainable_params": graph.non_trainable_params,
        "layers": [_layer_object(layer) for layer in graph.layers],
    }


def _layer_object(layer: Layer) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "name": layer.name,
        "class_name": layer.class_name,
        "trainable": layer.trainable,
        "params": layer.params,
        "trainable_params": layer.trainable_params,
        "non_trainable_params": layer.non_trainable_params,
        "loadable": layer.problem is None and _subgraph_loadable(layer),
        "nodes": [_node_object(node) for node in layer.nodes],
    }
    if layer.problem is not None:
        obj["problem"] = layer.problem
    if layer.subgraph is not None:
        obj["inner_inputs"] = [str(ref) for ref in layer.subgraph.inputs]
        obj["inner_outputs"] = [str(ref) for ref in layer.subgraph.outputs]
        obj["layers"] = [_layer_object(inner) for inner in layer.subgraph.layers]
    return obj


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
                params=layer.params,
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
    """The whole ``inspect`` text: header, one row per layer (inputs on extra lines
    when a call has several), a note per layer Keras cannot load, and the totals."""
    rows = summary_rows(graph)
    cells: list[tuple[str, str, str, str, str]] = []
    for row in rows:
        mark = " [!]" if row.problem else ""
        first = ("  " * row.depth + f"{row.name} ({row.class_name}){mark}", row.output_shape, f"{row.params:,}")
        connected = row.connected_to or ("-",)
        cells.append((*first, "Y" if row.trainable else "N", connected[0]))
        cells.extend(("", "", "", "", extra) for extra in connected[1:])
    widths = [len(h) for h in HEADERS]
    for line in cells:
        for i, cell in enumerate(line[:-1]):
            widths[i] = max(widths[i], len(cell))
    widths[-1] = max(widths[-1], max((len(c[-1]) for c in cells), default=0))

    def render(line: tuple[str, ...]) -> str:
        parts = [line[0].ljust(widths[0]), line[1].ljust(widths[1]), line[2].rjust(widths[2])]
        parts += [line[3].center(widths[3]), line[4]]
        return "  ".join(parts).rstrip()

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    out = [f'Model: "{graph.name}" ({graph.class_name}, {graph.format})', rule, render(HEADERS), rule]
    out.extend(render(line) for line in cells)
    out.append(rule)
    out.append("Inputs: " + ", ".join(map(str, graph.inputs)))
    out.append("Outputs: " + ", ".join(map(str, graph.outputs)))
    out.extend(totals_lines(graph))
    problems = [(row.name, row.problem) for row in rows if row.problem]
    if problems:
        out.append("Not loadable by Keras ([!]):")
        out.extend(f"  {name}: {problem}" for name, problem in problems)
    return "\n".join(out)
