"""write_atomically: the target is the old file or the new one, never half; no leftovers."""

from __future__ import annotations

import os
import stat

import pytest

from resect.core.atomic import write_atomically, write_text_atomically


def test_failure_keeps_the_old_file_and_leaves_nothing(tmp_path):
    target = tmp_path / "graph.svg"
    target.write_text("old")

    def half_then_fail(temporary: str) -> None:
        with open(temporary, "w") as stream:
            stream.write("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_atomically(target, half_then_fail)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.svg"]


def test_new_file_gets_plain_open_permissions(tmp_path):
    target = tmp_path / "recipe.resect.json"
    write_text_atomically(target, "{}\n")
    umask = os.umask(0)
    os.umask(umask)
    assert target.read_text() == "{}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
