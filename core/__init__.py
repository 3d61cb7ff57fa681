"""Resect's graph engine: pure Python, no Qt; TensorFlow only in ``core.keras_backend``."""

from core.errors import ModelFileError, ResectError
from core.graph import Layer, ModelGraph, Node, Weight
from core.tensor_ref import TensorRef

__all__ = ["Layer", "ModelFileError", "ModelGraph", "Node", "ResectError", "TensorRef", "Weight"]
