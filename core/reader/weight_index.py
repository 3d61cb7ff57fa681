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

from resect.core.graph import Weight

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


_DTYPE_NAMES: dict[tuple[int, int], str] = {}


def dtype_name(dtype: Any) -> str:
    """``dtype.name`` ("float32"), remembered per numeric type: NumPy computes the name in
    Python on every call, twice per weight of a 20,000-layer model."""
    key = (dtype.num, dtype.itemsize)
    name = _DTYPE_NAMES.get(key)
    if name is None:
        name = dtype.name
        if dtype.kind in "biufc":  # plain numbers: the name follows from (type, size) alone
            _DTYPE_NAMES[key] = name
    return name


# --- links: only hard links are ever followed -----------------------------------------

MAX_GROUP_DEPTH = 32  # below a layer's group; Keras' own nesting is a few levels
MAX_WALKED_OBJECTS = 200_000  # per layer: a loop of hard links is refused, not walked forever


class UnsafeWeightsError(OSError):
    """The weights file links out of itself or loops; nothing behind such a link is opened."""


def links(gid: Any, where: str = "") -> list[bytes]:
    """The link names of one group, listed in one HDF5 call, refusing soft and external
    links (following an external link opens another file, which may be a FIFO that
    blocks for ever)."""
    found: list[tuple[bytes, int]] = []
    gid.links.iterate(lambda name, info: found.append((name, info.type)), info=True)
    for name, kind in found:
        if kind != _HARD:
            raise _not_followed(_join(where, name), kind)
    return [name for name, _ in found]


def open_hard(gid: Any, path: str, where: str = "") -> Any:
    """Open ``path`` below ``gid`` (which is at ``where``, for the refusal's words) through
    hard links only; ``None`` if a part is missing."""
    for part in path.split("/"):
        if not part:
            continue
        try:
            raw = part.encode("utf8")
            info = gid.links.get_info(raw)
        except (KeyError, ValueError, RuntimeError, UnicodeEncodeError):
            return None
        if info.type != _HARD:
            raise _not_followed(f"{where}/{path}" if where else path, info.type)
        gid = h5py.h5o.open(gid, raw)
    return gid


def check_all_links(h5: h5py.File) -> None:
    """Every link of the file is a hard link (H5Lvisit walks hard links only, each object
    once); run before Keras opens a file, since Keras and h5py follow any link."""
    found: list[tuple[bytes, int]] = []

    def visit(name: bytes, info: Any) -> Any:
        if info.type != _HARD:
            found.append((name, info.type))
            return True
        return None

    h5.id.links.visit(visit, info=True)
    if found:
        name, kind = found[0]
        raise _not_followed(_join("", name), kind)


_HARD = h5py.h5l.TYPE_HARD
_LINK_KINDS = {h5py.h5l.TYPE_SOFT: "a soft link", h5py.h5l.TYPE_EXTERNAL: "an external link"}


def _not_followed(path: str, kind: int) -> UnsafeWeightsError:
    """The one refusal of a link that is not a hard link, naming its path and kind."""
    return UnsafeWeightsError(f"{path} is {_LINK_KINDS.get(kind, 'a non-hard link')}; not followed")


def _join(where: str, name: bytes) -> str:
    text = name.decode("utf8", errors="replace")
    return f"{where}/{text}" if where else text


def _plain_vars(gid: Any, where: str) -> list[tuple[str, tuple[int, ...], str]] | None:
    """The common layout, ``vars/0 .. vars/<n-1>`` hard-linked datasets only, each looked
    up by name (two HDF5 calls per weight, no listing); ``None`` for anything else."""
    found = []
    get_info = gid.links.get_info
    for i in range(gid.get_num_objs()):
        raw = b"%d" % i
        try:
            kind = get_info(raw).type
        except KeyError:
            return None
        if kind != _HARD:
            raise _not_followed(_join(where, raw), kind)
        try:
            dataset = h5py.h5d.open(gid, raw)
        except (KeyError, ValueError, TypeError):
            return None
        found.append((f"vars/{i}", tuple(map(int, dataset.shape)), dtype_name(dataset.dtype)))
    return found


