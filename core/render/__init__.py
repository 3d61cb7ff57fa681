"""The drawing engine: a Scene of boxes and edges (pure data) and its SVG / PNG writers."""
