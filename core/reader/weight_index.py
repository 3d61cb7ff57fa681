"""Weight shapes from a model's HDF5 weights, read as metadata only (no values).

Two layouts: the ``model.weights.h5`` inside a ``.keras`` zip (groups named by Keras'
saving walk, ``layers/<snake_class>[_N]/vars/<i>``, no variable names) and the legacy
``model_weights/<layer>/<weight_name>`` of an ``.h5`` model (names recorded). Which
variables are non-trainable follows Keras: a frozen layer's are, and so are
normalisation statistics (``moving_mean``, ...), which Keras creates after the
trainable ones and saves last.
"""

from __future__ import annotations

from typing import Any

import h5py

from core.graph import Weight

# Own variable names by class, in Keras' save order (trainable first). Only used to
# label weights of .keras files, which do not record names.
_NAMES: dict[str, tuple[str, ...]] = {
    "Dense": ("kernel", "bias"),
    "EinsumDense": ("kernel", "bias"),
    "Conv1D": ("kernel", "bias"),
    "Conv2D": ("kernel", "bias"),
    "Conv3D": ("kernel", "bias"),
    "Conv1DTranspose": ("kernel", "bias"),
    "Conv2DTranspose": ("kernel", "bias"),
    "Conv3DTranspose": ("kernel", "bias"),
    "DepthwiseConv1D": ("depthwise_kernel", "bias"),
    "DepthwiseConv2D": ("depthwise_kernel", "bias"),
    "SeparableConv1D": ("depthwise_kernel", "pointwise_kernel", "bias"),
    "SeparableConv2D": ("depthwise_kernel", "pointwise_kernel", "bias"),
    "Embedding": ("embeddings",),
    "PReLU": ("alpha",),
    "Normalization": ("mean", "variance", "count"),
}
_NORMALISATION = {"BatchNormalization", "SyncBatchNormalization", "LayerNormalization", "GroupNormalization"}
_STATISTICS = {"moving_mean", "moving_variance", "moving_stddev", "renorm_mean", "renorm_stddev"}


def own_variable_names(class_name: str, config: dict[str, Any], count: int) -> list[str]:
    """Names for a layer's own variables in save order, ``var_<i>`` where unknown."""
    if class_name in _NORMALISATION:
        names = (["gamma"] if config.get("scale", True) else []) + (["beta"] if config.get("center", True) else [])
        if class_name in ("BatchNormalization", "SyncBatchNormalization"):
            names += ["moving_mean", "moving_variance"]
            if config.get("renorm"):
                names += ["moving_stddev", "renorm_mean", "renorm_stddev"]
    else:
        names = list(_NAMES.get(class_name, ()))
        if class_name in _NAMES and "bias" in names and config.get("use_bias", True) is False:
            names.remove("bias")
    if len(names) != count:
        names = [f"var_{i}" for i in range(count)]
    return names


def is_statistic(class_name: str, weight_name: str) -> bool:
    """Variables Keras creates with ``trainable=False`` inside an otherwise trainable layer."""
    return weight_name in _STATISTICS or (
        class_name == "Normalization" and weight_name in ("mean", "variance", "count")
    )


def _sort_key(relative: str) -> tuple[tuple[int, Any], ...]:
    """Own ``vars`` first, then sub-layers by attribute name, as Keras' saving walk."""
    return tuple((0, "") if s == "vars" else (1, int(s)) if s.isdigit() else (2, s) for s in relative.split("/"))


# Built-in Keras layers that never own variables: their (empty) weight groups are not
# opened, which halves the HDF5 lookups for a typical CNN (each costs 10-20 us).
_WEIGHTLESS = frozenset(
    {
        "InputLayer", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Identity", "Masking",
        "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
        "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout",
        "GaussianNoise", "AlphaDropout", "ActivityRegularization",
        "Flatten", "Reshape", "Permute", "RepeatVector",
        "Cropping1D", "Cropping2D", "Cropping3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
        "UpSampling1D", "UpSampling2D", "UpSampling3D",
        "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
        "AveragePooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
        "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
        "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
        "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D",
        "GlobalMaxPool3D", "Rescaling", "Resizing", "CenterCrop",
    }
)  # fmt: skip


def is_weightless(entry: dict[str, Any]) -> bool:
    """A built-in Keras class known to create no variables (custom classes never are)."""
    module = entry.get("module")
    return entry.get("class_name") in _WEIGHTLESS and (module is None or str(module).startswith("keras"))


