"""Data to run through a model: ``.npy`` / ``.npz`` arrays, images, or random values.

Pure NumPy and Pillow (no TensorFlow): the Keras backend asks for one array per model
input, described by an ``InputSpec`` (name, batch shape, dtype), and every mistake the
user can make (an image for a non-image input, an array of the wrong shape or dtype, a
corrupt image, an ``.npz`` without an input) is one ``DataInputError`` line naming the
input and the shape it expects. The kind of a file is sniffed from its content.

>>> specs = [InputSpec("image", (None, 32, 32, 3), "float32")]
>>> read_inputs({None: "random"}, specs)[0].shape
(1, 32, 32, 3)
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from resect.core.errors import ResectError

__all__ = [
    "PREPROCESSING",
    "RANDOM",
    "DataInputError",
    "InputSpec",
    "applications_family",
    "check_array",
    "image_layout",
    "random_array",
    "read_image",
    "read_inputs",
    "sniff",
]

RANDOM = "random"
PREPROCESSING = ("none", "unit", "family")  # unit: scale 0..255 to [0, 1]; family: keras.applications'
FREE_DIM = 32  # a dimension the model leaves open, for random data

Preprocess = Callable[[np.ndarray], np.ndarray]


class DataInputError(ResectError):
    """Data that cannot feed a model input: names the input and the shape it expects."""

    def __init__(self, spec: InputSpec, problem: str) -> None:
        self.input = spec.name
        super().__init__(f"input {spec.name!r} (expects {spec.describe()}): {problem}")


@dataclass(frozen=True)
class InputSpec:
    """One model input: its layer name, batch shape (``None`` for open dimensions), dtype."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str

    def describe(self) -> str:
        dims = ", ".join("None" if d is None else str(d) for d in self.shape)
        return f"shape ({dims}) {self.dtype}"


# --- keras.applications families -------------------------------------------------------
# Model name as keras.applications builds it -> the module whose preprocess_input it uses.
_FAMILIES: tuple[tuple[str, str], ...] = (
    (r"resnet(50|101|152)v2", "resnet_v2"),
    (r"resnet50", "resnet50"),
    (r"resnet(101|152)", "resnet"),
    (r"inception_resnet_v2", "inception_resnet_v2"),
    (r"inception_v3", "inception_v3"),
    (r"mobilenetv2_.*", "mobilenet_v2"),
    (r"mobilenetv3(small|large).*", "mobilenet_v3"),
    (r"mobilenet_.*", "mobilenet"),
    (r"efficientnetv2-.*", "efficientnet_v2"),
    (r"efficientnetb\d", "efficientnet"),
    (r"densenet(121|169|201)", "densenet"),
    (r"vgg16", "vgg16"),
    (r"vgg19", "vgg19"),
    (r"xception", "xception"),
    (r"nasnet_?(large|mobile)?", "nasnet"),
    (r"convnext_.*", "convnext"),
)


def applications_family(model_name: str) -> str | None:
    """The ``keras.applications`` module whose ``preprocess_input`` a model of that
    name (as keras.applications names it) expects; ``None`` for any other model.

    >>> applications_family("resnet50"), applications_family("mobilenetv2_1.00_224")
    ('resnet50', 'mobilenet_v2')
    """
    name = model_name.lower()
    for pattern, module in _FAMILIES:
        if re.fullmatch(pattern, name):
            return module
    return None


# --- sniffing and reading ----------------------------------------------------------------
def sniff(path: str) -> str:
    """``"npy"``, ``"npz"`` or ``"image"`` from the file's first bytes (never its name)."""
    with open(path, "rb") as stream:
        head = stream.read(8)
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"PK") and zipfile.is_zipfile(path):
        return "npz"
    return "image"


def image_layout(spec: InputSpec) -> tuple[int | None, int | None, int, bool] | None:
    """``(height, width, channels, channels_first)`` when ``spec`` is an image input
    (rank 4, 1 / 3 / 4 channels last, or first when the last cannot be channels)."""
    if len(spec.shape) != 4 or "int" in spec.dtype and spec.dtype != "uint8" or spec.dtype == "bool":
        return None
    _, a, b, c = spec.shape
    if c in (1, 3, 4):
        return a, b, int(c), False
    if a in (1, 3, 4) and c is not None:
        return b, c, int(a), True
    return None


def read_image(path: str, spec: InputSpec) -> np.ndarray:
    """The image at ``path`` as a batch of one, resized to the input's height and width
    (kept where the model leaves them open), values 0..255 as float32."""
    from PIL import Image, UnidentifiedImageError

    layout = image_layout(spec)
    if layout is None:
        raise DataInputError(spec, f"{path} is an image, but this input does not take images")
    height, width, channels, channels_first = layout
    try:
        with Image.open(path) as image:
            image.load()
            mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
            picture = image.convert(mode)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DataInputError(spec, f"{path} is not a readable image or array ({reason[:160]})") from None
    size = (width or picture.width, height or picture.height)
    if size != picture.size:
        picture = picture.resize(size, Image.Resampling.BILINEAR)
    array = np.asarray(picture, dtype=np.float32).reshape(size[1], size[0], channels)
    if channels_first:
        array = np.transpose(array, (2, 0, 1))
    return array[np.newaxis]


