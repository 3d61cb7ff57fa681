"""Activations in the app (issue 15): "Run data...", what each call computes in its own
dock, and a canvas overlay colouring layers by a statistic.

``install_activations(window)`` adds it to a ``MainWindow`` (after the editor, when there
is one, so that an edit re-runs the same data through the edited model).
"""

from __future__ import annotations

from typing import Any


def install_activations(window: Any) -> Any:
    """Attach an ``ActivationsController`` (menu, dock, overlay) to a window."""
    from resect.app.activations.controller import ActivationsController

    controller = ActivationsController(window)
    window.activations = controller
    return controller