def limit_metadata_cache(h5: h5py.File, max_bytes: int = 2 << 20) -> None:
    """Cap HDF5's metadata cache: by default it grows to 32 MB and, with its bookkeeping,
    cost 78 MB of memory on a 20,000-layer file; every object is visited once anyway."""
    try:
        config = h5.id.get_mdc_config()
        config.set_initial_size = True
        config.initial_size = min(config.initial_size, max_bytes)
        config.min_size = min(config.min_size, max_bytes // 2)
        config.max_size = max_bytes
        h5.id.set_mdc_config(config)
    except (AttributeError, RuntimeError, ValueError):  # an h5py without these calls: only slower
        pass


def _plain_vars(gid: Any) -> list[tuple[str, tuple[int, ...], str]] | None:
    """The common layout, ``vars/0 .. vars/<n-1>`` datasets only, read without listing
    names and types (a third of the HDF5 calls); ``None`` for anything else."""
    found = []
    for i in range(gid.get_num_objs()):
        try:
            dataset = h5py.h5d.open(gid, b"%d" % i)
        except (KeyError, ValueError, TypeError):
            return None
        found.append((f"vars/{i}", tuple(int(d) for d in dataset.shape), dataset.dtype.name))
    return found


class KerasWeightIndex:
    """Weight shapes of ``model.weights.h5`` (Keras 3 ``.keras``), looked up per layer.

    Each layer's group is opened on demand with h5py's low-level API (a full
    ``visititems`` over a 20,000-layer file takes seconds: every HDF5 object costs
    10-20 us). Datasets under a layer's group belong to it, except below a direct
    ``layers`` child, which holds a nested model's own layers. Must be called while the
    file is open.
    """

    def __init__(self, h5: h5py.File) -> None:
        self._file = h5
        self._root = h5.id
        limit_metadata_cache(h5)

    def _owned(self, group: str) -> list[tuple[str, tuple[int, ...], str]]:
        try:
            gid = h5py.h5g.open(self._root, group.encode())
        except KeyError:
            return []
        if gid.get_num_objs() == 1 and gid.get_objname_by_idx(0) == b"vars" and "seed_generator" not in group:
            fast = _plain_vars(h5py.h5g.open(gid, b"vars"))
            if fast is not None:
                return fast
        found: list[tuple[str, tuple[int, ...], str]] = []
        self._walk(gid, "", found, "seed_generator" in group)
        return found

    def _walk(self, gid: Any, prefix: str, found: list[tuple[str, tuple[int, ...], str]], skip: bool) -> None:
        for i in range(gid.get_num_objs()):
            raw = gid.get_objname_by_idx(i)
            name = raw.decode("utf8")
            kind = gid.get_objtype_by_idx(i)
            if kind == h5py.h5g.GROUP:
                if prefix == "" and name == "layers":
                    continue  # a nested model's layers own what lies below
                self._walk(h5py.h5g.open(gid, raw), f"{prefix}{name}/", found, skip or "seed_generator" in name)
            elif kind == h5py.h5g.DATASET and not skip:
                dataset = h5py.h5d.open(gid, raw)
                found.append((prefix + name, tuple(int(d) for d in dataset.shape), dataset.dtype.name))

    def __call__(
        self, name_path: tuple[str, ...], group: str, entry: dict[str, Any], trainable: bool
    ) -> tuple[Weight, ...]:
        if is_weightless(entry):
            return ()
        found = sorted(self._owned(group), key=lambda item: _sort_key(item[0]))
        class_name = str(entry.get("class_name"))
        config = entry.get("config") or {}
        own = [item for item in found if item[0].startswith("vars/")]
        names = own_variable_names(class_name, config, len(own))
        weights = []
        own_position = 0
        for relative, shape, dtype in found:
            if relative.startswith("vars/"):
                name = names[own_position]
                own_position += 1
            else:
                name = relative.replace("/vars/", "/var_")
            statistic = is_statistic(class_name, name)
            weights.append(Weight(name, shape, dtype, trainable and not statistic, f"{group}/{relative}"))
        return tuple(weights)


class LegacyWeightIndex:
    """Index of a legacy ``.h5`` model's ``model_weights`` group (names recorded per layer)."""

    def __init__(self, h5: h5py.File) -> None:
        limit_metadata_cache(h5)
        self._root = h5["model_weights"] if "model_weights" in h5 else None

    def __call__(
        self, name_path: tuple[str, ...], group: str, entry: dict[str, Any], trainable: bool
    ) -> tuple[Weight, ...]:
        if self._root is None or name_path[0] not in self._root:
            return ()
        top = self._root[name_path[0]]
        class_name = str(entry.get("class_name"))
        weights = []
        for raw in top.attrs.get("weight_names", []):
            full = raw.decode("utf8") if isinstance(raw, bytes) else str(raw)
            short = _owned_name(full, name_path)
            if short is None:
                continue
            dataset = top[full]
            base = short.split(":")[0]
            statistic = is_statistic(class_name, base.rsplit("/", 1)[-1])
            weights.append(
                Weight(
                    base,
                    tuple(int(d) for d in dataset.shape),
                    dataset.dtype.name,
                    trainable and not statistic,
                    dataset.name.lstrip("/"),
                )
            )
        return tuple(weights)


def _owned_name(full: str, name_path: tuple[str, ...]) -> str | None:
    """The part of a recorded weight name after the layer name, if it belongs to the
    layer at ``name_path`` (a top-level layer owns all of its group's weights)."""
    parts = full.split("/")
    if len(name_path) == 1:
        if len(parts) > 1 and parts[0] == name_path[0]:
            parts = parts[1:]
        return "/".join(parts)
    containers, leaf = name_path[:-1], name_path[-1]
    while len(parts) > 1 and parts[0] in containers and parts[0] != leaf:
        parts = parts[1:]
    if len(parts) > 1 and parts[0] == leaf:
        return "/".join(parts[1:])
    return None
