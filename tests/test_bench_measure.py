"""The bench measures exactly the program it runs (issue 18).

A child forked or spawned by a large process used to read at least that process's size as
its own peak memory: ``python -c pass`` read 412 MB from a 400 MB bench. These tests grow
this test process by 400 MB and check the figures do not move, that a child's own 200 MB
show up, and that the figure is the child's own high-water mark (``VmHWM``) as it reports it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH_RUN = Path(__file__).resolve().parent.parent / "bench" / "run.py"
PY = sys.executable
HWM = (
    "import sys\n"
    "{body}\n"
    "line = next(l for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
    "print(int(line.split()[1]) / 1024)\n"
)


@pytest.fixture(scope="module")
def bench_run():
    spec = importlib.util.spec_from_file_location("resect_bench_run", BENCH_RUN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _median_peak(bench_run, command: list[str], runs: int = 3) -> float:
    peaks = sorted(bench_run.measure(command).peak_mb for _ in range(runs))
    return peaks[len(peaks) // 2]


def test_a_large_bench_process_does_not_inflate_a_small_child(bench_run) -> None:
    before = _median_peak(bench_run, [PY, "-c", "pass"])
    rss_before = _rss_mb()
    ballast = b"\x01" * (400 << 20)  # written, so resident
    try:
        assert _rss_mb() - rss_before > 390  # the bench really is 400 MB larger now
        after = _median_peak(bench_run, [PY, "-c", "pass"])
    finally:
        del ballast
    assert 5 < before < 40, before
    assert abs(after - before) < 3, (before, after)


def test_a_child_allocating_200_mb_reads_200_mb_more(bench_run) -> None:
    small = _median_peak(bench_run, [PY, "-c", "pass"])
    large = _median_peak(bench_run, [PY, "-c", "block = b'x' * (200 << 20)"])
    assert 190 < large - small < 215, (small, large)


def test_the_figure_is_the_childs_own_high_water_mark(bench_run) -> None:
    ballast = b"\x01" * (100 << 20)
    try:
        for body in ("pass", "block = b'x' * (50 << 20)"):
            done = bench_run.measure([PY, "-c", HWM.format(body=body)], capture_stdout=True)
            assert done.returncode == 0, done.stderr
            own = float(done.stdout.strip())
            assert abs(done.peak_mb - own) < 1.5, (body, own, done.peak_mb)
    finally:
        del ballast


def test_time_status_and_timeout(bench_run) -> None:
    done = bench_run.measure([PY, "-c", "import time; time.sleep(0.3); raise SystemExit('bad input.keras')"])
    assert done.returncode == 1
    assert done.last_error == "bad input.keras"
    assert 0.3 <= done.seconds < 2.0
    killed = bench_run.measure([PY, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert killed.returncode == -9
    assert 0.5 <= killed.seconds < 3.0
    burn = bench_run.measure(
        [PY, "-c", "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass"]
    )
    assert burn.cpu >= 0.4


def test_a_command_that_cannot_start_is_reported(bench_run, tmp_path: Path) -> None:
    done = bench_run.measure([str(tmp_path / "missing")])
    assert done.returncode == 127
    assert "No such file" in done.last_error


def test_own_peak_mb_is_this_process_high_water_mark(bench_run) -> None:
    ballast = b"\x01" * (150 << 20)
    try:
        rss = _rss_mb()
        assert rss > 150
        assert bench_run.own_peak_mb() >= rss - 1
    finally:
        del ballast
