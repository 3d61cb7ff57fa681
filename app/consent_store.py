"""The user's consent to run code for a model, remembered per model file in the app's
settings (DESIGN.md section 2: asked in words, per model).

A consent is tied to the file's path and a hash of its content: a changed file asks again.
Hashing a large model takes a while, so the file's size and modification time are kept
beside the hash and the hash is recomputed only when they changed. Nothing here runs or
imports the code: it only records what the user allowed (``core.consent.Consent``); the
Keras worker process acts on it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from PySide6.QtCore import QSettings

from resect.core.consent import Consent

__all__ = ["ConsentStore", "content_hash"]

GROUP = "consent"
CHUNK = 1 << 20


def _files(path: str) -> list[str]:
    """The files whose bytes make the model: the file itself, or every file of a folder."""
    if not os.path.isdir(path):
        return [path]
    found = []
    for folder, dirs, names in os.walk(path):
        dirs.sort()
        found += [os.path.join(folder, name) for name in sorted(names)]
    return found


def _stamp(path: str) -> list[float]:
    """Size and newest modification time of the model's files (cheap: no reading)."""
    stats = [os.stat(f) for f in _files(path)]
    return [sum(s.st_size for s in stats), max((s.st_mtime for s in stats), default=0.0), len(stats)]


def content_hash(path: str) -> str:
    """SHA-256 of the model's bytes (for a folder: each file's relative name and bytes)."""
    import hashlib  # when a consent is asked or given, not at start-up

    digest = hashlib.sha256()
    for name in _files(path):
        if name != path:
            digest.update(os.path.relpath(name, path).encode() + b"\0")
        with open(name, "rb") as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


class ConsentStore:
    """Consents by model path, in ``settings`` under ``consent/``."""

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    @staticmethod
    def _key(path: str) -> str:
        import hashlib

        return f"{GROUP}/{hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:32]}"

    def _entry(self, path: str) -> dict[str, Any] | None:
        raw = self.settings.value(self._key(path))
        try:
            entry = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            return None
        return entry if isinstance(entry, dict) and entry.get("path") == os.path.abspath(path) else None

    def get(self, path: str) -> Consent | None:
        """The consent given for ``path``, if its content is still what it was then."""
        entry = self._entry(path)
        if entry is None or not os.path.exists(path):
            return None
        stamp = _stamp(path)
        if stamp != entry.get("stamp"):
            if content_hash(path) != entry.get("hash"):
                return None  # the file changed: ask again
            entry["stamp"] = stamp  # touched, same bytes: keep the consent
            self.settings.setValue(self._key(path), json.dumps(entry))
        return Consent.from_json(entry.get("consent"))

    def remember(self, path: str, consent: Consent) -> None:
        entry = {
            "path": os.path.abspath(path),
            "hash": content_hash(path),
            "stamp": _stamp(path),
            "consent": consent.to_json(),
        }
        self.settings.setValue(self._key(path), json.dumps(entry))
        self.settings.sync()

    def revoke(self, path: str) -> None:
        self.settings.remove(self._key(path))
        self.settings.sync()
