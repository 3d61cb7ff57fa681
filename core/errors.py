"""Errors that reach the user as one clear line.

Every failure the user can cause (a bad file, an impossible edit) is raised as a
``ResectError`` whose ``str()`` is the single line the CLI prints and the GUI shows.
"""

from __future__ import annotations


class ResectError(Exception):
    """Base for user-facing errors: the message is one line, no traceback needed."""


class ModelFileError(ResectError):
    """A model file cannot be read: names the file and what is wrong with it."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class UnknownTensorError(ResectError):
    """A tensor name does not exist in the graph."""
