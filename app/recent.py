"""Recently opened files, kept in ``QSettings`` (tests pass a settings object in a temp dir)."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings

KEY = "recent_files"
LIMIT = 10


class RecentFiles:
    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def paths(self) -> list[str]:
        """Most recent first, each file once (older lists could hold one file under two spellings)."""
        value = self.settings.value(KEY, [])
        if isinstance(value, str):  # QSettings returns a lone string for one-item lists
            value = [value]
        found: dict[str, str] = {}
        for path in (str(p) for p in (value or []) if p):
            found.setdefault(_same_file(path), path)
        return list(found.values())

    def add(self, path: str) -> None:
        path = os.path.abspath(path)
        paths = [path] + [p for p in self.paths() if _same_file(p) != _same_file(path)]
        self.settings.setValue(KEY, paths[:LIMIT])
        self.settings.sync()

    def remove(self, path: str) -> None:
        self.settings.setValue(KEY, [p for p in self.paths() if p != path])
        self.settings.sync()

    def clear(self) -> None:
        self.settings.setValue(KEY, [])
        self.settings.sync()


def _same_file(path: str) -> str:
    """One spelling per file: symlinks, "..", and a trailing "/" of a directory model resolved."""
    return os.path.realpath(os.path.abspath(path.rstrip("/") or "/"))
