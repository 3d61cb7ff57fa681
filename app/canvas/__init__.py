"""The graph canvas: paints a ``core.render.scene.Scene`` with pyqtgraph, fast at any size.

It never lays anything out itself: ``prepared.prepare`` turns a Scene into arrays, chunks
and one edge path (off the UI thread), ``items`` paints them, ``view`` handles zoom, pan,
picking and hover, ``overview`` is the mini map.
"""

from resect.app.canvas.view import GraphCanvas

__all__ = ["GraphCanvas"]
