"""Keras 2 (tf.keras) model configs upgraded to the Keras 3 dialect, in pure Python.

``upgrade_config(root)`` returns a new config Keras 3 can deserialise plus the list of
named rewrites it applied (``Rewrite``), which ``convert`` and ``inspect`` print and the
GUI shows. Nothing is imported from the file and no TensorFlow is needed: this runs
before Keras ever sees the config (DESIGN.md section 1).
"""

from resect.core.upgrade.report import Rewrite, UpgradeError, summarize
from resect.core.upgrade.upgrader import Upgraded, is_legacy_config, upgrade_config

__all__ = ["Rewrite", "UpgradeError", "Upgraded", "is_legacy_config", "summarize", "upgrade_config"]
