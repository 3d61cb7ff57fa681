"""Run a tf.keras 2 model (``.h5`` or SavedModel) with tf.keras 2 itself, in its own process.

``python legacy_runner.py MODEL INPUTS.npz OUTPUTS.npz`` loads MODEL with
``tf_keras.models.load_model(compile=False)``, feeds it ``x0, x1, ...`` from INPUTS and
writes its outputs as ``y0, y1, ...``. Keras 2 and Keras 3 never share a process, so
this file imports nothing from Resect and nothing at module level.
"""

from __future__ import annotations

import sys


def main(model_path: str, inputs_path: str, outputs_path: str) -> None:
    import os
    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore")
    import numpy as np
    import tf_keras

    model = tf_keras.models.load_model(model_path, compile=False)
    with np.load(inputs_path) as data:
        feed = [data[f"x{i}"] for i in range(len(data.files))]
    outputs = model(feed[0] if len(feed) == 1 else feed, training=False)
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    np.savez(outputs_path, **{f"y{i}": np.asarray(out) for i, out in enumerate(outputs)})


if __name__ == "__main__":
    main(*sys.argv[1:4])
