"""The surgery engine: edits, recipes, applying edits to a graph, preview, the undo document.

Pure Python (no Qt, no TensorFlow). Import the submodules directly: ``edits``, ``recipe``,
``apply`` (``apply_edits``), ``preview``, ``document``.
"""
