"""Resect's command line. Never imports Qt; TensorFlow only through ``core.keras_backend``."""
