"""The whole ``apply`` flow: read, edit, load, build, write, verify, publish.

The output is written to a temporary file beside the target, verified by reloading
*that* file, and only then renamed onto the target: a failed verification, an error
or a cancel leaves nothing behind. ``progress(stage, done, total)`` is called before
each step (the CLI prints a line, the GUI moves a bar); ``cancel`` (a
``threading.Event`` or a callable returning ``True``) is checked between steps.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from resect.core.consent import NO_CONSENT, Consent
from resect.core.errors import ResectError
from resect.core.graph import ModelGraph
from resect.core.keras_backend.build import BuildError, BuiltModel, ReinitializeError, build
from resect.core.keras_backend.export import (
    AtomicTarget,
    Cancelled,
    ExportOptions,
    check_options,
    check_target,
    is_cancelled,
    output_size,
    resolve_format,
    save_model,
)
from resect.core.keras_backend.verify import VerifyError, VerifyReport, verify_export
from resect.core.tensor_ref import TensorRef

__all__ = ["STAGES", "ApplyResult", "Cancelled", "ParamCounts", "build_edited", "run_apply"]

Progress = Callable[[str, int, int], None]
STAGES = ("reading", "loading", "building", "writing", "verifying")


@dataclass(frozen=True)
class ParamCounts:
    total: int
    trainable: int
    non_trainable: int


@dataclass
class ApplyResult:
    out: str
    format: str
    params_before: ParamCounts
    params_after: ParamCounts
    file_size: int
    verify: VerifyReport | None = None
    reinitialized: dict[str, list[str]] = field(default_factory=dict)  # layer -> variables left fresh
    seconds: dict[str, float] = field(default_factory=dict)  # per stage
    check: Any = None  # what ``check`` returned (convert: the report against tf.keras 2)


def run_apply(
    model_path: str | os.PathLike[str],
    edits: Sequence[Any],
    out: str | os.PathLike[str],
    fmt: str | None = None,
    verify: bool = False,
    force: bool = False,
    progress: Progress | None = None,
    cancel: Any = None,
    original: ModelGraph | None = None,
    check: Callable[[str, str], Any] | None = None,
    consent: Consent = NO_CONSENT,
    options: ExportOptions | None = None,
) -> ApplyResult:
    """Apply ``edits`` to the model at ``model_path`` and write the result to ``out``.

    Raises a one-line ``ResectError``: ``EditError`` / ``BuildError`` name the edit
    (index and op) and the layer or tensor at fault, ``ExportError`` the output,
    ``VerifyError`` the tensor that differs, ``Cancelled`` after a cancel. ``original``
    is our reading of ``model_path`` when the caller already has it (CLI, GUI document).
    ``check(written_path, fmt)``, when given, runs on the written file before it is
    published (``convert`` compares it with tf.keras 2 there); raising stops the publish.
    ``consent`` (``--custom-code`` / ``--unsafe``) is acted on when Keras loads the model.
    ``options`` are the deployment formats' choices (batch size, ONNX opset, float16).
    """
    from resect.core.keras_backend.loading import load_keras_model
    from resect.core.reader import read_model
    from resect.core.surgery.apply import apply_edits

    model_path, out = os.fspath(model_path), os.fspath(out)
    fmt = resolve_format(out, fmt)
    options = options or ExportOptions()
    check_options(out, fmt, options)
    check_target(out, force)  # before any slow work
    stages = [s for s in STAGES if verify or s != "verifying"]
    clock = _Clock(stages, progress, cancel)

    clock.step("reading")
    if original is None:
        original = read_model(model_path)
    code_defined = original.code_defined is not None and not original.layers
    if not code_defined:
        edited = apply_edits(original, list(edits))

    clock.step("loading")
    keras_model = load_keras_model(model_path, original, consent)
    if code_defined:  # a KerasHub model: its layer graph exists once Keras built it
        from resect.core.keras_backend.loading import fill_shapes

        original = fill_shapes(original, keras_model)
        edited = apply_edits(original, list(edits))

    clock.step("building")
    before = _counts(keras_model)
    built = build_edited(keras_model, original, edited, edits)
    try:
        after = _counts(built.model)
        shapes = _new_input_shapes(original, edited, edits)
        report, target, checked = _write(
            keras_model,
            original,
            edited,
            built,
            out,
            fmt,
            force,
            verify,
            shapes,
            clock,
            check,
            options,
            not consent.unsafe,
        )
    finally:
        built.restore_trainable()  # the loaded model may be reused (the GUI caches it)
    clock.finish()
    return ApplyResult(
        target.out,
        fmt,
        before,
        after,
        output_size(target.out),
        report,
        dict(built.reinitialized),
        clock.seconds,
        checked,
    )


def _write(
    keras_model: Any,
    original: ModelGraph,
    edited: ModelGraph,
    built: BuiltModel,
    out: str,
    fmt: str,
    force: bool,
    verify: bool,
    input_shapes: dict[str, tuple[int | None, ...]],
    clock: _Clock,
    check: Callable[[str, str], Any] | None = None,
    options: ExportOptions | None = None,
    safe_mode: bool = True,
) -> tuple[VerifyReport | None, AtomicTarget, Any]:
    """Save to a temporary file, verify that file, then publish it under ``out``."""
    options = options or ExportOptions()
    report = checked = None
    with AtomicTarget(out, fmt, force) as target:
        clock.step("writing")
        save_model(built.model, target.path, fmt, target.out, options)
        if verify:
            clock.step("verifying")
            try:
                report = verify_export(
                    keras_model,
                    original,
                    edited,
                    built,
                    target.path,
                    fmt,
                    input_shapes=input_shapes,
                    options=options,
                    safe_mode=safe_mode,
                )
            except ResectError:
                raise
            except Exception as error:  # a Keras failure reloading or running the export
                text = " ".join(str(error).split())[:240] or type(error).__name__
                raise VerifyError(f"verification could not run: {text}") from None
            if check is not None:
                checked = check(target.path, fmt)
        clock.check_cancel()
        target.commit()
    return report, target, checked


class _Clock:
    """Progress reports, per-stage timings and cancel checks between steps."""

    def __init__(self, stages: list[str], progress: Progress | None, cancel: Any) -> None:
        self.stages = stages
        self.progress = progress
        self.cancel = cancel
        self.seconds: dict[str, float] = {}
        self._current: str | None = None
        self._start = time.perf_counter()

    def step(self, stage: str) -> None:
        self.check_cancel()
        self._close()
        self._current = stage
        if self.progress is not None:
            self.progress(stage, self.stages.index(stage), len(self.stages))

    def check_cancel(self) -> None:
        if is_cancelled(self.cancel):
            raise Cancelled("cancelled; nothing was written")

    def finish(self) -> None:
        self._close()
        if self.progress is not None:
            self.progress("done", len(self.stages), len(self.stages))

    def _close(self) -> None:
        now = time.perf_counter()
        if self._current is not None:
            self.seconds[self._current] = now - self._start
        self._start = now


def build_edited(keras_model: Any, original: ModelGraph, edited: ModelGraph, edits: Sequence[Any]) -> BuiltModel:
    """``build.build`` of ``edited`` (``original`` after ``edits``) from the loaded model,
    with the re-initialising the recipe accepts; a failure names the edit it comes from.
    The one way apply and the activations probe build an edited model."""
    try:
        return build(keras_model, edited, _reinitialize(edits))
    except BuildError as error:
        raise _with_edit(error, original, edits) from None


def _reinitialize(edits: Sequence[Any]) -> set[str]:
    """Every layer name (or ``"*"``) the recipe's ``set_input_shape`` edits accept re-initialising."""
    names: set[str] = set()
    for edit in edits:
        names.update(getattr(edit, "reinitialize", ()) or ())
    return names


