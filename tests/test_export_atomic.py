"""Writing is atomic: nothing half-written on failure, a full disk, a failed verification
or a cancel; an existing output is replaced only when forced."""

from __future__ import annotations

import errno
import os
import subprocess
import threading

import h5py
import pytest

from resect.core.keras_backend import export as export_module
from resect.core.keras_backend import verify as verify_module
from resect.core.keras_backend.export import AtomicTarget, Cancelled, ExportError, resolve_format, write_model
from resect.core.keras_backend.pipeline import STAGES, run_apply
from resect.core.keras_backend.verify import VerifyError
from resect.core.surgery.recipe import parse_recipe

CUT = parse_recipe([{"op": "cut", "inputs": ["conv2_block2_out"]}])


def keras():
    from resect.core.keras_backend.runtime import import_keras

    return import_keras()


def listing(folder) -> list[str]:
    return sorted(os.listdir(folder))


def test_existing_output_is_never_replaced_without_force(zoo, tmp_path):
    out = tmp_path / "model.keras"
    out.write_bytes(b"precious")
    with pytest.raises(ExportError, match="already exists; use --force"):
        run_apply(zoo.path("small_resnet", "keras"), CUT, out)
    assert out.read_bytes() == b"precious"
    assert listing(tmp_path) == ["model.keras"]
    result = run_apply(zoo.path("small_resnet", "keras"), CUT, out, force=True)
    assert out.read_bytes()[:2] == b"PK" and result.file_size == out.stat().st_size
    assert listing(tmp_path) == ["model.keras"]
    assert keras().models.load_model(out, compile=False).count_params() == result.params_after.total


def test_savedmodel_folder_is_replaced_only_with_force(zoo, tmp_path):
    out = tmp_path / "saved"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(ExportError, match="already exists"):
        run_apply(zoo.path("small_resnet", "keras"), CUT, str(out) + "/")
    assert listing(out) == ["old.txt"]
    run_apply(zoo.path("small_resnet", "keras"), CUT, str(out) + "/", force=True)
    assert "saved_model.pb" in listing(out) and "old.txt" not in listing(out)
    assert listing(tmp_path) == ["saved"]


def _partial_then_fail(error):
    def save(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as handle:
            handle.write(b"PK\x03\x04 half a model")
        raise error

    return save


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "no space left on device"),
        (ValueError("cannot serialise layer 'x'"), "Keras cannot save the model"),
    ],
)
def test_a_failing_write_leaves_nothing(zoo, tmp_path, monkeypatch, error, message):
    monkeypatch.setattr(keras().Model, "save", _partial_then_fail(error))
    out = tmp_path / "model.keras"
    with pytest.raises(ExportError, match=message) as caught:
        run_apply(zoo.path("small_resnet", "keras"), CUT, out)
    assert str(caught.value).startswith(str(out))  # names the output, not the temporary file
    assert listing(tmp_path) == []


def test_a_full_disk_leaves_nothing(zoo, tmp_path):
    """A real 64 KB tmpfs when this process may mount one, else a simulated ENOSPC."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = (
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True).returncode
        == 0
    )
    try:
        (disk / "keep.txt").write_text("other files stay")
        out = disk / "model.keras"
        if mounted:
            with pytest.raises(ExportError, match="no space left on device"):
                run_apply(zoo.path("small_resnet", "keras"), parse_recipe([{"op": "cut"}]), out)
        else:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(keras().Model, "save", _partial_then_fail(OSError(errno.ENOSPC, "full")))
                with pytest.raises(ExportError, match="no space left on device"):
                    run_apply(zoo.path("small_resnet", "keras"), parse_recipe([{"op": "cut"}]), out)
        assert listing(disk) == ["keep.txt"]
    finally:
        if mounted:
            subprocess.run(["umount", str(disk)], check=True)


def test_a_failed_verification_leaves_nothing(zoo, tmp_path, monkeypatch):
    monkeypatch.setitem(verify_module.TOLERANCES, "float32", -1.0)  # no difference can pass
    out = tmp_path / "model.keras"
    with pytest.raises(VerifyError, match=r"predictions:0:0 differs from the original predictions:0:0 by 0"):
        run_apply(zoo.path("small_resnet", "keras"), CUT, out, verify=True)
    assert listing(tmp_path) == []


@pytest.mark.parametrize("stage", STAGES)
def test_cancel_between_steps_leaves_nothing(zoo, tmp_path, stage):
    cancel = threading.Event()
    seen: list[str] = []

    def progress(name, done, total):
        seen.append(name)
        if name == stage:
            cancel.set()

    with pytest.raises(Cancelled):
        run_apply(
            zoo.path("small_resnet", "keras"), CUT, tmp_path / "m.keras", verify=True, progress=progress, cancel=cancel
        )
    assert seen[-1] == stage and seen == list(STAGES[: STAGES.index(stage) + 1])
    assert listing(tmp_path) == []


def test_progress_reports_every_stage_in_order(zoo, tmp_path):
    calls = []
    run_apply(zoo.path("small_resnet", "keras"), CUT, tmp_path / "m.h5", progress=lambda *a: calls.append(a))
    assert calls == [("reading", 0, 4), ("loading", 1, 4), ("building", 2, 4), ("writing", 3, 4), ("done", 4, 4)]
    with h5py.File(tmp_path / "m.h5") as h5:
        assert "model_config" in h5.attrs


def test_write_model_with_an_explicit_format_and_any_name(tmp_path):
    k = keras()
    inp = k.Input((3,))
    model = k.Model(inp, k.layers.Dense(2)(inp))
    out = tmp_path / "weights.bin"
    size = write_model(model, out, "h5")
    assert size == out.stat().st_size
    with h5py.File(out) as h5:
        assert "model_config" in h5.attrs
    assert listing(tmp_path) == ["weights.bin"]
    with pytest.raises(ExportError, match="already exists"):
        write_model(model, out, "h5")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        write_model(model, tmp_path / "never.keras", cancel=cancel)
    assert listing(tmp_path) == ["weights.bin"]


def test_format_and_folder_checks(tmp_path):
    assert resolve_format("a.keras") == "keras"
    assert resolve_format("a.H5") == "h5"
    assert resolve_format("dir/") == "savedmodel"
    assert resolve_format("anything", "savedmodel") == "savedmodel"
    with pytest.raises(ExportError, match="cannot tell the format"):
        resolve_format("model.bin")
    with pytest.raises(ExportError, match="does not exist"):
        AtomicTarget(tmp_path / "missing" / "m.keras", "keras")


def test_a_name_taken_between_check_and_rename_is_not_clobbered(tmp_path):
    out = tmp_path / "m.keras"
    with AtomicTarget(out, "keras") as target:
        with open(target.path, "wb") as handle:
            handle.write(b"new")
        out.write_bytes(b"someone else's")
        with pytest.raises(ExportError, match="already exists"):
            target.commit()
    assert out.read_bytes() == b"someone else's"
    assert listing(tmp_path) == ["m.keras"]


def test_export_module_has_no_keras_at_import():
    assert "keras" not in export_module.__dict__
