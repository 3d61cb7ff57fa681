"""The GUI rows of ``make bench`` for this checkout and another one, in the same run.

A change to the app must keep launch to first paint, pan frames, edit to redraw and the
longest UI stall within 10% of the code it replaces; on a shared machine only figures taken
side by side, alternating, say that. Each round runs every row once in each checkout (its own
``main.py`` and ``bench/`` scripts, this checkout's interpreter); the table shows the median
over the rounds and the ratio.

    .venv/bin/python bench/compare_gui.py OTHER_CHECKOUT [ROUNDS]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench_gui import _efficientnet_b7, _resnet50  # noqa: E402
from deep_model import cached_deep_model  # noqa: E402
from run import measure  # noqa: E402

PY = sys.executable


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def _child(tree: Path, args: list[str], **extra: str) -> str:
    script, *rest = args  # the tree's own script: it puts its own checkout first on sys.path
    done = measure([PY, str(tree / script), *rest], capture_stdout=True, env=_env(**extra))
    if done.returncode != 0:
        raise RuntimeError(f"{tree}: {args} exited {done.returncode}: {done.stderr[-400:]}")
    return done.stdout


def _first_paint(model: Path) -> Callable[[Path], dict[str, float]]:
    def row(tree: Path) -> dict[str, float]:
        out = _child(tree, ["main.py", str(model)], RESECT_BENCH_EXIT_AFTER_DRAW="1")
        line = next(line for line in out.splitlines() if line.startswith("drawn_after_s="))
        return {f"launch to first paint: {model.stem} (s)": float(line.split("=", 1)[1])}

    return row


def _frames(tree: Path) -> dict[str, float]:
    out = _child(tree, ["bench/bench_gui.py", "--frames", str(cached_deep_model(5_000))])
    measured = json.loads(out.strip().splitlines()[-1])
    measured.pop("_info")
    return {f"frame: {name}, 5,000 layers (ms)": statistics.median(times) for name, times in measured.items()}


def _editor(tree: Path) -> dict[str, float]:
    out = _child(tree, ["bench/bench_editor.py", "--child", str(cached_deep_model(1000))])
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {f"{row['case']} (s)": row["seconds"] for row in rows if isinstance(row.get("seconds"), (int, float))}


def _stall(tree: Path) -> dict[str, float]:
    out = _child(tree, ["bench/bench_gui.py", "--stalls", str(cached_deep_model(20_000))], RESECT_NO_KERAS="1")
    stall = json.loads(out.strip().splitlines()[-1])
    return {"max UI stall opening 20,000 layers, Keras off (ms)": stall["max_gap_ms"]}


def main(argv: list[str]) -> int:
    other = Path(argv[0]).resolve()
    rounds = int(argv[1]) if len(argv) > 1 else 3
    rows = [_first_paint(_resnet50()), _first_paint(_efficientnet_b7()), _frames, _editor, _stall]
    figures: dict[str, dict[str, list[float]]] = {}
    for _ in range(rounds):
        for row in rows:
            for name, tree in (("other", other), ("this", ROOT)):
                for case, value in row(tree).items():
                    figures.setdefault(case, {"other": [], "this": []})[name].append(value)
    load = os.getloadavg()[0]
    print(f"{other.name} (other) vs {ROOT.name} (this), median of {rounds} alternating rounds, load {load:.1f}")
    print(f"{'row':<72} {'other':>9} {'this':>9} {'this/other':>10}")
    for case, sides in figures.items():
        if not sides["other"] or not sides["this"]:
            continue
        a, b = statistics.median(sides["other"]), statistics.median(sides["this"])
        print(f"{case:<72} {a:>9.3f} {b:>9.3f} {b / a if a else float('nan'):>10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