def _new_input_shapes(
    original: ModelGraph, edited: ModelGraph, edits: Sequence[Any]
) -> dict[str, tuple[int | None, ...]]:
    """Original input name -> the batch shape the recipe's ``set_input_shape`` gave it."""
    shapes: dict[str, tuple[int | None, ...]] = {}
    original_inputs = {ref.layer for ref in original.inputs}
    for edit in edits:
        if getattr(edit, "op", "") != "set_input_shape":
            continue
        name = TensorRef.parse(edit.input).layer
        if name not in original_inputs and edited.has_layer(name) and edited.layer(name).origin:
            name = edited.layer(name).origin[0]  # renamed by an earlier edit
        if name in original_inputs:
            shapes[name] = (edit.batch_size, *edit.shape)
    return shapes


def _with_edit(error: BuildError, original: ModelGraph, edits: Sequence[Any]) -> BuildError:
    """Name the edit (index and op) a build failure comes from: the one that introduced
    the layer at fault, or for a lost weight / shape failure the input-shape change."""
    index = _edit_introducing(error.layer, original, edits)
    if index is None or isinstance(error, ReinitializeError):
        shape_edits = [i for i, e in enumerate(edits) if getattr(e, "op", "") == "set_input_shape"]
        index = shape_edits[-1] if shape_edits else index
    if index is None:
        return error
    error.args = (f"edit {index} ({edits[index].op}): {error}",)
    return error


def _edit_introducing(layer: str, original: ModelGraph, edits: Sequence[Any]) -> int | None:
    """The first edit after which ``layer`` exists as a new or renamed layer."""
    from resect.core.surgery.apply import apply_edits

    if original.has_layer(layer) and original.layer(layer).origin == (layer,):
        return None
    for index in range(len(edits)):
        try:
            graph = apply_edits(original, list(edits[: index + 1]))
        except ResectError:
            return None
        if graph.has_layer(layer):
            return index
    return None


def _counts(model: Any) -> ParamCounts:
    """Keras' own counts (a shared variable counted once)."""
    import numpy as np

    total = int(model.count_params())
    trainable = int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
    return ParamCounts(total, trainable, total - trainable)
