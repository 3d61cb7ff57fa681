"""Packaging: the wheel installs working commands that find their resources, and the Linux
desktop files validate with the Debian tools CI installs (tools/install_system_deps.sh)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import threading
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from resect.core.version import __version__

ROOT = Path(__file__).resolve().parent.parent
LINUX = ROOT / "packaging" / "linux"
APP_ID = "io.github.resect.Resect"
DESKTOP = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"
MIME_XML = LINUX / f"{APP_ID}.mime.xml"
DEMO_TOTAL_PARAMS = 31242  # keras.models.load_model(demo).count_params(); tests/test_demo_model.py checks it
# Left out of the copy of the checkout that gets built: venvs, caches, build output, tests.
TOP_LEVEL_IGNORE = {".venv", ".git", "build", "dist", ".ruff_cache", ".pytest_cache", "bench", "tests"}


def _copy_ignore(directory: str, names: list[str]) -> set[str]:
    ignored = {name for name in names if name == "__pycache__" or name.endswith(".egg-info")}
    if Path(directory) == ROOT:
        ignored |= TOP_LEVEL_IGNORE & set(names)
    return ignored


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    if os.sep not in cmd[0] and shutil.which(cmd[0]) is None:  # say how to get it, not FileNotFoundError
        pytest.fail(f"{cmd[0]} is not installed: `make setup` installs it (tools/install_system_deps.sh)")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)


def _desktop_entry(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if "=" in line)


# --- Linux desktop integration -------------------------------------------------------------


def test_desktop_entry_validates_without_any_remark():
    result = _run(["desktop-file-validate", str(DESKTOP)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout  # not even a hint


def test_desktop_entry_opens_keras_and_h5_files_with_the_gui():
    entry = _desktop_entry(DESKTOP)
    assert entry["Exec"] == "resect-gui %f"
    assert entry["Icon"] == APP_ID
    mime_types = set(filter(None, entry["MimeType"].split(";")))
    # application/x-keras is ours (MIME_XML); .h5 is application/x-hdf in shared-mime-info
    assert mime_types == {"application/x-keras", "application/x-hdf"}
    system_mime = Path("/usr/share/mime/packages/freedesktop.org.xml")
    assert '<glob pattern="*.h5"/>' in system_mime.read_text(encoding="utf-8").split('type="application/x-hdf"')[1]


def test_metainfo_validates_and_names_the_current_version():
    result = _run(["appstreamcli", "validate", "--no-net", "--pedantic", str(METAINFO)])
    assert result.returncode == 0, result.stdout + result.stderr
    # Valid means no error and no warning; pedantic and info remarks (their wording changes
    # between appstream releases, e.g. cid-contains-uppercase-letter) do not make it invalid.
    problems = [line for line in result.stdout.splitlines() if re.match(r"^[EW]: ", line)]
    assert problems == [], result.stdout
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP.name
    assert root.find("releases/release").get("version") == __version__


def test_every_place_names_the_same_app_id():
    from resect import resources

    sys.path.insert(0, str(LINUX))
    try:
        import make_icons
    finally:
        sys.path.remove(str(LINUX))
    assert resources.APP_ID == make_icons.APP_ID == APP_ID
    assert _desktop_entry(DESKTOP)["Icon"] == APP_ID
    assert ET.parse(METAINFO).getroot().findtext("id") == APP_ID


def test_install_script_registers_mime_types_icons_and_exec(tmp_path):
    datadir = tmp_path / "share"
    env = {**os.environ, "EXEC": "/opt/resect/resect"}
    result = _run(["bash", str(LINUX / "install.sh"), str(datadir)], env=env)
    assert result.returncode == 0, result.stderr
    installed = _desktop_entry(datadir / "applications" / DESKTOP.name)
    assert installed["Exec"] == "/opt/resect/resect %f"
    assert installed["TryExec"] == "/opt/resect/resect"
    assert _run(["desktop-file-validate", str(datadir / "applications" / DESKTOP.name)]).returncode == 0
    # update-mime-database compiled our definition: *.keras -> application/x-keras
    assert "application/x-keras:*.keras" in (datadir / "mime" / "globs2").read_text()
    assert (datadir / "mime" / "subclasses").read_text().strip() == "application/x-keras application/zip"
    cache = (datadir / "applications" / "mimeinfo.cache").read_text()
    assert f"application/x-keras={DESKTOP.name};" in cache
    assert f"application/x-hdf={DESKTOP.name};" in cache
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        assert (datadir / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png").is_file()
    assert (datadir / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    assert (datadir / "metainfo" / METAINFO.name).read_bytes() == METAINFO.read_bytes()

    removed = _run(["bash", str(LINUX / "install.sh"), "--uninstall", str(datadir)])
    assert removed.returncode == 0, removed.stderr
    left = {p.relative_to(datadir).as_posix() for p in datadir.rglob("*") if p.is_file()}
    assert not any(APP_ID in name for name in left), left
    assert "keras" not in (datadir / "mime" / "globs2").read_text()
    assert "application/x-keras" not in (datadir / "applications" / "mimeinfo.cache").read_text()


def test_install_script_refuses_an_exec_that_would_break_the_entry(tmp_path):
    result = _run(["bash", str(LINUX / "install.sh"), str(tmp_path)], env={**os.environ, "EXEC": "/opt/my app/resect"})
    assert result.returncode == 2
    assert "EXEC" in result.stderr
    assert not (tmp_path / "applications").exists()


def test_committed_icons_are_rendered_from_the_svg(tmp_path, qapp):
    """The PNGs in packaging/linux/icons are what make_icons.py draws from resources/resect.svg now.
    ``qapp``: the process's Qt application is a QApplication, as the GUI tests that may run
    next in this process need (make_icons alone would start a QGuiApplication)."""
    sys.path.insert(0, str(LINUX))
    try:
        import make_icons
    finally:
        sys.path.remove(str(LINUX))
    from PySide6.QtGui import QImage

    fresh = make_icons.make_icons(tmp_path)
    assert len(fresh) == len(make_icons.SIZES) + 1
    for path in fresh:
        committed = LINUX / "icons" / path.relative_to(tmp_path)
        if path.suffix == ".svg":
            assert committed.read_bytes() == (ROOT / "resources" / "resect.svg").read_bytes()
            continue
        new, old = QImage(str(path)), QImage(str(committed))
        size = int(path.parent.parent.name.split("x")[0])
        assert (old.width(), old.height()) == (size, size), committed
        assert new.convertToFormat(QImage.Format.Format_ARGB32) == old.convertToFormat(QImage.Format.Format_ARGB32), (
            f"{committed} is stale: run python packaging/linux/make_icons.py"
        )
        assert old.pixelColor(size // 2, size // 2).alpha() == 255  # the icon is drawn, not blank


# --- the wheel ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """sdist and wheel from ``python -m build`` on a copy of the checkout (the wheel is built
    from the sdist, so a file missing from either shows up)."""
    work = tmp_path_factory.mktemp("build")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=_copy_ignore)
    out = work / "dist"
    result = _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = out.glob("resect-*.whl")
    (sdist,) = out.glob("resect-*.tar.gz")
    return {"wheel": wheel, "sdist": sdist, "source": source}


@pytest.fixture(scope="module")
def fresh_venv(built, tmp_path_factory) -> Path:
    """A new virtualenv holding only the wheel; it sees the heavy dependencies (TensorFlow,
    Qt) through a .pth line pointing at the project venv, so nothing is downloaded or copied.
    The .pth is written after pip ran, so pip never sees (or touches) the project venv."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    assert _run([sys.executable, "-m", "venv", "--without-pip", str(venv)]).returncode == 0
    python = venv / "bin" / "python"
    result = _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(built["wheel"])]
    )
    assert result.returncode == 0, result.stderr
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    (site / "zz_resect_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    # Another distribution's generic top-level package beside Resect: neither may shadow the other.
    (site / "core").mkdir()
    (site / "core" / "__init__.py").write_text('OWNER = "someone-else"\n')
    return venv


DEMO_PATH = "from resect import resources; print(resources.demo_model_path())"


def _outside_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["HOME"] = str(tmp_path)  # no user site-packages, no caches from the checkout
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return env


def test_wheel_carries_code_resources_and_both_entry_points(built):
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = set(wheel.namelist())
        entry_points = wheel.read(f"resect-{__version__}.dist-info/entry_points.txt").decode()
        metadata = wheel.read(f"resect-{__version__}.dist-info/METADATA").decode()
        demo = wheel.read("resect/resources/demo_model.keras")
    # one top-level import name: nothing generic (core, app, cli, resources, main) in site-packages
    assert {name.split("/")[0] for name in names} == {"resect", f"resect-{__version__}.dist-info"}
    for required in (
        "resect/__init__.py",
        "resect/cli/main.py",
        "resect/core/version.py",
        "resect/resources/__init__.py",
        "resect/resources/resect.svg",
    ):
        assert required in names
    assert demo == (ROOT / "resources" / "demo_model.keras").read_bytes()
    shipped = {  # every icon, style sheet and model under resources/, whoever added it
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "resources").rglob("*")
        if path.suffix in {".keras", ".svg", ".qss", ".png", ".json"} and "__pycache__" not in path.parts
    }
    assert {f"resect/{name}" for name in shipped} - names == set()
    assert not any(name.startswith(("tests/", "packaging/", ".venv")) for name in names)
    assert re.search(r"^\[console_scripts\]\nresect = resect\.cli\.main:main$", entry_points, re.M)
    assert re.search(r"^\[gui_scripts\]\nresect-gui = resect\.app\.launch:main$", entry_points, re.M)
    assert f"Version: {__version__}" in metadata
    assert "Requires-Dist: tensorflow-cpu==2.21.0" in metadata


