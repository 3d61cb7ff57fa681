"""The one place the version lives (``resect --version``, the About box, the wheel)."""

__version__ = "0.1.0"
