"""Speed of the surgery engine: apply one edit + preview, as the GUI does after every action.

Target (issue 3): under 20 ms per edit on a 1,000-layer model. Cases: a generated
1,000-layer and 5,000-layer residual chain (``bench/deep_model.py``, read back with
``core.reader``) and DenseNet121 / ResNet50 from the test zoo (real Keras files). Each
row times ``Document.push(edit)`` followed by ``document.preview`` on a fresh document
(best of several runs); ``peak_mb`` is Python's peak allocation (tracemalloc) during one
run. Run directly to print the table.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from run import best_time_and_peak  # noqa: E402

from resect.core.analysis.cutpoints import single_tensor_cut_points  # noqa: E402
from resect.core.graph import ModelGraph  # noqa: E402
from resect.core.reader import read_model  # noqa: E402
from resect.core.surgery import graph_ops  # noqa: E402
from resect.core.surgery import preview as preview_module  # noqa: E402
from resect.core.surgery.document import Document  # noqa: E402
from resect.core.surgery.edits import (  # noqa: E402
    AddOutputs,
    Cut,
    Edit,
    LayerSpec,
    ReplaceHead,
    SetInputShape,
    SetTrainable,
)

TARGET_MS = 20.0


def _edits(graph: ModelGraph) -> list[tuple[str, Edit]]:
    points = [p for p in single_tensor_cut_points(graph) if p not in graph.inputs and p not in graph.outputs]
    middle, late = points[len(points) // 2], points[(3 * len(points)) // 4]
    first_input = graph.inputs[0].layer
    shape = graph.shape(graph.inputs[0]) or (None, 8)
    return [
        ("cut middle -> 3/4", Cut(inputs=(str(middle),), outputs=(str(late),))),
        ("end at middle", Cut(outputs=(str(middle),))),
        ("add 2 outputs", AddOutputs((str(middle), str(late)))),
        ("freeze below middle", SetTrainable(False, below=str(middle))),
        ("set input shape", SetInputShape(first_input, tuple(shape[1:]))),
        (
            "replace head at 3/4",
            ReplaceHead(str(late), (LayerSpec("Dropout", {"rate": 0.5}), LayerSpec("Dense", {"units": 2}))),
        ),
    ]


def _case(name: str, graph: ModelGraph) -> list[dict]:
    rows = []
    edits = _edits(graph)
    for label, edit in edits:

        def one(edit: Edit = edit) -> None:
            document = Document(graph)
            document.push(edit)
            _ = document.preview

        seconds, peak = best_time_and_peak(one)
        note = f"{len(graph.layers)} layers; target < {TARGET_MS:.0f} ms per edit"
        rows.append(
            {
                "case": f"{name}: {label}",
                "tool": "resect apply+preview",
                "seconds": seconds,
                "peak_mb": peak,
                "note": note,
            }
        )

    def cold() -> None:
        """The first edit on a freshly read graph: no per-graph caches yet."""
        graph_ops._SUCCESSORS.clear()
        preview_module._CACHE.clear()
        document = Document(replace(graph))
        document.push(edits[0][1])
        _ = document.preview

    seconds, peak = best_time_and_peak(cold)
    rows.append(
        {
            "case": f"{name}: cut middle -> 3/4, cold caches",
            "tool": "resect apply+preview",
            "seconds": seconds,
            "peak_mb": peak,
            "note": f"{len(graph.layers)} layers; first edit after opening",
        }
    )

    seconds, peak = best_time_and_peak(lambda: single_tensor_cut_points(graph))
    rows.append(
        {
            "case": f"{name}: single-tensor cut points",
            "tool": "resect cutpoints",
            "seconds": seconds,
            "peak_mb": peak,
            "note": f"{len(graph.layers)} layers; highlighted while picking",
        }
    )

    def undo_redo() -> None:
        document = Document(graph)
        for _, edit in (edits[3], edits[2], edits[0]):
            document.push(edit)
        document.undo()
        document.redo()

    seconds, peak = best_time_and_peak(undo_redo)
    rows.append(
        {
            "case": f"{name}: freeze, outputs, cut + undo + redo",
            "tool": "resect document",
            "seconds": seconds,
            "peak_mb": peak,
            "note": f"{len(graph.layers)} layers",
        }
    )
    return rows


def _models() -> list[tuple[str, ModelGraph]]:
    from deep_model import write_deep_model

    found = []
    directory = tempfile.mkdtemp(prefix="resect-bench-preview-")
    for size in (1000, 5000):
        path = os.path.join(directory, f"deep_{size}.keras")
        write_deep_model(path, size)
        found.append((f"residual chain {size}", read_model(path)))
    try:
        from zoo import ZooCache

        cache = ZooCache()
        for name in ("densenet121", "resnet50"):
            found.append((name, read_model(cache.path(name))))
    except Exception as error:  # the zoo needs Keras to build a missing file; the chain cases still run
        print(f"bench_preview: zoo models skipped ({error})", file=sys.stderr)
    return found


def run() -> list[dict]:
    """Rows for bench/run.py; ``seconds`` is the best of 5 runs with the document's
    per-graph caches warm (as after the first edit in the GUI), except the cold row."""
    rows = []
    for name, graph in _models():
        rows.extend(_case(name, graph))
    return rows


if __name__ == "__main__":
    for row in run():
        ms = row["seconds"] * 1000
        print(f"{row['case']:<45} {row['tool']:<22} {ms:8.2f} ms {row['peak_mb']:7.2f} MB  {row['note']}")
