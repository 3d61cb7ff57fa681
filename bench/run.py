"""Speed table: imports every ``bench/bench_*.py``, calls its ``run() -> list[dict]``
(rows: case, tool, seconds, peak_mb, note) and prints one table. ``make bench``.

Every figure is a whole child process, measured with ``os.wait4`` by a tiny launcher
(``bench/launch.py``) so that the bench's own memory never counts: wall time and that
process's peak resident memory, plus its CPU time in the note (the machine is shared,
so CPU time shows the cost when wall time is inflated by other work).
"""

from __future__ import annotations

import datetime
import importlib.util
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CACHE = Path(os.environ.get("RESECT_BENCH_CACHE", Path.home() / ".cache" / "resect-bench"))
LAUNCHER = BENCH / "launch.py"
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONDONTWRITEBYTECODE": "1"}
# what a checkout imports (older ones lack resect/)
PACKAGE_DIRS = ("resect", "core", "app", "cli", "resources", "bench")


def compile_bytecode(tree: Path = ROOT) -> None:
    """Write the ``.pyc`` files of ``tree``'s own code before anything is timed, as installing
    a package does: the children run with ``PYTHONDONTWRITEBYTECODE`` (no litter from the
    bench) and would otherwise compile every module from source on every run, so a change
    that adds modules would be charged the compiler's time, which no user ever pays twice."""
    dirs = [str(tree / name) for name in PACKAGE_DIRS if (tree / name).is_dir()]
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", str(tree / "main.py"), *dirs], check=True)


class Measured:
    """One finished child process: wall seconds, CPU seconds, peak RSS in MB, status."""

    def __init__(
        self, seconds: float, cpu: float, peak_mb: float, returncode: int, stderr: str, stdout: str = ""
    ) -> None:
        self.seconds = seconds
        self.cpu = cpu
        self.peak_mb = peak_mb
        self.returncode = returncode
        self.stderr = stderr
        self.stdout = stdout

    @property
    def last_error(self) -> str:
        lines = [line for line in self.stderr.strip().splitlines() if line.strip()]
        return lines[-1][:90] if lines else f"exit {self.returncode}"


def best_time_and_peak(fn: Callable[[], object], repeat: int = 5) -> tuple[float, float]:
    """In-process timing for fast steps: the best of ``repeat`` wall times, then the peak
    traced memory in MB of one more run (tracemalloc slows the call, so it is not timed)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return best, peak


def measure(
    command: Sequence[str], timeout: float = 1800, capture_stdout: bool = False, env: dict[str, str] | None = None
) -> Measured:
    """Run ``command`` and measure exactly that process: wall and CPU time and peak RSS
    from ``wait4`` in the tiny launcher (``bench/launch.py``) that spawns it, so none of
    this bench process's own pages count however large it has grown. A run past
    ``timeout`` seconds is killed and reported with return code -9. stdout is discarded
    unless ``capture_stdout`` (then in ``Measured.stdout``); ``env`` defaults to ``ENV``."""
    read_fd, write_fd = os.pipe()
    launcher = [sys.executable, "-I", "-S", str(LAUNCHER), str(write_fd), str(timeout), *command]
    try:
        with subprocess.Popen(
            launcher,
            stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=ENV if env is None else env,
            pass_fds=(write_fd,),
        ) as process:
            os.close(write_fd)
            write_fd = -1
            out, err = process.communicate()
        with os.fdopen(read_fd, "rb") as result:
            read_fd = -1
            line = result.read().decode().split()
    finally:
        for fd in (read_fd, write_fd):
            if fd >= 0:
                os.close(fd)
    stderr = err.decode(errors="replace")
    stdout = out.decode(errors="replace") if capture_stdout else ""
    if len(line) != 4:  # the launcher could not start the command (its traceback is in stderr)
        return Measured(0.0, 0.0, 0.0, 127, stderr, stdout)
    seconds, cpu, maxrss_kb, returncode = float(line[0]), float(line[1]), int(line[2]), int(line[3])
    return Measured(seconds, cpu, maxrss_kb / 1024, returncode, stderr, stdout)


def own_peak_mb() -> float:
    """This process's own peak resident memory in MB since it exec'd (``VmHWM``), for
    figures read inside a bench child: unlike ``getrusage(RUSAGE_SELF)`` it never holds the
    high-water mark of the process that spawned it."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def cached_model(case: str, build: str, timeout: float = 3600) -> Path:
    """``CACHE/<case>.keras``, built once by ``python -c BUILD PATH`` (a partial name
    renamed into place, so an interrupted build is never taken for a model)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    target = CACHE / f"{case}.keras"
    if target.exists():
        return target
    print(f"  building {case} (once) ...", file=sys.stderr, flush=True)
    partial = target.with_name(f".{case}.partial.keras")
    done = measure([sys.executable, "-c", build, str(partial)], timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(f"could not build {case}: {done.last_error}")
    partial.replace(target)
    return target


def tool_row(case: str, tool: str, done: Measured, note: str = "") -> dict:
    """One table row for a measured run: its wall time and peak, ``note`` after its CPU
    time, or the failure's last line."""
    if done.returncode != 0:
        note = f"FAILED: {done.last_error}"
    else:
        note = "; ".join(part for part in (note, f"cpu {done.cpu:.2f} s") if part)
    return {"case": case, "tool": tool, "seconds": done.seconds, "peak_mb": done.peak_mb, "note": note}


