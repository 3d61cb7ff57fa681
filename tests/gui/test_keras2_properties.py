"""The properties panel shows a Keras 2 model's upgrade report and a layer's own rewrites."""

from __future__ import annotations

from PySide6.QtCore import Qt
from zoo_keras2 import Keras2Zoo

from tests.gui.helpers import open_and_wait


def test_keras2_rewrites_in_model_and_layer_properties(qtbot, make_window):
    window = make_window()
    open_and_wait(qtbot, window, Keras2Zoo().path("mobilenet", "savedmodel"))
    text = window.properties.header.text()
    assert "Keras 2 file: rewrites for Keras 3" in text
    assert "13 DepthwiseConv2D: dropped groups=1" in text
    panel = window.tree
    index = panel.view_index(panel.model.index_of(("conv_dw_1",)))
    panel.view.scrollTo(index)
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=panel.view.visualRect(index).center())
    assert "Keras 2 -> 3: dropped groups=1" in window.properties.header.text()
