"""The window's side of consent to run code (DESIGN.md section 2): which consent the
Keras worker gets for the open model, the banner that asks for it, remembering it per
model file, and revoking it.

The window's process never imports the user's code: a consent here is only the file or
module name (``core.consent.Consent``) sent with each request to the Keras worker, which
imports it there. Revoking restarts the worker, since an imported module cannot be
unloaded from a process.
"""

from __future__ import annotations

import os
import weakref
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction

from resect.app import consent_banner, keras_client
from resect.app.consent_banner import Blocked, ConsentBanner, blocked_classes
from resect.app.consent_store import ConsentStore
from resect.core.consent import NO_CONSENT, Consent

if TYPE_CHECKING:
    from resect.app.main_window import MainWindow

__all__ = ["ConsentController", "merged"]


def merged(first: Consent, second: Consent | None) -> Consent:
    """Both consents: every code entry once (first's first), unsafe if either is."""
    if second is None:
        return first
    return Consent(tuple(dict.fromkeys(first.custom_code + second.custom_code)), first.unsafe or second.unsafe)


def _covered(item: Blocked, consent: Consent) -> bool:
    return consent.unsafe if item.is_lambda else bool(consent.custom_code)


def _as_spec(text: str) -> str:
    """A typed file name becomes absolute (the worker's working directory differs); a
    module name stays as it is."""
    is_file = text.endswith(".py") or os.sep in text or "/" in text
    return os.path.abspath(os.path.expanduser(text)) if is_file else text


class ConsentController(QObject):
    """One per window: the consent banner, File > Revoke code consent, and the consent
    the Keras worker loads the open model with (``python main.py --custom-code`` plus
    what the user allowed for this file)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = weakref.ref(window)  # a strong reference kept the closed window alive
        self.store = ConsentStore(window.settings)
        self.launch = Consent.from_json(keras_client.launch_consent)
        self.given: Consent | None = None  # what the user allowed for the open model (remembered)
        self.banner = ConsentBanner(window)
        self.revoke_action = QAction("Re&voke code consent for this model", window)
        self.revoke_action.setToolTip("Forget the code you allowed for this model and restart the Keras worker")
        self.revoke_action.setEnabled(False)
        self.revoke_action.triggered.connect(self.revoke)
        self.banner.load_code_requested.connect(self.ask_code)
        self.banner.run_lambda_requested.connect(self.ask_lambda)
        window.session.opened.connect(self._opened)
        window.session.closed.connect(self._closed)
        # queued: after the window's own note, which this may replace
        window.session.keras_note.connect(self._keras_failed, Qt.ConnectionType.QueuedConnection)
        window.document.keras_status_changed.connect(self._keras_status)

    @property
    def window(self) -> MainWindow:
        window = self._window()
        assert window is not None, "the window is gone"
        return window

    @property
    def session(self) -> Any:
        return self.window.session

    @property
    def consent(self) -> Consent:
        """What the Keras worker loads the open model with."""
        return merged(self.launch, self.given)

    def _apply(self) -> None:
        consent = self.consent
        self.session.keras.consent = consent.to_json() if consent else {}
        self.revoke_action.setEnabled(self.given is not None)

    def _show_banner(self, everything: bool = False) -> None:
        """The banner for the blocked classes the current consent does not cover (all of
        them, ``everything``, after Keras still refused the model)."""
        blocked = blocked_classes(self.window.document.graph)
        consent = self.consent
        self.banner.show_blocked(blocked if everything else [b for b in blocked if not _covered(b, consent)])

    # --- the model's life ----------------------------------------------------------------
    def _opened(self, path: str) -> None:
        self.given = self.store.get(path)
        self._apply()
        self._show_banner()

    def _closed(self) -> None:
        self.given = None
        self._apply()
        self.banner.hide()

    def _keras_failed(self, _message: str) -> None:
        if self.window.document.graph is None or not blocked_classes(self.window.document.graph):
            return
        if self.consent:  # the code given did not do it: the note says why, the banner offers more
            self._show_banner(everything=True)
            return
        self._show_banner()  # no consent yet: the banner says it in words (the note would name CLI flags)
        if self.banner.isVisible():
            self.window.banner.hide()

    def _keras_status(self) -> None:
        model = self.session.keras_model
        if (
            model is not None
            and model.path == self.window.document.path
            and self.window.document.keras.state == "ready"
        ):
            self.banner.hide()  # Keras loaded it: the consent did its job

    # --- the user's answers ----------------------------------------------------------------
    def ask_code(self) -> None:
        """ "Load code for these layers...": a .py file or a module, imported by the worker."""
        path = self.window.document.path
        text = consent_banner.ask_code_source(self.window, self.banner.blocked)
        if not path or not text:
            return
        self._grant(path, Consent((_as_spec(text),)))

    def ask_lambda(self) -> None:
        """ "Run this file's Lambda code": Keras' safe mode off for this model, after a question."""
        path = self.window.document.path
        if path and consent_banner.confirm_lambda(self.window, self.banner.blocked, os.path.basename(path)):
            self._grant(path, Consent(unsafe=True))

    def _grant(self, path: str, consent: Consent) -> None:
        self.given = merged(self.given or NO_CONSENT, consent)
        self.store.remember(path, self.given)
        self._apply()
        self._show_banner()
        self.window.statusBar().showMessage("Loading the model with the code you allowed…", 5000)
        self.session.retry_keras()

    def revoke(self) -> None:
        """File > Revoke code consent: forget it, restart the worker without the code, and
        load the model again as it stands without consent."""
        path = self.window.document.path
        if not path or self.given is None:
            return
        self.store.revoke(path)
        self.given = None
        self._apply()
        self.session.keras.shutdown()  # the imported code cannot be unloaded from that process
        self.window.statusBar().showMessage("Consent revoked; the Keras worker restarted without that code", 6000)
        self.session.retry_keras(reset=True)
        self._show_banner()
