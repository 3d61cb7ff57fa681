"""Resect's graph engine: pure Python, no Qt; TensorFlow only in ``core.keras_backend``."""

from resect.core.errors import ModelFileError, ResectError
from resect.core.graph import Layer, ModelGraph, Node, Weight
from resect.core.tensor_ref import TensorRef

__all__ = ["Layer", "ModelFileError", "ModelGraph", "Node", "ResectError", "TensorRef", "Weight"]
