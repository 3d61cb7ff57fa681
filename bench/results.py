"""A machine-readable copy of each bench run: ``bench/results/<date>T<time>-<host>-<modules>.json``.

The README's Speed table quotes these files; keeping every run (machine, versions, load,
rows) lets figures be compared across runs and machines instead of trusting one table.
Versions come from package metadata, so writing this never imports TensorFlow.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import socket
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PACKAGES = {
    "keras": ("keras",),
    "tensorflow": ("tensorflow-cpu", "tensorflow"),
    "PySide6": ("PySide6-Essentials", "PySide6"),
    "numpy": ("numpy",),
    "h5py": ("h5py",),
    "pyqtgraph": ("pyqtgraph",),
    "igraph": ("igraph",),
}


def _version(names: Sequence[str]) -> str | None:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine() -> dict:
    """Cores, memory, CPU, OS, Python and the versions of the packages the figures depend on."""
    return {
        "host": socket.gethostname(),
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": {label: _version(names) for label, names in PACKAGES.items()},
    }


def write_run(rows: list[dict], modules: Sequence[str], started: datetime.datetime, load: Sequence[float]) -> Path:
    """Write one run's rows beside the README's table and return the file's path."""
    RESULTS.mkdir(exist_ok=True)
    info = machine()
    name = "-".join(modules) if modules else "all"
    path = RESULTS / f"{started:%Y-%m-%dT%H%M}-{info['host']}-{name}.json"
    document = {
        "format": "resect-bench/1",
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "modules": list(modules) or "all",
        "machine": info,
        "load_average": {"start": list(load), "end": list(os.getloadavg())},
        "notes": (
            "seconds and peak_mb of whole processes are measured by bench/launch.py (wait4 of exactly "
            "that process); rows from in-process benches (layout, preview) give tracemalloc's peak of "
            "Python allocations; the machine may be shared, see load_average and each row's CPU time"
        ),
        "rows": rows,
    }
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(document, indent=1) + "\n")
    os.replace(partial, path)
    return path