def test_sdist_carries_the_desktop_files_for_packagers(built):
    with tarfile.open(built["sdist"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for required in (
        f"packaging/linux/{DESKTOP.name}",
        f"packaging/linux/{METAINFO.name}",
        f"packaging/linux/{MIME_XML.name}",
        f"packaging/linux/icons/hicolor/512x512/apps/{APP_ID}.png",
        "packaging/linux/install.sh",
        "packaging/pyinstaller/resect.spec",
        "resect/resources/demo_model.keras",  # the links under resect/ are stored as the files
        "pyproject.toml",
    ):
        assert required in names, required
    assert not any("__pycache__" in name for name in names)


def test_pip_install_dot_builds_the_same_wheel(built, tmp_path):
    """`pip install .` builds its wheel straight from the tree (no sdist step): same files."""
    result = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(built["source"]),
        ]
    )
    assert result.returncode == 0, result.stderr
    (pip_wheel,) = tmp_path.glob("resect-*.whl")
    with zipfile.ZipFile(pip_wheel) as from_pip, zipfile.ZipFile(built["wheel"]) as from_build:
        assert sorted(from_pip.namelist()) == sorted(from_build.namelist())
        assert from_pip.read("resect/resources/demo_model.keras") == from_build.read(
            "resect/resources/demo_model.keras"
        )


