"""Every zoo model Keras 3 can load round-trips through an empty recipe: the export
reloads, counts the same parameters and computes the same outputs (our verifier's
numbers are checked against a plain Keras comparison)."""

from __future__ import annotations

import numpy as np
import pytest

from resect.core.keras_backend.pipeline import run_apply

CASES = [
    ("small_resnet", "h5", "keras"),
    ("siamese", "tf2.h5", "h5"),
    ("nested", "keras", "h5"),
    ("nested", "h5", "keras"),
    ("multi_io", "keras", "h5"),
    ("lstm", "h5", "keras"),
    ("frozen_block", "tf2.h5", "keras"),
    ("mobilenet_v2", "keras", "keras"),
]


def feed_for(model, seed):
    rng = np.random.default_rng(seed)
    feed = []
    for tensor in model.inputs:
        shape = (2, *tensor.shape[1:])
        if "int" in str(tensor.dtype):
            feed.append(rng.integers(0, 10, shape).astype(str(tensor.dtype)))  # every zoo vocabulary has >= 10 ids
        else:
            feed.append(rng.standard_normal(shape).astype("float32"))
    return feed


@pytest.mark.parametrize(("name", "fmt", "out_fmt"), CASES)
def test_identity_export_matches_the_original(zoo, tmp_path, name, fmt, out_fmt):
    from resect.core.keras_backend.runtime import import_keras

    keras = import_keras()
    path = zoo.path(name, fmt)
    out = tmp_path / f"copy.{out_fmt}"
    result = run_apply(path, [], out, verify=True)
    original = keras.models.load_model(path, compile=False)
    got = keras.models.load_model(out, compile=False)
    assert result.params_before.total == original.count_params() == got.count_params() == result.params_after.total
    trainable = sum(int(np.prod(w.shape)) for w in original.trainable_weights)
    assert result.params_after.trainable == trainable == sum(int(np.prod(w.shape)) for w in got.trainable_weights)
    checks = result.verify.checks
    assert len(checks) == len(original.outputs) and all(c.is_output and c.max_abs_diff <= 1e-5 for c in checks)
    feed = feed_for(original, 19)
    feed = feed[0] if len(feed) == 1 else feed
    ours, theirs = got(feed), original(feed)
    ours, theirs = (ours, theirs) if isinstance(ours, (list, tuple)) else ([ours], [theirs])
    for a, b in zip(ours, theirs, strict=True):
        assert float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) <= 1e-5
