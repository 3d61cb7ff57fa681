"""The thin ``QUndoCommand`` adapter: redo = ``Document.push`` (first time) or
``Document.redo``, undo = ``Document.undo``. It never touches a view; the views follow
the document's events.

The edit is applied before the command reaches the stack (``EditCommand.try_push``), so an
impossible edit raises its one-line ``EditError`` and leaves both the document and the
undo stack as they were.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand, QUndoStack

from resect.core.surgery.document import Document
from resect.core.surgery.edits import Edit


class EditCommand(QUndoCommand):
    """One edit on the undo stack; ``document()`` returns the live core document."""

    def __init__(self, document: Callable[[], Document], edit: Edit) -> None:
        super().__init__(edit.describe())
        self.document = document
        self.edit = edit
        self._applied = False  # the edit was pushed before this command entered the stack

    @classmethod
    def try_push(cls, stack: QUndoStack, document: Callable[[], Document], edit: Edit) -> EditCommand:
        """Apply ``edit`` (raises ``EditError`` with nothing changed) and put it on ``stack``."""
        document().push(edit)
        command = cls(document, edit)
        command._applied = True
        stack.push(command)  # QUndoStack calls redo(), which sees _applied and does nothing
        return command

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        self.document().redo()

    def undo(self) -> None:
        self.document().undo()


class ResetCommand(QUndoCommand):
    """Replace the whole edit list (opening a recipe): undo brings the old list back."""

    def __init__(self, document: Callable[[], Document], edits: list[Edit], text: str) -> None:
        super().__init__(text)
        self.document = document
        self.new = list(edits)
        self.old = list(document().edits)

    def redo(self) -> None:
        self.document().set_edits(self.new)

    def undo(self) -> None:
        self.document().set_edits(self.old)
