"""The layering contracts of pyproject's ``[tool.importlinter]`` hold (``lint-imports``):
``core`` is independent of ``app`` and ``cli``, free of Qt, and imports TensorFlow /
Keras only in ``core.keras_backend``. The second test shows the checker sees imports made
inside functions (how core.keras_backend imports Keras), so a kept contract means something."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    return subprocess.run(
        [exe, "--no-cache", *args], capture_output=True, text=True, cwd=ROOT, timeout=300, check=False
    )


def test_contracts_are_kept():
    done = lint_imports()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 kept, 0 broken" in done.stdout


def test_a_lazy_keras_import_would_break_a_contract(tmp_path):
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["resect"]\ninclude_external_packages = true\n\n'
        '[[tool.importlinter.contracts]]\nname = "no keras anywhere in core"\ntype = "forbidden"\n'
        'source_modules = ["resect.core"]\nforbidden_modules = ["keras"]\n'
    )
    done = lint_imports("--config", str(config))
    assert done.returncode != 0
    assert "resect.core.keras_backend" in done.stdout and "-> keras" in done.stdout
