"""Editor speed: edit -> updated preview and canvas on a 1,000-layer model, and the
longest UI-thread stall (a 10 ms QTimer heartbeat) while a model loads (TensorFlow import
and Keras load in the Keras worker process) and while an edited model exports with
verification (in the same worker). The last row says whether TensorFlow ever entered the
app's own process (it must not).

Runs offscreen in a child process (a fresh QApplication, real window with the editor):

    .venv/bin/python bench/bench_editor.py        # prints the rows as JSON lines
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from deep_model import cached_deep_model  # noqa: E402
from run import measure, own_peak_mb  # noqa: E402


def run() -> list[dict]:
    """Rows {case, tool, seconds, peak_mb, note} measured in a child process."""
    model = cached_deep_model(1000)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = measure([sys.executable, __file__, "--child", str(model)], capture_stdout=True, env=env)
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not rows:
        raise RuntimeError(f"bench_editor child failed: {done.stderr[-2000:]}")
    return rows


# --- child ------------------------------------------------------------------------------------
class _Heartbeat:
    """Ticks every 10 ms on the UI thread; the largest gap is the longest stall."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.last = time.perf_counter()
        self.max_gap = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        self.max_gap = max(self.max_gap, now - self.last)
        self.last = now

    def start(self) -> None:
        self.last = time.perf_counter()
        self.max_gap = 0.0
        self.timer.start()

    def stop(self) -> float:
        self._tick()
        self.timer.stop()
        return self.max_gap


def _row(case: str, seconds: float, note: str) -> None:
    print(json.dumps({"case": case, "tool": "resect editor", "seconds": round(seconds, 4),
                      "peak_mb": round(own_peak_mb(), 1), "note": note}), flush=True)  # fmt: skip


def _child(model: str) -> None:
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QEventLoop, QSettings
    from PySide6.QtWidgets import QApplication

    from resect.app.editor import install_editor
    from resect.app.main_window import MainWindow
    from resect.core.surgery.edits import Cut, Rename, SetTrainable

    application = QApplication.instance() or QApplication([])
    folder = tempfile.mkdtemp(prefix="resect-bench-editor-")
    settings = QSettings(os.path.join(folder, "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, use_keras=True)
    editor = install_editor(window)
    window.resize(1400, 900)
    window.show()

    def wait(condition, timeout: float = 600.0) -> None:
        end = time.perf_counter() + timeout
        while not condition():
            if time.perf_counter() > end:
                raise TimeoutError("bench_editor: timed out")
            application.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)

    beat = _Heartbeat()
    beat.start()
    started = time.perf_counter()
    window.open_path(model)
    wait(lambda: window.canvas.prepared is not None and editor.doc is not None)
    drawn = time.perf_counter() - started
    wait(lambda: window.document.keras.state in ("ready", "failed") and window.session.keras_model is not None)
    wait(lambda: not window.session.scene_pending)
    loaded = time.perf_counter() - started
    _row("load 1,000 layers: longest UI stall", beat.stop(),
         f"drawn after {drawn:.2f}s, Keras shapes after {loaded:.2f}s (TensorFlow import included)")  # fmt: skip

    import resect.app.dialogs
    from resect.core.analysis.cutpoints import single_tensor_cut_points

    def refuse(parent, title, message):  # noqa: ANN001 - a modal dialog would stall the bench
        raise RuntimeError(f"bench_editor: {title}: {message}")

    resect.app.dialogs.show_error = refuse
    graph = editor.doc.original
    points = [r.layer for r in single_tensor_cut_points(graph)]
    mid, late = points[len(points) // 2], points[3 * len(points) // 4]

    def timed(label: str, action) -> None:  # noqa: ANN001
        shown: list[float] = []
        editor.shown.connect(lambda: shown.append(time.perf_counter()))
        beat.start()
        t0 = time.perf_counter()
        action()
        wait(lambda: bool(shown) and not window.session.scene_pending)
        preview = editor.strip.preview
        seconds = shown[-1] - t0
        editor.shown.disconnect()
        _row(f"edit -> preview + canvas, 1,000 layers: {label}", seconds,
             f"UI stall {beat.stop() * 1000:.0f} ms; {len(window.canvas.prepared.keys)} boxes; "
             f"params {preview.total_params:,}")  # fmt: skip

    for collapsed in (True, False):
        if not collapsed:
            window.expand_all()
            wait(lambda: not window.session.scene_pending)
        view = "collapsed blocks" if collapsed else "flat"
        timed(f"freeze below ({view})", lambda: editor.apply(SetTrainable(False, below=mid)))
        timed(f"cut ({view})", lambda: editor.apply(Cut(inputs=(mid,), outputs=(late,))))
        timed(f"rename ({view})", lambda: editor.apply(Rename(late, "features")))
        timed(f"undo ({view})", editor.undo)
        timed(f"redo ({view})", editor.redo)
        editor.stack.setIndex(0)
        wait(lambda: not window.session.scene_pending)
        if not collapsed:  # a relayout of all 1,000 boxes (names change box widths)
            timed("rename, whole model (flat, new layout)", lambda: editor.apply(Rename(late, "features_2")))
            editor.stack.setIndex(0)
            wait(lambda: not window.session.scene_pending)

    # export with verification in the background, heartbeat on the UI thread
    editor.apply(Cut(inputs=(mid,), outputs=(late,)))
    dialog = editor.export()
    dialog.path_edit.setText(os.path.join(folder, "edited.keras"))
    beat.start()
    t0 = time.perf_counter()
    dialog.start()
    wait(lambda: dialog.state in ("done", "failed", "cancelled"))
    seconds = time.perf_counter() - t0
    stall = beat.stop()
    note = dialog.error or f"verified, max diff {dialog.result.verify.max_abs_diff:.2g}; export took {seconds:.1f}s"
    _row("export 1,000 layers (.keras + verify): longest UI stall", stall, note)
    dialog.close()
    dialog.worker.wait(60_000)
    heavy = sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")})
    _row("TensorFlow / Keras modules in the app process", float(len(heavy)), ", ".join(heavy) or "none")
    window.discard_checks.clear()  # the bench's edits go without the unsaved-edits question (issue 13)
    window.close()


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(sys.argv[2])
    else:
        for row in run():
            print(json.dumps(row))
