"""The UI thread stays responsive while a deep model loads and Keras' shapes arrive.

A 10 ms heartbeat ``QTimer`` runs from File > Open until the Keras worker's shapes are in
the tree and the scene is redrawn; its largest gap is how long the UI thread was blocked.
The model is a generated 3,000-layer ``.keras`` file (bench/deep_model.py) with its
recorded tensor shapes blanked to ``[None, None]``: the real shapes must come from Keras.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer

from tests.gui.helpers import open_and_wait

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from deep_model import write_deep_model  # noqa: E402

# Offscreen on an idle 2-core machine: 70-75 ms; 115-138 ms before the fixes (which reset the
# tree on the shapes: the in-place assertion below catches that). A loaded machine adds
# scheduling delay that is not ours: the same heartbeat is first run with nothing to do while
# a busy process competes for the cores, and that calibration gap is added to the bound.
MAX_GAP_MS = 200
CALIBRATION_S = 1.0
LAYERS = 3000
pytestmark = pytest.mark.serial  # `make test` runs it alone: another test process would be in the gap


def _blank_shapes(obj: object) -> None:
    if isinstance(obj, dict):
        if obj.get("class_name") == "__keras_tensor__":
            obj["config"]["shape"] = [None, None]
        obj.pop("build_config", None) if "inbound_nodes" in obj else None
        for value in obj.values():
            _blank_shapes(value)
    elif isinstance(obj, list):
        for value in obj:
            _blank_shapes(value)


def deep_model_without_shapes(path: Path, layers: int) -> Path:
    """The deep model with no tensor shapes recorded (Keras still loads it: shapes follow
    from the input's ``batch_shape`` when the layers are called)."""
    write_deep_model(path, layers)
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    _blank_shapes(config)
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def calibration_gap_ms(qtbot) -> float:
    """The largest heartbeat gap while the UI thread has nothing to do but two busy processes
    (one per core, like the Keras worker and the test) compete for the machine."""
    spin = "import time\nend = time.time() + %r\nwhile time.time() < end: pass" % (CALIBRATION_S + 0.5)
    busy = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(2)]
    try:
        heartbeat = Heartbeat()
        qtbot.wait(int(CALIBRATION_S * 1000))
        heartbeat.timer.stop()
    finally:
        for process in busy:
            process.wait()
    return heartbeat.max_gap * 1000


class Heartbeat:
    """Largest interval between 10 ms timer ticks: how long the event loop was blocked."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.max_gap = 0.0
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._beat)
        self.timer.start()

    def _beat(self) -> None:
        now = time.perf_counter()
        self.max_gap = max(self.max_gap, now - self.last)
        self.last = now


def test_deep_model_open_and_keras_shapes_keep_ui_responsive(qtbot, make_window, tmp_path: Path) -> None:
    path = deep_model_without_shapes(tmp_path / "deep.keras", LAYERS)
    window = make_window(use_keras=True)
    allowed_ms = MAX_GAP_MS + calibration_gap_ms(qtbot)
    heartbeat = Heartbeat()
    shapes: list[bool] = []
    window.session.shapes_filled.connect(lambda: shapes.append(True))
    open_and_wait(qtbot, window, path)
    tree = window.tree.model
    dense = next(layer.name for layer in window.document.graph.layers if layer.class_name == "Dense")
    before = tree.index_of((dense,), 2).data(Qt.ItemDataRole.DisplayRole)
    first_row = tree.index_of((dense,), 0)
    qtbot.waitUntil(lambda: bool(shapes), timeout=180_000)  # the worker imports TensorFlow: slow on a loaded machine
    qtbot.waitUntil(
        lambda: not window.session.scene_pending and window.document.scene is window.canvas.prepared.scene,
        timeout=30_000,
    )
    qtbot.wait(50)
    heartbeat.timer.stop()

    after = tree.index_of((dense,), 2).data(Qt.ItemDataRole.DisplayRole)
    assert after == "(None, 8)", f"Keras' shape for {dense} is not in the tree (was {before!r}, now {after!r})"
    assert before == "(None, None)"  # the file alone did not know it: it came from the Keras worker
    assert window.document.keras.state == "ready"
    # updated in place: the row's index survived (a model reset would have invalidated it)
    assert tree.index_of((dense,), 0) == first_row
    # and the canvas shows them too (edge labels carry the tensor shapes, batch left out)
    assert {edge.label for edge in window.canvas.prepared.scene.edges} == {"8"}
    gap_ms = heartbeat.max_gap * 1000
    assert gap_ms < allowed_ms, f"UI thread blocked for {gap_ms:.0f} ms (allowed {allowed_ms:.0f} ms on this load)"
