"""The preview's numbers are Keras' or say they are not: a new layer inside the proved
domain is counted at once and marked estimated, one outside it is unknown at once; the
Keras worker's answer (``layer_answers``, the same call the service runs) then makes
both exact, equal to ``count_params()`` of the model Keras builds."""

from __future__ import annotations

import pytest

from resect.core.keras_backend.layer_answers import keras_layer_answers
from resect.core.keras_backend.pipeline import run_apply
from resect.core.reader import read_model
from resect.core.surgery import exact
from resect.core.surgery.document import Document
from resect.core.surgery.edits import InsertLayer, LayerSpec, ReplaceHead


@pytest.fixture()
def model_file(tmp_path):
    from resect.core.keras_backend.runtime import import_keras

    keras = import_keras()
    inp = keras.Input((6, 5), name="inp")
    x = keras.layers.Dense(8, name="d1")(inp)
    out = keras.layers.Dense(3, name="d2")(keras.layers.Flatten(name="flat")(x))
    keras.Model(inp, out).save(tmp_path / "m.keras")
    return tmp_path / "m.keras"


def answer(doc: Document) -> None:
    """What the app does when the worker answers."""
    jobs = exact.pending_jobs(doc.edited)
    exact.mark_asked(jobs)
    for job, result in zip(jobs, keras_layer_answers(jobs), strict=True):
        exact.remember(job, result)
    doc.refresh()


def test_outside_the_domain_is_unknown_then_exact(model_file, tmp_path):
    import keras

    edit = InsertLayer("d1", LayerSpec("LayerNormalization", {"rms_scaling": True, "name": "rms"}))
    doc = Document(read_model(model_file))
    doc.push(edit)
    assert doc.preview.needs_keras == ("rms",) and doc.preview.total_params is None and not doc.preview.exact
    answer(doc)
    assert doc.preview.exact and not exact.pending_jobs(doc.edited)
    run_apply(model_file, [edit], tmp_path / "out.keras")
    built = keras.models.load_model(tmp_path / "out.keras", compile=False)
    assert doc.preview.total_params == built.count_params()
    assert doc.preview.trainable_params == sum(int(w.numpy().size) for w in built.trainable_weights)


def test_inside_the_domain_is_estimated_then_exact(model_file, tmp_path):
    import keras

    edit = ReplaceHead("flat", (LayerSpec("Dense", {"units": 4, "lora_rank": 2, "name": "lora_head"}),))
    doc = Document(read_model(model_file))
    doc.push(edit)
    first = doc.preview
    assert first.estimated == ("lora_head",) and first.total_params is not None and not first.exact
    answer(doc)
    assert doc.preview.exact and doc.preview.estimated == ()
    run_apply(model_file, [edit], tmp_path / "out.keras")
    built = keras.models.load_model(tmp_path / "out.keras", compile=False)
    assert first.total_params == doc.preview.total_params == built.count_params()
    assert doc.preview.trainable_params == sum(int(w.numpy().size) for w in built.trainable_weights)


def test_a_refused_layer_is_asked_once(model_file):
    doc = Document(read_model(model_file))
    doc.push(InsertLayer("d1", LayerSpec("Conv2D", {"filters": 2, "kernel_size": 9, "name": "bad"})))
    assert doc.preview.needs_keras == ("bad",)
    answer(doc)  # Keras cannot build a 2D convolution on a (None, 6, 8) tensor
    assert doc.preview.needs_keras == ("bad",) and exact.pending_jobs(doc.edited) == []
