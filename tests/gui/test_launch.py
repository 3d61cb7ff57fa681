"""``python main.py [MODEL]`` starts the GUI, draws the graph and (in bench mode) reports
the time to the first paint; bare, it opens the bundled demo model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_app(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "RESECT_BENCH_EXIT_AFTER_DRAW": "1", "RESECT_NO_KERAS": "1"}
    return subprocess.run(
        [sys.executable, "main.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("name", ["resnet50", "siamese"])
def test_launch_with_model_draws_and_reports_time(zoo, name):
    result = run_app(str(zoo.path(name, "keras")))
    assert result.returncode == 0, result.stderr[-2000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("drawn_after_s="))
    assert 0 < float(line.split("=")[1]) < 60


def test_bare_launch_opens_the_demo_model():
    from resect.resources import demo_model_path

    assert demo_model_path().is_file()
    result = run_app()
    assert result.returncode == 0, result.stderr[-2000:]
    assert "drawn_after_s=" in result.stdout


def test_launch_with_a_bad_file_reports_one_line(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    result = run_app(str(bad))
    assert result.returncode == 2
    assert str(bad) in result.stderr and "Traceback" not in result.stderr
