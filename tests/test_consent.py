"""Consent to run code (DESIGN.md section 2): ``--custom-code PATH.py|MODULE`` imports the
user's code in the process that loads Keras, ``--unsafe`` runs Lambda code; neither is
implied. The user's code here writes a marker file (its pid, and whether Qt is loaded in
that process) when it is imported or, for the Lambda, when it runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

ACME = """
import os, sys
import keras
with open(os.environ["ACME_MARKER"], "a") as f:
    f.write(f"{os.getpid()} {'PySide6' in sys.modules}\\n")

@keras.saving.register_keras_serializable(package="acme")
class Scale(keras.layers.Layer):
    def build(self, shape):
        self.w = self.add_weight(shape=(shape[-1],), initializer="random_normal", name="w")

    def call(self, x):
        return x * self.w
"""

MAKE_ACME = """
import sys, keras
sys.path.insert(0, sys.argv[2])
import acme_layers
x = keras.Input((5,), name="x")
h = keras.layers.Dense(4, name="d1")(x)
h = acme_layers.Scale(name="scale")(h)
keras.Model(x, keras.layers.Dense(2, name="head")(h)).save(sys.argv[1])
"""

MAKE_LAMBDA = """
import sys, keras
# the marker path is a constant of the lambda's code (Keras stores bytecode, not closures)
fn = eval(f"lambda t: (open({sys.argv[2]!r}, 'a').write('ran\\\\n'), t * 2.0)[1]")
x = keras.Input((3,), name="x")
h = keras.layers.Lambda(fn, output_shape=(3,), name="double")(x)
keras.Model(x, keras.layers.Dense(2, name="head")(h)).save(sys.argv[1])
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("consent")
    (folder / "acme_layers.py").write_text(ACME)
    (folder / "bad_layers.py").write_text("raise RuntimeError('acme is broken')\n")
    (folder / "plain_layers.py").write_text("import keras\n\nclass Scale(keras.layers.Layer):\n    pass\n")
    env = {**os.environ, "ACME_MARKER": str(folder / "build-marker")}
    for name, code, extra in (("acme", MAKE_ACME, folder), ("lambda", MAKE_LAMBDA, folder / "build-marker")):
        run = subprocess.run(
            [sys.executable, "-c", code, str(folder / f"{name}.keras"), str(extra)],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
    return {"folder": folder, "acme": folder / "acme.keras", "lambda": folder / "lambda.keras"}


def _resect(models, *args: str, marker: str = "marker", env: dict[str, str] | None = None):
    env = {**os.environ, "ACME_MARKER": str(models["folder"] / marker), **(env or {})}
    return subprocess.run(
        [sys.executable, "main.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def _one_line(run) -> str:
    lines = [line for line in run.stderr.splitlines() if line.strip() and line != "loading with Keras..."]
    assert len(lines) == 1, run.stderr
    return lines[0]


def test_custom_layer_without_consent_runs_nothing_and_names_the_flag(models, tmp_path) -> None:
    marker = models["folder"] / "no-consent"
    run = _resect(models, "inspect", str(models["acme"]), "--json", marker="no-consent")
    assert run.returncode == 0
    assert "acme>Scale" in run.stderr and "acme_layers" in run.stderr and "--custom-code" in run.stderr
    run = _resect(models, "apply", str(models["acme"]), _recipe(tmp_path), "-o", str(tmp_path / "o.keras"), marker="no-consent")  # fmt: skip
    assert run.returncode == 2
    line = _one_line(run)
    assert "'scale'" in line and "acme>Scale" in line and "acme_layers" in line and "--custom-code" in line
    assert not marker.exists()


def _recipe(tmp_path: Path, edits: list | None = None) -> str:
    path = tmp_path / "r.resect.json"
    path.write_text(json.dumps({"format": "resect-recipe/1", "edits": edits or []}))
    return str(path)


def test_custom_code_file_loads_the_layer_in_the_keras_process_only(models, tmp_path) -> None:
    code = str(models["folder"] / "acme_layers.py")
    marker = models["folder"] / "with-consent"
    run = _resect(models, "inspect", str(models["acme"]), "--fast", "--custom-code", code, marker="with-consent")
    assert run.returncode == 0 and not marker.exists()  # --fast never loads Keras, so never the code
    run = _resect(models, "inspect", str(models["acme"]), "--json", "--custom-code", code, marker="with-consent")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    scale = next(layer for layer in data["layers"] if layer["name"] == "scale")
    head = next(layer for layer in data["layers"] if layer["name"] == "head")
    assert scale["params"] == 4 and head["nodes"][0]["input_shapes"] == [[None, 4]]
    assert data["total_params"] == 5 * 4 + 4 + 4 + 4 * 2 + 2
    pid, qt = marker.read_text().split()
    assert qt == "False"
    out = tmp_path / "copy.keras"
    run = _resect(models, "apply", str(models["acme"]), _recipe(tmp_path), "-o", str(out), "--verify", "--custom-code", code, marker="with-consent")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "verify: max abs diff 0" in run.stdout
    cut = tmp_path / "cut.keras"
    recipe = _recipe(tmp_path, [{"op": "cut", "outputs": ["scale"]}])
    run = _resect(models, "apply", str(models["acme"]), recipe, "-o", str(cut), "--verify", "--custom-code", code, marker="with-consent")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "params after:  28" in run.stdout


def test_custom_code_as_a_module_name(models) -> None:
    env = {"PYTHONPATH": str(models["folder"])}
    run = _resect(models, "inspect", str(models["acme"]), "--custom-code", "acme_layers", marker="module", env=env)
    assert run.returncode == 0, run.stderr
    assert "Not loadable" not in run.stdout and (models["folder"] / "module").exists()


def test_lambda_runs_only_with_unsafe(models, tmp_path) -> None:
    marker = models["folder"] / "lambda-ran"
    marker.unlink(missing_ok=True)
    base = ["apply", str(models["lambda"]), _recipe(tmp_path), "-o", str(tmp_path / "l.keras"), "--verify"]
    run = subprocess.run(
        [sys.executable, "main.py", *base], cwd=ROOT, capture_output=True, text=True, timeout=300
    )  # the Lambda writes next to where it was built: sys.argv[2] at build time
    line = _one_line(run)
    assert run.returncode == 2 and "'double'" in line and "Lambda" in line and "--unsafe" in line
    built = models["folder"] / "build-marker"
    before = built.read_text().count("ran")  # what building the model in the fixture ran
    run = subprocess.run([sys.executable, "main.py", *base], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert built.read_text().count("ran") == before  # refused again: nothing ran
    run = subprocess.run(
        [sys.executable, "main.py", *base, "--unsafe"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert (models["folder"] / "build-marker").read_text().count("ran") > before
    assert "verify: max abs diff 0" in run.stdout


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("bad_layers.py", ["bad_layers.py", "RuntimeError", "acme is broken"]),
        ("plain_layers.py", ["plain_layers.py", "acme>Scale", "acme_layers", "register_keras_serializable"]),
        ("missing_layers.py", ["missing_layers.py", "no such file"]),
        ("no_such_module_xyz", ["no_such_module_xyz", "no module"]),
    ],
)
def test_bad_custom_code_is_one_line_and_exit_2(models, tmp_path, code, expected) -> None:
    spec = str(models["folder"] / code) if code.endswith(".py") else code
    for command in (["inspect", str(models["acme"])], ["apply", str(models["acme"]), _recipe(tmp_path), "-o", str(tmp_path / "x.keras")]):  # fmt: skip
        run = _resect(models, *command, "--custom-code", spec, marker="bad")
        assert run.returncode == 2, run.stderr
        line = _one_line(run)
        assert all(word in line for word in expected), line
        assert "Traceback" not in run.stderr


def test_gui_worker_imports_the_code_the_window_never_does(models, qtbot) -> None:
    from resect.app.keras_client import KerasClient
    from resect.core.consent import Consent

    marker = models["folder"] / "gui-marker"
    os.environ["ACME_MARKER"] = str(marker)  # the worker inherits it
    client = KerasClient()
    client.consent = Consent((str(models["folder"] / "acme_layers.py"),)).to_json()
    try:
        answers: list[object] = []
        errors: list[str] = []
        client.request("shapes", {"path": str(models["acme"])}, answers.append, errors.append)
        qtbot.waitUntil(lambda: bool(answers or errors), timeout=180_000)
        assert not errors, errors
        assert "scale" in answers[0]["table"]["layers"]
        pid, qt = marker.read_text().split()
        assert int(pid) == client.pid != os.getpid() and qt == "False"
        assert "acme_layers" not in sys.modules  # never imported in this (the window's) process
    finally:
        client.shutdown()
        os.environ.pop("ACME_MARKER", None)


def test_gui_command_line_takes_the_consent_flags() -> None:
    from resect.app.launch import split_consent

    rest, consent = split_consent(["m.keras", "--custom-code", "a.py", "--unsafe", "--custom-code=b"])
    assert rest == ["m.keras"] and consent is not None
    assert consent.custom_code == ("a.py", "b") and consent.unsafe
    assert split_consent(["m.keras", "--custom-code"])[1] is None


# --- convert and activations take the same consent (DESIGN.md section 2) ----------------

COMPARE_ACTIVATIONS = """
import sys, importlib.util, numpy as np, keras
spec = importlib.util.spec_from_file_location("acme_check", sys.argv[3])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
model = keras.saving.load_model(sys.argv[1], compile=False, safe_mode=sys.argv[4] == "safe")
saved = np.load(sys.argv[2])
names = [n for n in saved.files if n.split(":")[0] in {layer.name for layer in model.layers}]
probe = keras.Model(model.inputs, [model.get_layer(n.split(":")[0]).output for n in names])
x = np.load(sys.argv[5])
worst = max(float(np.max(np.abs(np.asarray(a) - saved[n]))) for a, n in zip(probe(x), names))
print(len(names), worst)
"""

MAKE_KERAS2_LAMBDA = """
import sys, tf_keras as k
x = k.Input((3,), name="x")
h = k.layers.Lambda(lambda t: t * 2.0, name="double")(x)
k.Model(x, k.layers.Dense(2, name="head")(h)).save(sys.argv[1])
"""


def _keras_activations(models, model: Path, npz: Path, data: Path, safe: bool) -> tuple[int, float]:
    """Keras' own values of every layer output in ``npz`` (the model loaded by Keras with
    acme_layers imported), and the largest difference from what ``activations`` wrote."""
    code = str(models["folder"] / "acme_layers.py")
    run = subprocess.run(
        [sys.executable, "-c", COMPARE_ACTIVATIONS, str(model), str(npz), code, "safe" if safe else "unsafe", str(data)],
        env={**os.environ, "ACME_MARKER": str(models["folder"] / "compare-marker")},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    count, worst = run.stdout.split()
    return int(count), float(worst)


def test_convert_takes_the_consent_flags(models, tmp_path) -> None:
    code = str(models["folder"] / "acme_layers.py")
    out = tmp_path / "converted.keras"
    run = _resect(models, "convert", str(models["acme"]), "-o", str(out), marker="convert-none")
    assert run.returncode == 2 and not out.exists()
    line = _one_line(run)
    assert "scale" in line and "acme>Scale" in line and "--custom-code" in line
    assert not (models["folder"] / "convert-none").exists()
    run = _resect(models, "convert", str(models["acme"]), "-o", str(out), "--verify", "--custom-code", code, marker="convert")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "verify: max abs diff 0 " in run.stdout and out.exists()
    assert (models["folder"] / "convert").exists()


def test_activations_takes_the_consent_flags(models, tmp_path) -> None:
    import numpy as np

    code = str(models["folder"] / "acme_layers.py")
    data = tmp_path / "x.npy"
    np.save(data, np.random.default_rng(3).normal(size=(2, 5)).astype("float32"))
    out = tmp_path / "acts.npz"
    run = _resect(models, "activations", str(models["acme"]), "--input", str(data), "-o", str(out), marker="act-none")
    assert run.returncode == 2 and not out.exists()
    line = _one_line(run)
    assert "acme>Scale" in line and "--custom-code" in line
    run = _resect(models, "activations", str(models["acme"]), "--input", str(data), "-o", str(out), "--custom-code", code, marker="act")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "scale:0:0" in np.load(out).files
    count, worst = _keras_activations(models, models["acme"], out, data, safe=True)
    assert count == 4 and worst <= 1e-6  # x, d1, scale, head against Keras' own run

    lam_data = tmp_path / "x3.npy"
    np.save(lam_data, np.random.default_rng(4).normal(size=(2, 3)).astype("float32"))
    lam_out = tmp_path / "lambda.npz"
    base = ["activations", str(models["lambda"]), "--input", str(lam_data), "-o", str(lam_out)]
    run = _resect(models, *base, marker="act-lambda")
    assert run.returncode == 2 and "--unsafe" in _one_line(run) and not lam_out.exists()
    run = _resect(models, *base, "--unsafe", marker="act-lambda")
    assert run.returncode == 0, run.stderr
    values = np.load(lam_out)
    assert np.allclose(values["double:0:0"], 2.0 * np.load(lam_data))
    count, worst = _keras_activations(models, models["lambda"], lam_out, lam_data, safe=False)
    assert count == 3 and worst <= 1e-6  # x, double, head


def test_keras2_lambda_converts_only_with_unsafe(models, tmp_path) -> None:
    """A tf.keras 2 file goes through the config upgrade: --unsafe reaches that loader too."""
    h5 = tmp_path / "lambda2.h5"
    run = subprocess.run(
        [sys.executable, "-c", MAKE_KERAS2_LAMBDA, str(h5)], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = tmp_path / "lambda3.keras"
    run = _resect(models, "convert", str(h5), "-o", str(out))
    assert run.returncode == 2 and "'double'" in _one_line(run) and "Lambda" in run.stderr and not out.exists()
    run = _resect(models, "convert", str(h5), "-o", str(out), "--verify", "--unsafe")
    assert run.returncode == 0, run.stderr
    assert "against the original run by" in run.stdout and "NOT VERIFIED" not in run.stdout
    diff = float(run.stdout.split("verify: max abs diff ")[1].split()[0])
    assert diff <= 1e-5
