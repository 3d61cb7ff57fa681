"""Write a file so that readers see the old file or the new one, never half of it.

One helper for every small file Resect writes (recipes, pictures, summaries): a temporary
file beside the target (same file system, so the rename is atomic), flushed to disk, given
the permissions a plain ``open`` would, then renamed over the target; on any failure the
temporary file is removed and the target is untouched. Model exports need more (no
clobbering, directories) and live in ``core.keras_backend.export``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable


def write_atomically(path: str | os.PathLike[str], write: Callable[[str], object]) -> None:
    """Call ``write(temporary_path)``, then move the result to ``path``.

    >>> write_atomically("graph.svg", lambda tmp: open(tmp, "w").write("<svg/>"))  # doctest: +SKIP
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".resect-", suffix=os.path.splitext(path)[1], dir=folder)
    os.close(handle)
    try:
        write(temporary)
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; these files are not
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_text_atomically(path: str | os.PathLike[str], text: str) -> None:
    """``write_atomically`` for a UTF-8 text file."""

    def write(temporary: str) -> None:
        with open(temporary, "w", encoding="utf-8") as stream:
            stream.write(text)

    write_atomically(path, write)
