"""The user's consent to run code when a model loads (DESIGN.md section 2).

``--custom-code PATH.py|MODULE`` (repeatable) imports that code in the Keras process
before loading, so the classes it registers can load; ``--unsafe`` loads with Keras'
``safe_mode=False`` (Lambda code runs). Neither is ever implied. This object only
records the consent; ``core.keras_backend.custom_code`` acts on it, in the process that
loads Keras (the CLI's own process, or the GUI's Keras worker, never the window's).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

__all__ = ["NO_CONSENT", "Consent", "add_consent_arguments", "consent_from_args"]


@dataclass(frozen=True)
class Consent:
    custom_code: tuple[str, ...] = ()  # .py paths or importable module names, in order
    unsafe: bool = False

    def __bool__(self) -> bool:
        return bool(self.custom_code) or self.unsafe

    def to_json(self) -> dict[str, Any]:
        return {"custom_code": list(self.custom_code), "unsafe": self.unsafe}

    @classmethod
    def from_json(cls, obj: Any) -> Consent:
        if not isinstance(obj, dict):
            return NO_CONSENT
        return cls(tuple(str(c) for c in obj.get("custom_code") or ()), bool(obj.get("unsafe", False)))


NO_CONSENT = Consent()


def add_consent_arguments(parser: argparse.ArgumentParser) -> None:
    """``--custom-code`` and ``--unsafe``, for every command that may load a model."""
    parser.add_argument(
        "--custom-code",
        action="append",
        default=[],
        metavar="PATH.py|MODULE",
        help="import this file or module (in the process that loads Keras) before loading, so the layer "
        "classes it registers with keras.saving.register_keras_serializable can load; repeatable",
    )
    parser.add_argument(
        "--unsafe",
        action="store_true",
        help="load with Keras safe_mode=False: the Python code of Lambda layers stored in the file runs",
    )


def consent_from_args(args: argparse.Namespace) -> Consent:
    return Consent(tuple(getattr(args, "custom_code", None) or ()), bool(getattr(args, "unsafe", False)))
