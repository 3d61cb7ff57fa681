"""The PySide6 desktop app: a viewer over ``core`` (and, later, the editor).

Layout of the package: ``document`` holds what is shown (graph, collapsed blocks,
selection) as a Qt-signalling model; panels (``layer_tree``, ``properties``,
``canvas``) subscribe to it and never talk to each other directly; ``workers`` runs
every slow step (file reading, layout, Keras) off the UI thread.
"""
