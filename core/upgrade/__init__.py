"""Keras 2 (tf.keras) model configs upgraded to the Keras 3 dialect, in pure Python.

``upgrader.upgrade_config(root)`` returns a new config Keras 3 can deserialise plus the
list of named rewrites it applied (``report.Rewrite``), which ``convert`` and ``inspect``
print and the GUI shows. Nothing is imported from the file and no TensorFlow is needed:
this runs before Keras ever sees the config (DESIGN.md section 1).

Import from the submodules: this package imports nothing itself, so that reading a Keras 3
file (which only asks ``moved_modules`` whether it is a tf.keras 2.13-2.15 archive) never
pays for the upgrader's import.
"""
