"""Rows of ``make bench`` for this checkout and another one, in the same run, with the ratio.

A change must keep ``inspect --fast`` (issue 10) and the GUI rows (launch to first paint,
pan frames, edit to redraw, the longest UI stall: issue 13) within noise / 10% of the code
it replaces; on a shared machine only figures taken side by side, alternating, say that.
Each round runs every row once in each checkout (its own ``main.py`` and ``bench/``
scripts, this checkout's interpreter, both checkouts' bytecode compiled first); the table
shows the median over the rounds and the ratio.

    .venv/bin/python bench/compare.py OTHER_CHECKOUT [ROUNDS] [inspect] [gui] [launch] [editor] [frames]
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
from bench_inspect import model_path  # noqa: E402
from deep_model import cached_deep_model  # noqa: E402
from run import ENV, compile_bytecode, measure  # noqa: E402

PY = sys.executable
Row = Callable[[Path], dict[str, float]]


def _env(**extra: str) -> dict[str, str]:
    return {**ENV, "QT_QPA_PLATFORM": "offscreen", **extra}


def _child(tree: Path, args: list[str], **extra: str) -> str:
    script, *rest = args  # the tree's own script: it puts its own checkout first on sys.path
    done = measure([PY, str(tree / script), *rest], capture_stdout=True, env=_env(**extra))
    if done.returncode != 0:
        raise RuntimeError(f"{tree}: {args} exited {done.returncode}: {done.stderr[-400:]}")
    return done.stdout


def _inspect_fast(case: str) -> Row:
    def row(tree: Path) -> dict[str, float]:
        done = measure([PY, str(tree / "main.py"), "inspect", str(model_path(case)), "--fast", "--json"], env=_env())
        if done.returncode != 0:
            raise RuntimeError(f"{tree}: inspect {case} exited {done.returncode}: {done.last_error}")
        name = f"inspect --fast: {case}"
        return {f"{name}, wall (s)": done.seconds, f"{name}, cpu (s)": done.cpu, f"{name}, peak (MB)": done.peak_mb}

    return row


def _first_paint(model: Path) -> Row:
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


GROUPS: dict[str, Callable[[], list[Row]]] = {
    "inspect": lambda: [_inspect_fast(case) for case in ("resnet50", "efficientnet_b7", "deep_5000", "deep_20000")],
    "gui": lambda: [_first_paint(_resnet50()), _first_paint(_efficientnet_b7()), _frames, _editor, _stall],
    "launch": lambda: [_first_paint(_resnet50()), _first_paint(_efficientnet_b7())],  # parts of "gui"
    "editor": lambda: [_editor],
    "frames": lambda: [_frames],
}


def main(argv: list[str]) -> int:
    other = Path(argv[0]).resolve()
    rounds = int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 3
    groups = [name for name in argv[1:] if name in GROUPS] or list(GROUPS)
    rows = [row for name in groups for row in GROUPS[name]()]
    for tree in (other, ROOT):
        compile_bytecode(tree)
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
