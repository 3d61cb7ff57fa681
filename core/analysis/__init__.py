"""Graph analysis for the editor: cut points, crossing tensors, residual / inception blocks.

Pure Python over ``core.graph.ModelGraph``; import the submodules directly
(``core.analysis.cutpoints``, ``core.analysis.blocks``).
"""
