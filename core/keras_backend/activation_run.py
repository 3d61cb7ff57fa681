"""Running data through a model and its edited version: what the CLI and the worker share.

``open_probes`` loads the model once and returns the probe of the original and, for a
recipe, of the edited model (built from the original's own layer objects, so a kept
tensor must equal the original's exactly). ``feeds`` turns the user's data sources into
one array per input; ``edited_feeds`` gives the edited model the *same* data: a model
input it kept gets the original's array, an input made by a cut gets the original's
activation of the tensor it stands for.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from resect.core.consent import NO_CONSENT, Consent
from resect.core.data_input import DataInputError, read_inputs
from resect.core.graph import ModelGraph
from resect.core.keras_backend.activations import Probe, edited_tensors, family_preprocess, probe_for, recipe_key

__all__ = ["PREPROCESS_CHOICES", "Probes", "edited_feeds", "feeds", "open_probes", "preprocess_function"]

PREPROCESS_CHOICES = ("auto", "none", "unit", "family")


@dataclass
class Probes:
    """The original's probe and, when edits were given, the edited model's."""

    original: Probe
    edited: Probe | None
    graph: ModelGraph  # our reading of the original file
    model: Any  # the loaded keras.Model


def open_probes(
    model_path: str | os.PathLike[str],
    edits: Sequence[Any] = (),
    graph: ModelGraph | None = None,
    model: Any = None,
    consent: Consent = NO_CONSENT,
) -> Probes:
    """Load ``model_path`` (unless ``model`` is the loaded one; ``consent`` is the user's
    ``--custom-code`` / ``--unsafe``) and build both probes, each once per model object and
    recipe (see ``activations.probe_for``)."""
    from resect.core.keras_backend.loading import fill_shapes, load_keras_model
    from resect.core.reader import read_model

    if graph is None:
        graph = read_model(model_path)
    if model is None:
        model = load_keras_model(model_path, graph, consent)
    if graph.code_defined is not None and not graph.layers:  # KerasHub: the layers Keras built
        graph = fill_shapes(graph, model)
    original = probe_for(model)
    if not edits:
        return Probes(original, None, graph, model)
    return Probes(original, _edited_probe(model, graph, list(edits)), graph, model)


def _edited_probe(model: Any, graph: ModelGraph, edits: list[Any]) -> Probe:
    from resect.core.keras_backend.pipeline import build_edited
    from resect.core.keras_backend.verify import faithful_tensors
    from resect.core.surgery.apply import apply_edits

    edited = apply_edits(graph, edits)
    kept: dict[str, str] = {}

    def tensors() -> tuple[Any, dict[str, Any]]:
        built = build_edited(model, graph, edited, edits)
        try:
            faithful = faithful_tensors(graph, edited, frozenset(built.reinitialized))
            kept.update({str(a): str(b) for a, b in faithful.items()})
            return built.model, edited_tensors(built)
        finally:
            built.restore_trainable()

    probe = probe_for(model, recipe_key(edits), tensors)
    if kept:
        probe.kept = kept
    return probe


def preprocess_function(probe: Probe, choice: str) -> Any:
    """The image preprocessing ``choice`` means for this model: ``auto`` is the
    keras.applications family's own ``preprocess_input`` when the model is one of them,
    else none; ``unit`` scales 0..255 to [0, 1]."""
    if choice not in PREPROCESS_CHOICES:
        raise DataInputError(probe.inputs[0], f"unknown preprocessing {choice!r} (choose from {PREPROCESS_CHOICES})")
    if choice == "none":
        return None
    if choice == "unit":
        return _to_unit
    family = family_preprocess(probe.model_name)
    if family is None and choice == "family":
        raise DataInputError(
            probe.inputs[0], f"model {probe.model_name!r} is not a keras.applications model; use none or unit"
        )
    return family


def _to_unit(image: np.ndarray) -> np.ndarray:
    return image / np.float32(255.0)


def feeds(probe: Probe, sources: Mapping[str | None, str], preprocess: str = "auto", seed: int = 0) -> list[np.ndarray]:
    """One array per input of ``probe`` from ``sources`` (see ``data_input.read_inputs``)."""
    return read_inputs(sources, probe.inputs, preprocess_function(probe, preprocess), seed, probe.int_high)


def edited_feeds(
    edited: Probe, original_values: Mapping[str, np.ndarray], fallback: Sequence[np.ndarray] | None = None
) -> list[np.ndarray]:
    """The edited model's inputs fed the original's values of the tensors they stand for;
    an input with no such value of the right shape (a changed input shape) takes
    ``fallback`` (data read for the edited model's own inputs)."""
    arrays = []
    for position, spec in enumerate(edited.inputs):
        source = edited.kept.get(f"{spec.name}:0:0")
        value = original_values.get(source) if source is not None else None
        fits = (
            value is not None
            and len(value.shape) == len(spec.shape)
            and all(want is None or want == have for want, have in zip(spec.shape, value.shape, strict=True))
        )
        if fits:
            arrays.append(value)
        elif fallback is not None:
            arrays.append(fallback[position])
        else:
            raise DataInputError(spec, "the original model gives no value for it; give data for the edited model")
    return arrays
