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


class KerasWeightIndex:
    """Index of ``model.weights.h5`` (Keras 3 ``.keras``): datasets grouped by owning layer."""

    def __init__(self, h5: h5py.File) -> None:
        self._by_owner: dict[str, list[tuple[str, tuple[int, ...], str]]] = {}
        h5.visititems(self._visit)

    def _visit(self, path: str, obj: Any) -> None:
        if not isinstance(obj, h5py.Dataset) or "seed_generator" in path:
            return
        segments = path.split("/")
        owner_end = 0
        while owner_end + 1 < len(segments) and segments[owner_end] == "layers":
            owner_end += 2
        if owner_end == 0:
            return  # the model's own or the optimizer's variables
        owner = "/".join(segments[:owner_end])
        relative = "/".join(segments[owner_end:])
        self._by_owner.setdefault(owner, []).append((relative, tuple(int(d) for d in obj.shape), obj.dtype.name))

    def __call__(
        self, name_path: tuple[str, ...], group: str, entry: dict[str, Any], trainable: bool
    ) -> tuple[Weight, ...]:
        found = sorted(self._by_owner.get(group, ()), key=lambda item: _sort_key(item[0]))
        class_name = str(entry.get("class_name"))
        config = entry.get("config") or {}
        own = [item for item in found if item[0].startswith("vars/")]
        names = own_variable_names(class_name, config, len(own))
        weights = []
        for relative, shape, dtype in found:
            if relative.startswith("vars/"):
                name = names[own.index((relative, shape, dtype))]
            else:
                name = relative.replace("/vars/", "/var_")
            statistic = is_statistic(class_name, name)
            weights.append(Weight(name, shape, dtype, trainable and not statistic, f"{group}/{relative}"))
        return tuple(weights)


class LegacyWeightIndex:
    """Index of a legacy ``.h5`` model's ``model_weights`` group (names recorded per layer)."""

    def __init__(self, h5: h5py.File) -> None:
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