class KerasWeightIndex:
    """Weight shapes of ``model.weights.h5`` (Keras 3 ``.keras``), looked up per layer.

    Each layer's group is opened on demand with h5py's low-level API (a full
    ``visititems`` over a 20,000-layer file takes seconds: every HDF5 object costs
    10-20 us). Datasets under a layer's group belong to it, except below a direct
    ``layers`` child, which holds a nested model's own layers. Must be called while the
    file is open. Only hard links are followed, and walks are bounded in depth and size.
    """

    def __init__(self, h5: h5py.File) -> None:
        self._file = h5
        self._root = h5.id
        self._groups: dict[str, Any] = {}
        limit_metadata_cache(h5)

    def _group(self, path: str) -> Any:
        """The group at ``path``, through hard links only. Parents (``layers``) are opened
        once; each layer's group costs one link check and one open."""
        parent, _, last = path.rpartition("/")
        if parent.count("/") >= MAX_GROUP_DEPTH:
            return None
        base = self._root if not parent else self._groups.get(parent)
        if base is None:
            base = self._group(parent)
            if base is None:
                return None
            self._groups[parent] = base
        found = open_hard(base, last, parent)
        return found if isinstance(found, h5py.h5g.GroupID) else None

    def _owned(self, group: str) -> list[tuple[str, tuple[int, ...], str]]:
        gid = self._group(group)
        if gid is None:
            return []
        if gid.get_num_objs() == 1 and "seed_generator" not in group:
            plain = open_hard(gid, "vars", group)  # the one child, if it is "vars"
            if isinstance(plain, h5py.h5g.GroupID):
                fast = _plain_vars(plain, f"{group}/vars")
                if fast is not None:
                    return fast
        found: list[tuple[str, tuple[int, ...], str]] = []
        self._walk(gid, group, "", found, "seed_generator" in group, [0])
        return found

    def _walk(
        self,
        gid: Any,
        group: str,
        prefix: str,
        found: list[tuple[str, tuple[int, ...], str]],
        skip: bool,
        budget: list[int],
    ) -> None:
        if prefix.count("/") >= MAX_GROUP_DEPTH:
            raise UnsafeWeightsError(f"{group}: weight groups nest deeper than {MAX_GROUP_DEPTH} levels")
        for raw in links(gid, f"{group}/{prefix}".rstrip("/")):
            budget[0] += 1
            if budget[0] > MAX_WALKED_OBJECTS:
                raise UnsafeWeightsError(f"{group}: more than {MAX_WALKED_OBJECTS} weight objects (a loop?)")
            name = raw.decode("utf8", errors="replace")
            if prefix == "" and name == "layers":
                continue  # a nested model's layers own what lies below
            child = h5py.h5o.open(gid, raw)
            if isinstance(child, h5py.h5g.GroupID):
                self._walk(child, group, f"{prefix}{name}/", found, skip or "seed_generator" in name, budget)
            elif isinstance(child, h5py.h5d.DatasetID) and not skip:
                found.append((prefix + name, tuple(map(int, child.shape)), dtype_name(child.dtype)))

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
    """Index of a legacy ``.h5`` model's ``model_weights`` group (names recorded per layer);
    only hard links are followed."""

    def __init__(self, h5: h5py.File) -> None:
        limit_metadata_cache(h5)
        root = open_hard(h5.id, "model_weights")
        self._root = root if isinstance(root, h5py.h5g.GroupID) else None

    def __call__(
        self, name_path: tuple[str, ...], group: str, entry: dict[str, Any], trainable: bool
    ) -> tuple[Weight, ...]:
        if self._root is None:
            return ()
        top = open_hard(self._root, name_path[0])
        if not isinstance(top, h5py.h5g.GroupID):
            return ()
        class_name = str(entry.get("class_name"))
        weights = []
        for raw in _weight_names(top):
            full = raw.decode("utf8", errors="replace") if isinstance(raw, bytes) else str(raw)
            short = _owned_name(full, name_path)
            if short is None:
                continue
            dataset = open_hard(top, full)
            if not isinstance(dataset, h5py.h5d.DatasetID):
                raise UnsafeWeightsError(f"model_weights/{name_path[0]}/{full}: recorded weight is missing")
            base = short.split(":")[0]
            statistic = is_statistic(class_name, base.rsplit("/", 1)[-1])
            weights.append(
                Weight(
                    base,
                    tuple(map(int, dataset.shape)),
                    dtype_name(dataset.dtype),
                    trainable and not statistic,
                    f"model_weights/{name_path[0]}/{full}",
                )
            )
        return tuple(weights)


def _weight_names(top: Any) -> list[Any]:
    """The ``weight_names`` attribute of a layer group (a list of names), or none."""
    try:
        if not h5py.h5a.exists(top, b"weight_names"):
            return []
        names = h5py.AttributeManager(h5py.Group(top)).get("weight_names")
    except (KeyError, OSError, TypeError, ValueError):
        return []
    if names is None or getattr(names, "ndim", 1) != 1:
        return []
    return list(names)


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
