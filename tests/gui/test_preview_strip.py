"""The parameter strip says which numbers are not Keras' own: "≈" for counts of the proved
pure-Python rules, "?" for counts only Keras can give, nothing when all are exact."""

from __future__ import annotations

from resect.app.editor.panels import PreviewStrip
from resect.core.reader import read_model
from resect.core.surgery.apply import apply_edits
from resect.core.surgery.edits import InsertLayer, LayerSpec, ReplaceHead
from resect.core.surgery.preview import preview


def test_strip_marks_estimates_and_unknowns(qtbot, zoo):
    graph = read_model(zoo.path("small_resnet", "keras"))
    strip = PreviewStrip()
    qtbot.addWidget(strip)
    strip.show_preview(preview(graph, graph))
    assert "≈" not in strip.text and "?" not in strip.params_label.text()
    assert strip.params_label.toolTip().startswith("Exact")
    head = ReplaceHead("avg_pool", (LayerSpec("Dense", {"units": 2, "name": "two"}),))
    estimated = preview(graph, apply_edits(graph, [head]))
    strip.show_preview(estimated, 1)
    assert estimated.estimated == ("two",) and "Params ≈" in strip.text and "two" in strip.params_label.toolTip()
    odd = InsertLayer("avg_pool", LayerSpec("LayerNormalization", {"rms_scaling": True, "name": "rms"}))
    unknown = preview(graph, apply_edits(graph, [odd]))
    strip.show_preview(unknown, 1)
    assert unknown.total_params is None and "Params ?" in strip.text and "rms" in strip.params_label.toolTip()
    assert "not counted yet" in strip.text