def random_array(spec: InputSpec, rng: np.random.Generator, int_high: int = 2) -> np.ndarray:
    """Random data of the input's shape (batch 1, open dimensions 32) and dtype: normal
    floats, integers in ``[0, int_high)`` (an ``Embedding``'s ``input_dim``), 0 / 1 booleans."""
    size = tuple(1 if i == 0 and d is None else FREE_DIM if d is None else int(d) for i, d in enumerate(spec.shape))
    if spec.dtype == "bool":
        return rng.integers(0, 2, size=size).astype(bool)
    if "int" in spec.dtype:
        return rng.integers(0, max(int_high, 1), size=size).astype(spec.dtype)
    return rng.standard_normal(size).astype(spec.dtype)


def check_array(spec: InputSpec, array: np.ndarray, source: str) -> np.ndarray:
    """``array`` as the input takes it: a batch axis added when it has one dimension too
    few, the dtype cast when the kind fits (an integer array for a float input), else a
    ``DataInputError``."""
    array = np.asarray(array)
    if array.ndim == len(spec.shape) - 1:
        array = array[np.newaxis]
    got = "(" + ", ".join(str(d) for d in array.shape) + ")"
    if array.ndim != len(spec.shape) or any(
        want is not None and want != have for want, have in zip(spec.shape, array.shape, strict=True)
    ):
        raise DataInputError(spec, f"{source} has shape {got}")
    if not _dtype_fits(array.dtype, spec.dtype):
        raise DataInputError(spec, f"{source} has dtype {array.dtype}")
    return array.astype(spec.dtype, copy=False)


def _dtype_fits(have: np.dtype, want: str) -> bool:
    if want == "bool":
        return have.kind == "b"
    if "int" in want:
        return have.kind in "iub"
    if "float" in want:
        return have.kind in "iuf"
    return have.kind not in "OSUV"


def read_inputs(
    sources: Mapping[str | None, str],
    specs: Sequence[InputSpec],
    preprocess: Preprocess | None = None,
    seed: int = 0,
    int_high: Mapping[str, int] | None = None,
) -> list[np.ndarray]:
    """One array per spec, in order. ``sources`` maps an input name (``None``: every input
    not named) to a file (``.npy`` for a one-input model, ``.npz`` keyed by input name, an
    image) or ``"random"``. ``preprocess`` applies to images only; ``int_high`` bounds
    random integers per input."""
    unknown = [name for name in sources if name is not None and name not in {s.name for s in specs}]
    if unknown:
        names = ", ".join(repr(s.name) for s in specs)
        raise DataInputError(specs[0], f"the model has no input {unknown[0]!r} (its inputs: {names})")
    rng = np.random.default_rng(seed)
    loaded: dict[str, dict[str, np.ndarray]] = {}
    arrays = []
    for spec in specs:
        source = sources.get(spec.name, sources.get(None))
        if source is None:
            raise DataInputError(spec, "no data given for it")
        shared = spec.name not in sources and len(specs) > 1
        arrays.append(_one_input(spec, source, shared, loaded, rng, preprocess, (int_high or {}).get(spec.name, 2)))
    batches = {a.shape[0] for a in arrays}
    if len(batches) > 1:
        raise DataInputError(specs[0], f"inputs have different batch sizes {sorted(batches)}")
    return arrays


def _one_input(
    spec: InputSpec,
    source: str,
    shared: bool,
    loaded: dict[str, dict[str, np.ndarray]],
    rng: np.random.Generator,
    preprocess: Preprocess | None,
    int_high: int,
) -> np.ndarray:
    if source == RANDOM:
        return random_array(spec, rng, int_high)
    if not os.path.isfile(source):
        raise DataInputError(spec, f"{source}: no such file")
    kind = sniff(source)
    if kind == "image":
        image = read_image(source, spec)
        if preprocess is not None:
            image = np.asarray(preprocess(image.copy()), dtype=np.float32)
        return check_array(spec, image, source)
    if source not in loaded:
        loaded[source] = _read_arrays(source, kind, spec)
    arrays = loaded[source]
    if kind == "npy":
        if shared:
            raise DataInputError(
                spec, f"{source} is one array for a model of several inputs; use an .npz keyed by input name"
            )
        return check_array(spec, arrays[""], source)
    if spec.name not in arrays:
        names = sorted(arrays)
        keys = ", ".join(names[:6]) + (f", ... ({len(names)} arrays)" if len(names) > 6 else "") if names else "none"
        raise DataInputError(spec, f"{source} has no array named {spec.name!r} (it has: {keys})")
    return check_array(spec, arrays[spec.name], f"{source}[{spec.name}]")


def _read_arrays(path: str, kind: str, spec: InputSpec) -> dict[str, np.ndarray]:
    try:
        if kind == "npy":
            return {"": np.load(path, allow_pickle=False)}
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DataInputError(spec, f"{path} is not a readable {kind} file ({reason[:160]})") from None
