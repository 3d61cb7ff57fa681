"""Shared fixtures: offscreen Qt, quiet TensorFlow, and the saved model zoo."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest  # noqa: E402
from zoo import ZooCache  # noqa: E402


@pytest.fixture(scope="session")
def zoo() -> ZooCache:
    """Saved zoo models: ``zoo.path("resnet50", "keras" | "h5" | "tf2.h5")``."""
    return ZooCache()
