"""The ``reinitialize`` edit (issue 17): fresh weights from the layers' own initializers,
checked against Keras (``clone_model`` with the same seed) and against the trained
weights that must stay bit-identical."""

from __future__ import annotations

import numpy as np
import pytest

from resect.core.keras_backend.pipeline import run_apply
from resect.core.reader import read_model
from resect.core.surgery.apply import EditError, apply_edits
from resect.core.surgery.document import Document
from resect.core.surgery.edits import Reinitialize
from resect.core.surgery.preview import preview
from resect.core.surgery.recipe import parse_recipe


@pytest.fixture(scope="module")
def k():
    from resect.core.keras_backend.runtime import import_keras

    return import_keras()


def trained(k, model):
    """The model with every weight moved off its initial value (as training would)."""
    rng = np.random.default_rng(0)
    model.set_weights([w + rng.uniform(0.1, 0.2, w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def weights_by_path(model) -> dict[str, np.ndarray]:
    return {w.path: np.asarray(w.numpy()) for w in model.weights}


def test_recipe_forms():
    edits = parse_recipe(
        [
            {"op": "reinitialize", "all": True, "seed": 3},
            {"op": "reinitialize", "layers": ["predictions"]},
            {"op": "reinitialize", "above": "mixed8"},
        ]
    )
    assert edits == [Reinitialize(all=True, seed=3), Reinitialize(("predictions",)), Reinitialize(above="mixed8")]
    assert [e.to_json() for e in edits][0] == {"op": "reinitialize", "all": True, "seed": 3}
    assert edits[2].describe() == "Re-initialise above mixed8"
    with pytest.raises(Exception, match="give 'layers', 'below', 'above'"):
        parse_recipe([{"op": "reinitialize"}])
    with pytest.raises(Exception, match="'seed' must be a non-negative integer"):
        parse_recipe([{"op": "reinitialize", "all": True, "seed": "x"}])


def test_resnet50_all_is_clone_model_with_the_same_seed(k, tmp_path):
    original = trained(k, k.applications.ResNet50(weights=None))
    original.save(tmp_path / "r.keras")
    graph = read_model(tmp_path / "r.keras")
    edit = Reinitialize(all=True, seed=7)
    p = preview(graph, apply_edits(graph, [edit]))
    assert p.total_params == graph.total_params and len(p.reinitialized) == sum(1 for x in graph.layers if x.weights)
    result = run_apply(tmp_path / "r.keras", [edit], tmp_path / "fresh.keras", verify=True)
    got = k.models.load_model(tmp_path / "fresh.keras", compile=False)
    assert got.count_params() == original.count_params()
    mine, theirs = weights_by_path(got), weights_by_path(original)
    assert mine.keys() == theirs.keys()
    assert not [path for path in mine if np.array_equal(mine[path], theirs[path])]  # every weight is fresh
    k.utils.set_random_seed(7)
    clone = k.models.clone_model(original)
    for path, value in weights_by_path(clone).items():
        np.testing.assert_array_equal(mine[path], value, err_msg=path)
    # --verify compares only what must be equal (here: the input padding), and says so
    assert [c.tensor for c in result.verify.checks] == ["conv1_pad:0:0"]
    assert result.verify.unchecked_outputs == ["predictions:0:0"]
    assert len(result.reinitialized) == len(p.reinitialized)


def test_inception_v3_last_stage_leaves_every_other_weight_bit_identical(k, tmp_path):
    original = trained(k, k.applications.InceptionV3(weights=None))
    original.save(tmp_path / "i.keras")
    graph = read_model(tmp_path / "i.keras")
    edit = Reinitialize(above="mixed8")
    edited = apply_edits(graph, [edit])
    fresh = {layer.name for layer in edited.layers if layer.fresh_weights}
    assert "predictions" in fresh and "mixed8" not in fresh
    assert sum(edited.layer(name).class_name == "Conv2D" for name in fresh) == 2 * 9  # mixed9 and mixed10
    result = run_apply(tmp_path / "i.keras", [edit], tmp_path / "last.keras", verify=True)
    got = k.models.load_model(tmp_path / "last.keras", compile=False)
    mine, theirs = weights_by_path(got), weights_by_path(original)
    for path, value in theirs.items():
        layer = path.split("/", 1)[0]
        if layer in fresh:
            assert not np.array_equal(mine[path], value), path
        else:
            assert mine[path].tobytes() == value.tobytes(), path  # bit-identical
    assert "mixed8:0:0" in [c.tensor for c in result.verify.checks] and result.verify.ok


def test_undo_restores_the_trained_weights(k, tmp_path):
    L = k.layers
    inp = k.Input((6,), name="x")
    model = k.Model(inp, L.Dense(2, name="out")(L.Dense(4, name="hidden")(inp)))
    trained(k, model).save(tmp_path / "m.keras")
    doc = Document(read_model(tmp_path / "m.keras"))
    doc.push(Reinitialize(("hidden",), seed=1))
    assert doc.preview.reinitialized == ("hidden",)
    doc.undo()
    assert not doc.edits and not any(layer.fresh_weights for layer in doc.edited.layers)
    run_apply(tmp_path / "m.keras", list(doc.edits), tmp_path / "back.keras")
    back = k.models.load_model(tmp_path / "back.keras", compile=False)
    for mine, theirs in zip(back.get_weights(), model.get_weights(), strict=True):
        assert mine.tobytes() == theirs.tobytes()


def test_nothing_to_reinitialize_is_one_line(k, tmp_path):
    inp = k.Input((6,), name="x")
    k.Model(inp, k.layers.Dense(2, name="out")(k.layers.ReLU(name="relu")(inp))).save(tmp_path / "m.keras")
    graph = read_model(tmp_path / "m.keras")
    with pytest.raises(EditError, match=r"^edit 0 \(reinitialize\): none of the chosen layers has weights"):
        apply_edits(graph, [Reinitialize(("relu",))])
