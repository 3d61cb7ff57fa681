"""The two user errors of the surgery engine, each one line naming what is at fault."""

from __future__ import annotations

from resect.core.errors import ResectError


class EditError(ResectError):
    """An edit cannot be applied to the graph: names the edit (index and op) and the layer or tensor."""


class RecipeError(ResectError):
    """A recipe file or object is malformed: names the file and the edit (index and op)."""