def measure_median(command: Sequence[str], runs: int = 3) -> tuple[Measured, list[float]]:
    """The run with the median wall time of ``runs``, and all wall times."""
    results = sorted((measure(command) for _ in range(runs)), key=lambda m: m.seconds)
    return results[len(results) // 2], [m.seconds for m in results]


def load_bench_modules(only: Sequence[str] = ()) -> list:
    """``bench_*.py`` modules in name order; ``only`` keeps those named (``inspect``)."""
    modules = []
    for path in sorted(BENCH.glob("bench_*.py")):
        if only and path.stem.removeprefix("bench_") not in only and path.stem not in only:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


def _seconds(value: float) -> str:
    """Two decimals for whole processes, four below 0.1 s (edits, layouts: milliseconds)."""
    return f"{value:.4f}" if value < 0.1 else f"{value:.2f}"


def format_rows(rows: list[dict]) -> str:
    headers = ("case", "tool", "seconds", "peak_mb", "note")
    cells = [
        (
            str(row["case"]),
            str(row["tool"]),
            "-" if row.get("seconds") is None else _seconds(row["seconds"]),
            "-" if row.get("peak_mb") is None else f"{row['peak_mb']:.0f}",
            str(row.get("note", "")),
        )
        for row in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)]
    right = {2, 3}

    def line(values: Sequence[str]) -> str:
        return " | ".join(
            v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(c) for c in cells)])


def main(argv: Sequence[str] | None = None) -> int:
    """``python bench/run.py [NAME ...]``: all benchmarks, or only ``bench_NAME.py``; prints the
    table and writes the same rows with the machine's description to ``bench/results/``."""
    only = list(sys.argv[1:] if argv is None else argv)
    sys.path.insert(0, str(BENCH))
    import results  # bench/ is on sys.path now

    started = datetime.datetime.now(datetime.UTC)
    load = os.getloadavg()
    rows: list[dict] = []
    failed = 0
    path = results.write_run(rows, only, started, load)
    compile_bytecode()
    for module in load_bench_modules(only):
        print(f"running {module.__name__} ...", file=sys.stderr, flush=True)
        try:
            rows.extend({"module": module.__name__, **row} for row in module.run())
        except Exception as error:  # noqa: BLE001 - one failed module must not lose the others' rows
            failed += 1
            message = str(error).strip().splitlines()[-1:] or [type(error).__name__]
            rows.append({"module": module.__name__, "case": module.__name__, "tool": "-", "seconds": None,
                         "peak_mb": None, "note": f"FAILED: {message[0][:200]}"})  # fmt: skip
        path = results.write_run(rows, only, started, load)  # after each module: a crash keeps what ran
    print(format_rows(rows))
    print(f"rows written to {path.relative_to(ROOT)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
