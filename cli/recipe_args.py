"""What ``apply`` and ``activations`` both do before Keras: read MODEL, read RECIPE, check
the recipe applies to the model, and take the user's consent to run code.

Everything here needs no TensorFlow, so a bad model or recipe fails in well under a
second with one line naming it.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from resect.core.consent import Consent, consent_from_args
from resect.core.graph import ModelGraph

__all__ = ["ModelAndRecipe", "read_model_and_recipe"]


@dataclass(frozen=True)
class ModelAndRecipe:
    """Our reading of MODEL, RECIPE's edits (checked against it) and the consent given."""

    graph: ModelGraph
    edits: list[Any]
    consent: Consent


def read_model_and_recipe(args: argparse.Namespace) -> ModelAndRecipe:
    """``args.model`` read, ``args.recipe`` (if any) loaded and applied to it as a check;
    a KerasHub model's layers exist only once Keras built it, so its recipe is checked
    later, by the Keras backend."""
    from resect.core.reader import read_model
    from resect.core.surgery.apply import apply_edits
    from resect.core.surgery.recipe import load_recipe

    edits = load_recipe(args.recipe) if args.recipe else []
    graph = read_model(args.model)
    if edits and (graph.layers or graph.code_defined is None):
        apply_edits(graph, edits)
    return ModelAndRecipe(graph, list(edits), consent_from_args(args))