def test_installed_wheel_runs_from_outside_the_checkout(fresh_venv, tmp_path):
    """`resect --version` and `resect inspect` on the demo model, run from a temp dir, use the
    wheel's own code and the demo model that the wheel installed."""
    env, bin_dir = _outside_env(tmp_path), fresh_venv / "bin"
    site = _run([str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout
    where = _run(
        [
            str(bin_dir / "python"),
            "-c",
            "import resect.core, core; from resect import resources;"
            " print(resect.core.__file__); print(resources.demo_model_path()); print(core.OWNER)",
        ],
        cwd=tmp_path,
        env=env,
    )
    assert where.returncode == 0, where.stderr
    core_file, demo, other_core = where.stdout.split()
    assert Path(core_file).is_relative_to(site.strip())  # the wheel's copy, not the checkout's
    assert other_core == "someone-else"  # the other distribution's `core` is untouched by Resect
    assert Path(demo).is_relative_to(site.strip()) and Path(demo).is_file()

    version = _run([str(bin_dir / "resect"), "--version"], cwd=tmp_path, env=env)
    assert (version.returncode, version.stdout.strip()) == (0, f"resect {__version__}"), version.stderr

    inspect = _run([str(bin_dir / "resect"), "inspect", "--fast", "--json", demo], cwd=tmp_path, env=env)
    assert inspect.returncode == 0, inspect.stderr
    summary = json.loads(inspect.stdout)
    assert summary["total_params"] == DEMO_TOTAL_PARAMS
    assert [layer["name"] for layer in summary["layers"]][-1] == "predictions"

    table = _run([str(bin_dir / "resect"), "inspect", demo], cwd=tmp_path, env=env)  # with TensorFlow
    assert table.returncode == 0, table.stderr
    assert "shared_embed" in table.stdout
    assert re.search(r"^Total params: 31,242\b", table.stdout, re.M), table.stdout[-500:]


def test_installed_wheel_applies_a_recipe_and_verifies(fresh_venv, tmp_path):
    """Surgery from the installed wheel: a new input size and a 2-class head on the demo model."""
    python, resect = fresh_venv / "bin" / "python", fresh_venv / "bin" / "resect"
    demo = _run([str(python), "-c", DEMO_PATH], cwd=tmp_path).stdout
    recipe = tmp_path / "two_classes.resect.json"
    head = [{"class_name": "Dense", "config": {"units": 2, "activation": "softmax"}}]
    edits = [
        {"op": "set_input_shape", "input": "image", "shape": [64, 64, 3]},
        {"op": "replace_head", "at": "embed_concat", "layers": head},
    ]
    recipe.write_text(json.dumps({"format": "resect-recipe/1", "edits": edits}))
    out = tmp_path / "two_classes.keras"
    result = _run(
        [str(resect), "apply", demo.strip(), str(recipe), "-o", str(out), "--verify"],
        cwd=tmp_path,
        env=_outside_env(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"^verify: max abs diff", result.stdout, re.M), result.stdout
    summary = json.loads(
        _run([str(resect), "inspect", "--fast", "--json", str(out)], cwd=tmp_path, env=_outside_env(tmp_path)).stdout
    )
    assert summary["total_params"] == DEMO_TOTAL_PARAMS - 970 + (96 * 2 + 2)  # 10-class head -> 2-class head


def test_installed_keras_worker_answers_from_the_wheel(fresh_venv, tmp_path):
    """The app's Keras worker (``sys.executable -m resect.core.keras_backend.service``, started by
    app/keras_client.py) runs from the installed wheel and loads the installed demo model."""
    python = fresh_venv / "bin" / "python"
    demo = _run([str(python), "-c", DEMO_PATH], cwd=tmp_path).stdout
    worker = subprocess.Popen(
        [str(python), "-m", "resect.core.keras_backend.service"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        env=_outside_env(tmp_path),
    )
    watchdog = threading.Timer(180, worker.kill)  # a silent, hung worker ends the read loop
    watchdog.start()
    try:
        worker.stdin.write(json.dumps({"id": 1, "op": "shapes", "path": demo.strip()}) + "\n")
        worker.stdin.flush()
        events = []
        for line in worker.stdout:
            events.append(json.loads(line))
            if events[-1].get("id") == 1 and events[-1]["event"] in ("done", "failed", "cancelled"):
                break
        worker.stdin.close()
        assert worker.wait(timeout=120) == 0
    finally:
        watchdog.cancel()
        if worker.poll() is None:
            worker.kill()
    assert events[0] == {"event": "ready"}
    assert events[-1]["event"] == "done", events[-1]


@pytest.mark.parametrize("command", ["resect-gui", "resect"])
def test_installed_gui_opens_the_demo_model(fresh_venv, tmp_path, command):
    """Both GUI entry points start the app on the wheel's demo model and draw its graph
    (app/launch.py's benchmark switch quits right after the first paint)."""
    env = {**_outside_env(tmp_path), "QT_QPA_PLATFORM": "offscreen", "RESECT_BENCH_EXIT_AFTER_DRAW": "1"}
    result = _run([str(fresh_venv / "bin" / command)], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"^drawn_after_s=\d+\.\d+$", result.stdout, re.M), result.stdout
    assert "Traceback" not in result.stderr


def test_installed_gui_opens_a_file_as_the_desktop_entry_passes_it(fresh_venv, tmp_path):
    """``Exec=resect-gui %f``: a file manager passes one path, spaces and all."""
    model = tmp_path / "my models" / "demo copy.keras"
    model.parent.mkdir()
    shutil.copyfile(ROOT / "resources" / "demo_model.keras", model)
    env = {**_outside_env(tmp_path), "QT_QPA_PLATFORM": "offscreen", "RESECT_BENCH_EXIT_AFTER_DRAW": "1"}
    exec_line = _desktop_entry(DESKTOP)["Exec"].split()
    assert exec_line == ["resect-gui", "%f"]
    result = _run([str(fresh_venv / "bin" / exec_line[0]), str(model)], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"^drawn_after_s=\d+\.\d+$", result.stdout, re.M), result.stdout
    # the path really is what gets opened: a file that is no model fails (exit 2), no crash
    bogus = tmp_path / "my models" / "notes.keras"
    bogus.write_text("not a model")
    failed = _run([str(fresh_venv / "bin" / exec_line[0]), str(bogus)], cwd=tmp_path, env=env)
    assert (failed.returncode, failed.stdout) == (2, ""), failed.stderr[-2000:]
    assert "Traceback" not in failed.stderr


def test_installed_wheel_reports_a_bad_model_in_one_line(fresh_venv, tmp_path):
    bogus = tmp_path / "not_a_model.keras"
    bogus.write_text("hello")
    result = _run(
        [str(fresh_venv / "bin" / "resect"), "inspect", "--fast", str(bogus)], cwd=tmp_path, env=_outside_env(tmp_path)
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and str(bogus) in result.stderr


def test_bundle_names_every_command_module():
    """The CLI imports the one command module it runs by name, so PyInstaller's import scan
    cannot see them: the spec must list every one."""
    from resect.cli.main import COMMANDS

    spec = (ROOT / "packaging" / "pyinstaller" / "resect.spec").read_text()
    assert [name for name in COMMANDS if f'"resect.cli.{name}_cmd"' not in spec] == []
