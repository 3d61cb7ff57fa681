"""Reading a Keras 2 config: the graph as the file says, plus the Keras 2 -> 3 rewrites
(``core.upgrade``) that loading it in Keras 3 will apply, recorded on the graph.

A Keras 2 setting no rewrite can express becomes the ``problem`` of the layer at fault:
the graph still opens, and loading or exporting it is refused naming that layer.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from resect.core.graph import ModelGraph
from resect.core.reader.config_parser import WeightLookup, parse_model_config
from resect.core.trust import TrustRule
from resect.core.upgrade.moved_modules import MOVED_MODULES


class LegacyTrustRule(TrustRule):
    """The trust rule for a Keras 2 config: a module the upgrader moves
    (``keras.src.engine.functional`` -> ``keras.src.models.functional``) is judged by
    where it moves to, since that is the module Keras 3 will be asked to import."""

    def module_problem(self, module: str) -> str | None:
        return super().module_problem(MOVED_MODULES.get(module, module))


def upgraded_config(root: Any) -> Any:
    """The config Keras 3 will deserialise for a Keras 2 file (``root`` itself when the
    upgrader refuses it: the graph then carries the problem and nothing is loaded)."""
    from resect.core.upgrade.report import UpgradeError  # the upgrader: only for Keras 2 files
    from resect.core.upgrade.upgrader import upgrade_config

    try:
        return upgrade_config(root).config
    except UpgradeError:
        return root


def needs_upgrade(root: Any, fmt: str) -> bool:
    """Every legacy ``.h5`` config goes through the upgrader; a ``.keras`` config only when
    it names a module that moved (tf.keras 2.13-2.15 files)."""
    return fmt == "h5" or (isinstance(root, dict) and root.get("module") in MOVED_MODULES)


def parse_legacy_config(
    root: dict[str, Any], weights: WeightLookup, fmt: str, path: str, text: str | None = None
) -> ModelGraph:
    """``parse_model_config`` plus the upgrade report (the upgrader works on a copy);
    ``text`` (the raw config, when there is one) lets the trust rule prescan it."""
    from resect.core.upgrade.report import UpgradeError  # the upgrader: only for Keras 2 files
    from resect.core.upgrade.upgrader import upgrade_config

    rule = LegacyTrustRule()
    if text is not None:
        rule.prescan(text)
    rewrites: tuple[Any, ...] = ()
    failure: UpgradeError | None = None
    try:
        rewrites = upgrade_config(root).rewrites
    except UpgradeError as error:
        failure = error
    graph = parse_model_config(root, weights, fmt, path, consume=True, rule=rule)
    graph = replace(graph, upgrades=rewrites)
    if failure is not None:
        graph = _with_problem(graph, failure.layer.split("/"), str(failure).split(": ", 1)[-1])
    return graph


def _with_problem(graph: ModelGraph, names: list[str], problem: str) -> ModelGraph:
    if not names or not graph.has_layer(names[0]):
        return graph
    layer = graph.layer(names[0])
    if len(names) > 1 and layer.subgraph is not None and layer.subgraph.has_layer(names[1]):
        changed = replace(layer, subgraph=_with_problem(layer.subgraph, names[1:], problem))
    else:
        changed = replace(layer, problem=problem)
    return graph.with_layers(tuple(changed if item.name == layer.name else item for item in graph.layers))
