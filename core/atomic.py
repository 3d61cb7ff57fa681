"""Write a file so that readers see the old file or the new one, never half of it.

One helper for every small file Resect writes (recipes, pictures, summaries): a temporary
file beside the target (same file system, so the rename is atomic), flushed to disk, given
the permissions a plain ``open`` would, then renamed over the target; on any failure the
temporary file is removed and the target is untouched. Model exports need more (no
clobbering, directories) and live in ``core.keras_backend.export``, with the same overwrite
rule (``output_exists``: a dangling symlink counts).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

from resect.core.errors import ResectError


class OutputError(ResectError):
    """An output cannot be written where asked: one line naming it."""


def output_exists(path: str | os.PathLike[str]) -> bool:
    """The one overwrite rule: anything at ``path`` counts, a dangling symlink too."""
    return os.path.lexists(path)


def check_output(path: str | os.PathLike[str], force: bool) -> None:
    """Fail before any work if ``path`` cannot be written: it exists (without ``force``),
    it is a folder, or its folder is missing or read-only."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise OutputError(f"{path}: is a directory")
    if output_exists(path) and not force:
        raise OutputError(f"{path}: already exists (use --force to overwrite)")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OutputError(f"{path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"{path}: folder {folder} is not writable")


def write_atomically(path: str | os.PathLike[str], write: Callable[[str], object], replace: bool = True) -> None:
    """Call ``write(temporary_path)``, then move the result to ``path``.

    ``replace=False`` never replaces anything already at ``path`` (a dangling symlink
    included), even one created while ``write`` ran: the file is linked into place.

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
        if replace:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)  # fails if anything is there: never clobbers
            except FileExistsError:
                raise OutputError(f"{path}: already exists (use --force to overwrite)") from None
            os.unlink(temporary)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise


def write_text_atomically(path: str | os.PathLike[str], text: str, replace: bool = True) -> None:
    """``write_atomically`` for a UTF-8 text file."""

    def write(temporary: str) -> None:
        with open(temporary, "w", encoding="utf-8") as stream:
            stream.write(text)

    write_atomically(path, write, replace)
