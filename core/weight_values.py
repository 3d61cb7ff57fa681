"""Read the values of one weight straight from a model file, without Keras.

The reader records only shapes (opening must stay instant); the properties panel
asks for one weight's values when the user selects it. ``Weight.h5_path`` is the
dataset path inside the HDF5 weights: ``model.weights.h5`` inside a ``.keras`` zip,
or the legacy ``.h5`` file itself.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass

import h5py
import numpy as np

from resect.core.errors import ModelFileError
from resect.core.graph import Weight
from resect.core.reader import sniff_format
from resect.core.reader.archive import open_member


@dataclass(frozen=True)
class WeightStats:
    """Summary numbers for a weight, as shown next to its histogram."""

    minimum: float
    maximum: float
    mean: float
    std: float
    count: int


def read_weight_values(path: str | os.PathLike[str], weight: Weight) -> np.ndarray:
    """The values of ``weight`` from the model file at ``path`` (raises ``ModelFileError``)."""
    path = os.fspath(path)
    if not weight.h5_path:
        raise ModelFileError(path, f"weight {weight.name!r} has no location in the file")
    fmt = sniff_format(path)
    if fmt == "savedmodel":  # the values sit in a TensorFlow checkpoint (variables/), read only by Keras
        raise ModelFileError(path, f"weight {weight.name!r}: a SavedModel's values are not read without TensorFlow")
    try:
        if fmt == "h5":
            with h5py.File(path, "r") as h5:
                return _dataset(path, h5, weight)
        with open(path, "rb") as raw, zipfile.ZipFile(raw) as archive:
            with open_member(archive, raw, "model.weights.h5") as member, h5py.File(member, "r") as h5:
                return _dataset(path, h5, weight)
    except ModelFileError:
        raise
    except (OSError, KeyError, zipfile.BadZipFile) as error:
        raise ModelFileError(path, f"cannot read weight {weight.name!r} ({error})") from None


def _dataset(path: str, h5: h5py.File, weight: Weight) -> np.ndarray:
    if weight.h5_path not in h5:
        raise ModelFileError(path, f"weight {weight.name!r} is missing at {weight.h5_path!r}")
    dataset = h5[weight.h5_path]
    if not isinstance(dataset, h5py.Dataset):
        raise ModelFileError(path, f"{weight.h5_path!r} is not a weight dataset")
    return np.asarray(dataset[()])


def weight_stats(values: np.ndarray) -> WeightStats:
    """Min / max / mean / std in float64 (so float16 weights do not overflow the sums)."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    if flat.size == 0:
        return WeightStats(float("nan"), float("nan"), float("nan"), float("nan"), 0)
    return WeightStats(float(flat.min()), float(flat.max()), float(flat.mean()), float(flat.std()), int(flat.size))
