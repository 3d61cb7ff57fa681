"""Every modal dialog goes through these functions, so tests (and a headless run) can
replace them: ``monkeypatch.setattr(app.dialogs, "show_error", ...)``."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from resect.core.version import __version__

MODEL_FILTER = "Keras models (*.keras *.h5 *.hdf5);;All files (*)"


def show_error(parent: QWidget | None, title: str, message: str) -> None:
    """A modal error with the one-line reason; the app stays as it was."""
    QMessageBox.critical(parent, title, message)


def ask_open_path(parent: QWidget | None, directory: str = "") -> str:
    path, _ = QFileDialog.getOpenFileName(parent, "Open Keras model", directory, MODEL_FILTER)
    return path


def ask_save_path(parent: QWidget | None, title: str, suggested: str, file_filter: str) -> str:
    path, _ = QFileDialog.getSaveFileName(parent, title, suggested, file_filter)
    return path


def show_about(parent: QWidget | None) -> None:
    QMessageBox.about(
        parent,
        "About Resect",
        f"<h3>Resect {__version__}</h3>"
        "<p>A desktop workbench for Keras model surgery: open a model, see every layer, "
        "shape and parameter, cut it apart and export a verified model.</p>"
        "<p>Built on Keras, PySide6, pyqtgraph, h5py and igraph.</p>",
    )
