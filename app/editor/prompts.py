"""Every modal interaction of the editor goes through these functions, so tests drive
the real dialogs without a blocking ``exec()``: they replace ``run_dialog`` with a
function that fills the dialog's widgets like a user and accepts it."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QInputDialog, QLineEdit, QMessageBox, QWidget


def run_dialog(dialog: QDialog) -> bool:
    """Show ``dialog`` modally; ``True`` when the user accepted it."""
    return dialog.exec() == QDialog.DialogCode.Accepted


def ask_yes_no(parent: QWidget | None, title: str, text: str) -> bool:
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def ask_text(parent: QWidget | None, title: str, label: str, text: str = "") -> str | None:
    value, ok = QInputDialog.getText(parent, title, label, QLineEdit.EchoMode.Normal, text)
    return value if ok else None


def ask_save_discard_cancel(parent: QWidget | None, title: str, text: str, informative: str = "") -> str:
    """The desktop "unsaved changes" question: ``"save"``, ``"discard"`` or ``"cancel"``
    (Escape and closing the box cancel, Enter saves)."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("unsavedChangesBox")
    box.setInformativeText(informative)
    buttons = QMessageBox.StandardButton
    box.setStandardButtons(buttons.Save | buttons.Discard | buttons.Cancel)
    box.button(buttons.Save).setText("Save recipe…")
    box.setDefaultButton(buttons.Save)
    box.setEscapeButton(buttons.Cancel)
    box.exec()
    clicked = box.standardButton(box.clickedButton()) if box.clickedButton() is not None else buttons.Cancel
    box.deleteLater()
    return {buttons.Save: "save", buttons.Discard: "discard"}.get(clicked, "cancel")


def show_info(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.information(parent, title, text)


def run_menu(menu, position) -> None:  # noqa: ANN001 - QMenu, QPoint
    """Pop up a context menu at a global position (tests trigger its actions directly)."""
    menu.exec(position)
    menu.deleteLater()


def ask_open_recipe(parent: QWidget | None, directory: str = "") -> str:
    from PySide6.QtWidgets import QFileDialog

    path, _ = QFileDialog.getOpenFileName(
        parent, "Open recipe", directory, "Resect recipe (*.resect.json *.json);;All files (*)"
    )
    return path
