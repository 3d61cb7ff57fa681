"""core/known_layers.py (generated, used by the reader without Keras) equals what the
installed Keras exports; regenerate with ``python tools/gen_known_layers.py``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from resect.core.known_layers import KERAS_LAYER_CLASSES

TOOL = Path(__file__).resolve().parent.parent / "tools" / "gen_known_layers.py"


def test_known_layers_match_installed_keras() -> None:
    spec = importlib.util.spec_from_file_location("gen_known_layers", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    exported = set(module.keras_layer_classes())
    missing = sorted(exported - KERAS_LAYER_CLASSES)
    extra = sorted(KERAS_LAYER_CLASSES - exported)
    assert (missing, extra) == ([], []), "run: python tools/gen_known_layers.py"
    assert {"Conv2D", "Dense", "MultiHeadAttention", "Functional", "Sequential"} <= KERAS_LAYER_CLASSES
    assert "Lambda" in KERAS_LAYER_CLASSES  # known, but flagged by the reader as unsafe
