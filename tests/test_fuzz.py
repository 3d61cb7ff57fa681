"""Our own fuzzer (tests/fuzz_engine.py) over hostile model files, containers, recipes and
output paths: a few hundred seeded cases by default, more with ``RESECT_FUZZ_CASES``
(``RESECT_FUZZ_SEED`` picks another campaign). Every case must keep the whole contract:
exit 0 or 2, one stderr line on 2, no traceback, time and memory bounds, no code from
the file run, outputs untouched, nothing partial left, well-formed SVG.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from fuzz_engine import run_campaign

ROOT = Path(__file__).resolve().parent.parent
CASES = int(os.environ.get("RESECT_FUZZ_CASES", "250"))
SEED = int(os.environ.get("RESECT_FUZZ_SEED", "10"))


def test_fuzz_campaign_keeps_the_contract(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    start = time.monotonic()
    failures = run_campaign(CASES, SEED, tmp_path, tmp_path_factory.mktemp("seeds"), str(ROOT))
    report = "\n".join(f"{label}: {problem}" for label, problem in failures[:20])
    assert failures == [], f"{len(failures)} of {CASES} cases broke the contract:\n{report}"
    assert not (tmp_path / "MARKER").exists()
    print(f"{CASES} fuzz cases in {time.monotonic() - start:.0f} s")


# Cases larger campaigns found after the default one held, replayed in every run.
# seed 11, cases 373 and 1168: a weights file with a broken HDF5 heap made h5py raise
# RuntimeError ("bad heap free list", "actual len exceeds EOA") past the reader's one line.
FOUND_LATER = [(11, 373), (11, 1168)]


@pytest.mark.parametrize(("seed", "index"), FOUND_LATER, ids=[f"seed{s}-case{i}" for s, i in FOUND_LATER])
def test_fuzz_case_found_later_keeps_the_contract(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, seed: int, index: int
) -> None:
    failures = run_campaign(0, seed, tmp_path, tmp_path_factory.mktemp("seeds"), str(ROOT), indices=[index])
    assert failures == []
