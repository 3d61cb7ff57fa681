"""Write a Keras model to disk atomically in any format of ``core.keras_backend.formats``
(``.keras``, legacy ``.h5``, a SavedModel, ``.onnx``, ``.tflite``).

Keras writes to a temporary name beside the target (same folder, so the final rename
never crosses file systems); only a complete file is renamed onto the target. An
existing target is never replaced unless ``force``; without it the final step is a
hard link, which fails if the name appeared meanwhile. On any failure, a full disk
or a cancel, the temporary file is removed and the target is untouched.

>>> with AtomicTarget("out.keras", "keras") as target:   # doctest: +SKIP
...     save_model(model, target.path, "keras")
...     target.commit()
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

from resect.core.errors import ResectError
from resect.core.keras_backend.config_repair import RepairFailed, needs_repair, repaired_config, written_with
from resect.core.keras_backend.formats import FORMATS as _REGISTRY
from resect.core.keras_backend.formats import ExportOptions, format_for_path

__all__ = [
    "FORMATS",
    "AtomicTarget",
    "Cancelled",
    "ExportError",
    "ExportOptions",
    "check_options",
    "is_cancelled",
    "output_size",
    "resolve_format",
    "save_model",
    "write_model",
]

FORMATS = tuple(_REGISTRY)


class ExportError(ResectError):
    """The output cannot be written; names the output path."""


class Cancelled(ResectError):
    """The user cancelled; nothing was written."""


def resolve_format(out: str, fmt: str | None = None) -> str:
    """The format for ``out``: ``fmt`` if given, else from the name (``.keras``, ``.h5`` /
    ``.hdf5``, ``.onnx``, ``.tflite``, or a trailing ``/`` or an existing folder for a
    SavedModel)."""
    if fmt is not None:
        fmt = fmt.lower().replace("_", "")
        if fmt not in FORMATS:
            raise ExportError(f"{out}: unknown format {fmt!r} (use {', '.join(FORMATS)})")
        return fmt
    found = format_for_path(out)
    if found is None:
        suffixes = ", ".join(s for spec in _REGISTRY.values() for s in spec.suffixes[:1])
        raise ExportError(
            f"{out}: cannot tell the format; end the name with {suffixes}, end it with / for a SavedModel, or give --format"
        )
    return found


def check_options(out: str, fmt: str, options: ExportOptions) -> None:
    """Refuse an option the format does not take (``--opset`` for a .tflite) or a value
    its converter cannot write, before any slow work."""
    spec = _REGISTRY[fmt]
    given = {
        "batch_size": options.batch_size is not None,
        "opset": options.opset is not None,
        "float16": options.float16,
    }
    flags = {"batch_size": "--batch-size", "opset": "--opset", "float16": "--float16"}
    for name, used in given.items():
        if used and name not in spec.options:
            takers = [f.name for f in _REGISTRY.values() if name in f.options]
            raise ExportError(f"{out}: {flags[name]} applies to {' and '.join(takers)} output only, not {fmt}")
    if options.batch_size is not None and options.batch_size < 1:
        raise ExportError(f"{out}: --batch-size must be at least 1 (leave it out for a dynamic batch)")
    if options.opset is not None:
        from resect.core.keras_backend.formats.onnx import MAX_OPSET, MIN_OPSET

        if not MIN_OPSET <= options.opset <= MAX_OPSET:
            raise ExportError(
                f"{out}: ONNX opset {options.opset} cannot be written (tf2onnx writes {MIN_OPSET} to {MAX_OPSET})"
            )


class AtomicTarget:
    """A temporary path beside ``out`` that becomes ``out`` only on ``commit()``.

    Used as a context manager: leaving the block without ``commit()`` (an error, a
    cancel) removes whatever was written to the temporary path.
    """

    def __init__(self, out: str | os.PathLike[str], fmt: str, force: bool = False) -> None:
        self.out = os.path.normpath(os.fspath(out))
        self.fmt = fmt
        self.force = force
        check_target(self.out, force)
        folder, name = os.path.split(os.path.abspath(self.out))
        self.path = os.path.join(folder, f".{name}.resect-{os.getpid()}-{uuid.uuid4().hex[:8]}{_REGISTRY[fmt].suffix}")
        self.committed = False

    def __enter__(self) -> AtomicTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.committed:
            self.discard()

    def commit(self) -> None:
        """Move the finished temporary output onto the target."""
        if not os.path.exists(self.path):
            raise ExportError(f"{self.out}: nothing was written")
        try:
            if _REGISTRY[self.fmt].folder or os.path.isdir(self.path):
                self._commit_dir()
            elif self.force:
                if os.path.isdir(self.out):
                    raise ExportError(f"{self.out}: is a folder; cannot replace it with a {self.fmt} file")
                os.replace(self.path, self.out)
            else:
                self._commit_no_clobber()
        except ExportError:
            raise
        except OSError as error:
            raise ExportError(f"{self.out}: cannot be written ({_os_reason(error)})") from None
        self.committed = True

    def discard(self) -> None:
        _remove(self.path)

    def _commit_no_clobber(self) -> None:
        try:
            os.link(self.path, self.out)  # fails if the name exists: never clobbers
        except FileExistsError:
            raise ExportError(f"{self.out}: already exists; use --force to replace it") from None
        except OSError:  # no hard links here (some FUSE / network file systems)
            if os.path.lexists(self.out):
                raise ExportError(f"{self.out}: already exists; use --force to replace it") from None
            os.replace(self.path, self.out)
            return
        os.unlink(self.path)

    def _commit_dir(self) -> None:
        if not os.path.lexists(self.out):
            os.rename(self.path, self.out)
            return
        if not self.force:
            raise ExportError(f"{self.out}: already exists; use --force to replace it")
        folder, name = os.path.split(os.path.abspath(self.out))
        aside = os.path.join(folder, f".{name}.resect-old-{uuid.uuid4().hex[:8]}")
        os.rename(self.out, aside)
        try:
            os.rename(self.path, self.out)
        except OSError:
            os.rename(aside, self.out)  # put the old output back
            raise
        _remove(aside)


def check_target(out: str, force: bool) -> None:
    """Fail early (before any work) if ``out`` cannot be the output."""
    if os.path.lexists(out) and not force:
        raise ExportError(f"{out}: already exists; use --force to replace it")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise ExportError(f"{out}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ExportError(f"{out}: folder {folder} is not writable")


def save_model(model: Any, path: str, fmt: str, label: str | None = None, options: ExportOptions | None = None) -> None:
    """The format's writer (Keras' own ``model.save`` / ``model.export``, see
    ``core.keras_backend.formats``). Errors name ``label`` (the final output) rather than
    the temporary ``path``; a layer the format cannot hold is named."""
    label = label or path
    repairs = _check_round_trip(model, label) if fmt != "savedmodel" else {}
    try:
        with _quiet_keras(), written_with(repairs):  # Keras warns that .h5 is a legacy format: the user asked for it
            _REGISTRY[fmt].write(model, path, options or ExportOptions())
    except ResectError as error:  # a layer the converter cannot translate
        raise ExportError(f"{label}: {error}") from None
    except OSError as error:
        raise ExportError(f"{label}: cannot be written ({_os_reason(error)})") from None
    except Exception as error:  # Keras raises ValueError / TypeError for what it cannot serialise
        cause = error.__cause__ or error.__context__
        if isinstance(cause, OSError):
            raise ExportError(f"{label}: cannot be written ({_os_reason(cause)})") from None
        text = " ".join(str(error).split()) or type(error).__name__
        raise ExportError(f"{label}: Keras cannot save the model as {fmt}: {text[:240]}") from None


def _check_round_trip(model: Any, label: str) -> dict[int, tuple[Any, dict[str, Any]]]:
    """A .keras / .h5 file rebuilds every layer with ``cls.from_config(layer.get_config())``.
    Some library layers cannot (KerasHub 0.32: ``ViTPatchingAndEmbedding``,
    ``LlamaTransformerDecoder``, Gemma's ``RMSNormalization``): each gets a config written
    from its constructor's signature and proven to rebuild it computing the same
    (``config_repair``), returned by ``id`` for ``written_with``; a layer that cannot be
    repaired is named instead of writing a file that would not reload. Nested models are
    rebuilt from their own config (a KerasHub backbone), so only plain layers are tried."""
    repairs: dict[int, tuple[Any, dict[str, Any]]] = {}
    for operation in getattr(model, "operations", ()):
        if hasattr(operation, "layers") or type(operation).__name__ == "InputLayer":
            continue
        if not hasattr(operation, "add_weight"):  # an operation node (x + 3.0): rebuilt by Keras' ops
            continue
        if type(operation).__module__.startswith("keras."):  # Keras' own layers round-trip (and deep
            continue  # models of them would pay for it)
        error = needs_repair(operation)
        if error is None:
            continue
        try:
            repairs[id(operation)] = (operation, repaired_config(operation, operation._inbound_nodes[0]))
        except RepairFailed as failed:
            cls = type(operation)
            text = " ".join(str(error).split()) or type(error).__name__
            raise ExportError(
                f"{label}: layer {operation.name!r} ({cls.__name__} from {cls.__module__}) cannot be rebuilt "
                f"from its own config, so the saved file would not reload: {text[:160]} ({failed})"
            ) from None
    return repairs


@contextlib.contextmanager
def _quiet_keras() -> Iterator[None]:
    from absl import logging as absl_logging

    verbosity = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        absl_logging.set_verbosity(verbosity)


def write_model(
    model: Any,
    out: str | os.PathLike[str],
    fmt: str | None = None,
    force: bool = False,
    cancel: Any = None,
    options: ExportOptions | None = None,
) -> int:
    """Write ``model`` to ``out`` atomically; return the size in bytes written.
    ``cancel`` (a callable or an object with ``is_set()``) is checked before the rename."""
    out = os.fspath(out)
    fmt = resolve_format(out, fmt)
    with AtomicTarget(out, fmt, force) as target:
        save_model(model, target.path, fmt, target.out, options)
        if is_cancelled(cancel):
            raise Cancelled(f"{target.out}: cancelled; nothing was written")
        target.commit()
    return output_size(target.out)


def output_size(path: str) -> int:
    """Bytes of a file, or of every file in a SavedModel folder."""
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files)
    return os.path.getsize(path)


def is_cancelled(cancel: Any) -> bool:
    """``cancel`` is ``None``, a ``threading.Event``-like object or a callable."""
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


def _remove(path: str) -> None:
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.unlink(path)
    except OSError:
        pass


def _os_reason(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return "no space left on device"
    if error.errno == errno.EDQUOT:
        return "disk quota exceeded"
    return error.strerror or str(error)
