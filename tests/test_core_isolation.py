"""``core`` never imports Qt or TensorFlow; ``core.keras_backend`` only imports
TensorFlow when a function asks for Keras (checked in fresh subprocesses)."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("tensorflow", "keras", "tf_keras", "PySide6", "shiboken6", "pyqtgraph")


def _core_modules(include_backend: bool) -> list[str]:
    from resect import core

    names = ["resect.core"]
    for info in pkgutil.walk_packages(core.__path__, "resect.core."):
        if include_backend or not info.name.startswith("resect.core.keras_backend"):
            names.append(info.name)
    return names


def _heavy_after_importing(modules: list[str]) -> list[str]:
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_core_and_cli_import_neither_qt_nor_tensorflow() -> None:
    modules = _core_modules(include_backend=False) + [
        "resect.core.reader",
        "resect.core.summary",
        "resect.cli.main",
        "resect.cli.inspect_cmd",
    ]
    assert len(modules) > 8  # the walk found the package's modules
    assert _heavy_after_importing(modules) == []


def test_keras_backend_imports_tensorflow_only_when_asked() -> None:
    backend = [name for name in _core_modules(include_backend=True) if name.startswith("resect.core.keras_backend")]
    assert {"resect.core.keras_backend.runtime", "resect.core.keras_backend.loading"} <= set(backend)
    assert _heavy_after_importing(backend) == []


def test_the_check_itself_sees_tensorflow() -> None:
    """The subprocess check above would notice an import: asking for Keras shows it."""
    found = _heavy_after_importing(["resect.core.keras_backend.runtime", "resect.core.keras_backend.loading"])
    assert found == []
    code = "from resect.core.keras_backend.runtime import import_keras; import sys; import_keras(); print('keras' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout.strip() == "True"
