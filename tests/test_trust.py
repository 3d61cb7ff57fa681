"""Keras' trust rule, exactly (core/trust.py), and root cause 1 of issue 10: code named by
a model file ran because the loading check only looked at a layer's ``module`` prefix.

Every object of a config, at any depth, may only name a module of a genuinely installed
Keras package; a stray ``keras_hub`` first on ``sys.path`` / ``PYTHONPATH`` or in the
working folder is never imported, whatever the command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from resect.core.reader import read_model
from resect.core.trust import layer_problem, module_problem, object_problem, untrusted_objects

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONDONTWRITEBYTECODE": "1"}


# --- the rule itself --------------------------------------------------------------


@pytest.mark.parametrize(
    "module",
    ["keras", "keras.layers", "keras.initializers", "keras.src.applications.convnext", "keras.src.models.functional"],
)
def test_modules_of_installed_keras_are_trusted(module: str) -> None:
    assert module_problem(module) is None


@pytest.mark.parametrize(
    ("module", "words"),
    [
        ("keras_hub.evil", "keras_hub"),  # not installed here: never imported, whatever is on sys.path
        ("keras_cv.evil", "keras_cv"),
        ("keras.evil", "not part of the installed keras"),
        ("kerasx.layers", "outside Keras' packages"),
        ("os", "outside Keras' packages"),
        ("keras..layers", "not part of"),
    ],
)
def test_other_modules_are_refused(module: str, words: str) -> None:
    problem = module_problem(module)
    assert problem is not None and words in problem


def test_lambda_refused_unless_unsafe_and_extra_modules_allowed() -> None:
    assert "Lambda" in (object_problem({"class_name": "Lambda", "config": {}}) or "")
    assert object_problem({"class_name": "Lambda", "config": {}}, unsafe=True) is None
    custom = {"class_name": "Doubler", "module": "my_layers.extra", "config": {}}
    assert object_problem(custom) is not None
    assert object_problem(custom, extra_modules=["my_layers"]) is None
    assert object_problem(custom, extra_modules=["my_layer"]) is not None  # a package, not a prefix
    assert object_problem({"class_name": "function", "module": "builtins", "config": "relu"}) is None
    assert object_problem({"class_name": "Dense", "module": ["keras"], "config": {}}) == "module is not a string"


def _hostile_config() -> dict[str, Any]:
    """Untrusted modules at the root, at a layer, in an initializer, in a __typespec__
    and inside a nested model's layer."""
    evil_init = {"class_name": "Evil", "module": "keras_hub.evil", "config": {}}
    typespec = {"class_name": "__typespec__", "spec_name": "S", "module": "keras_nlp.x", "config": {}}
    inner = {
        "class_name": "Functional",
        "module": "keras.src.models.functional",
        "name": "inner",
        "config": {
            "name": "inner",
            "layers": [{"class_name": "Dense", "module": "evil_pkg", "name": "deep", "config": {"name": "deep"}}],
        },
    }
    dense = {
        "class_name": "Dense",
        "module": "keras.layers",
        "name": "dense",
        "config": {"name": "dense", "kernel_initializer": evil_init, "spec": [typespec]},
    }
    return {"class_name": "Functional", "module": "keras_hub.evil", "config": {"layers": [dense, inner]}}


def test_untrusted_objects_at_every_depth() -> None:
    problems = untrusted_objects(_hostile_config())
    paths = {p.path: p for p in problems}
    assert set(paths) == {
        "model",
        "model/config/layers/dense/config/kernel_initializer",
        "model/config/layers/dense/config/spec/[0]",
        "model/config/layers/inner/config/layers/deep",
    }
    assert paths["model"].module == "keras_hub.evil" and "keras_hub" in paths["model"].line()
    assert paths["model/config/layers/inner/config/layers/deep"].class_name == "Dense"


def test_layer_problem_looks_inside_the_layer_but_not_into_nested_layers() -> None:
    config = _hostile_config()
    dense, inner = config["config"]["layers"]
    problem = layer_problem(dense)
    assert problem is not None and "kernel_initializer" in problem and "Evil" in problem
    assert layer_problem(inner) is None  # its own layer 'deep' carries the problem
    assert "evil_pkg" in (layer_problem(inner["config"]["layers"][0]) or "")


def test_deep_config_does_not_exhaust_the_stack() -> None:
    value: Any = {"class_name": "Evil", "module": "os", "config": {}}
    for _ in range(50_000):
        value = {"class_name": "Wrap", "config": {"inner": value}}
    problems = untrusted_objects(value)
    assert len(problems) == 1 and problems[0].module == "os"


# --- the reader: LayerScale and CustomScaleLayer are no longer "unknown" --------------


@pytest.mark.parametrize(
    ("factory", "cls"), [("ConvNeXtTiny", "LayerScale"), ("InceptionResNetV2", "CustomScaleLayer")]
)
def test_keras_application_layers_from_keras_src_are_loadable(tmp_path: Path, factory: str, cls: str) -> None:
    import keras

    path = tmp_path / f"{factory}.keras"
    getattr(keras.applications, factory)(weights=None).save(path)
    graph = read_model(path)
    of_class = [layer for _, layer in graph.iter_layers_deep() if layer.class_name == cls]
    assert of_class, f"{factory} has no {cls}"
    assert all(layer.module.startswith("keras.src.applications.") for layer in of_class)
    assert [layer.problem for _, layer in graph.iter_layers_deep() if layer.problem] == []


# --- root cause 1: a stray keras_hub first on the path never runs -----------------------


def _fake_keras_hub(where: Path, marker: Path) -> Path:
    """A ``keras_hub`` package (with a dist-info claiming it ships ``keras_hub.evil``)
    whose import writes ``marker``."""
    package = where / "keras_hub"
    package.mkdir(parents=True)
    payload = f"open({str(marker)!r}, 'w').close()\n"
    (package / "__init__.py").write_text(payload)
    (package / "evil.py").write_text(payload + "import keras\nclass Evil(keras.layers.Layer):\n    pass\n")
    info = where / "keras_hub-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: keras-hub\nVersion: 0.1\n")
    (info / "RECORD").write_text("keras_hub/__init__.py,,\nkeras_hub/evil.py,,\n")
    return where


def _rewrite_config(source: Path, target: Path, change) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                change(config)
                data = json.dumps(config).encode()
            new.writestr(item, data)
    return target


def _layer(config: dict[str, Any], name: str) -> dict[str, Any]:
    return next(layer for layer in config["config"]["layers"] if layer["name"] == name)


def _evil_layer(config: dict[str, Any]) -> None:
    _layer(config, "head")["module"] = "keras_hub.evil"  # Keras would import it to find Dense


def _evil_root(config: dict[str, Any]) -> None:
    config["module"] = "keras_hub.evil"


def _evil_initializer(config: dict[str, Any]) -> None:
    initializer = _layer(config, "head")["config"]["kernel_initializer"]
    initializer["module"], initializer["class_name"] = "keras_hub.evil", "Evil"


def _evil_nested_layer(config: dict[str, Any]) -> None:
    _layer(_layer(config, "block"), "dense")["module"] = "keras_hub.evil"


@pytest.fixture(scope="module")
def small_keras(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import keras

    inner_in = keras.Input((4,), name="block_in")
    block = keras.Model(inner_in, keras.layers.Dense(4, name="dense")(inner_in), name="block")
    inp = keras.Input((4,), name="x")
    out = keras.layers.Dense(3, name="head")(block(inp))
    path = tmp_path_factory.mktemp("small") / "small.keras"
    keras.Model(inp, out, name="small").save(path)
    return path


FAKE_FIRST = """
import sys
sys.path.insert(0, sys.argv[1])
from resect.core.trust import TrustRule
rule = TrustRule()
for module in ("keras_hub.evil", "keras_hub.models", "keras.layers"):
    print(module, "=", rule.module_problem(module))
"""


def test_fake_keras_hub_first_on_sys_path_is_not_trusted(tmp_path: Path) -> None:
    """In a process that has not imported keras_hub yet (once it is imported, its loaded
    package is what ``keras_hub.x`` resolves against, so the answer changes rightly)."""
    marker = tmp_path / "ran"
    where = _fake_keras_hub(tmp_path / "path", marker)
    env = {**ENV, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", FAKE_FIRST, str(where)], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    answers = dict(line.split(" = ", 1) for line in done.stdout.splitlines())
    assert answers["keras_hub.evil"] != "None"
    # a real module of keras_hub is refused too: the keras_hub Python would import is the
    # fake one (or, where keras-hub is not installed, there is none to trust)
    problem = answers["keras_hub.models"]
    assert "not the installed package" in problem or "not installed" in problem
    assert answers["keras.layers"] == "None"
    assert not marker.exists()


def test_a_stray_keras_first_on_the_path_is_not_the_installed_one(tmp_path: Path) -> None:
    """Before keras is imported, a ``keras`` folder earlier on the path would be the one
    imported: nothing named ``keras.*`` is trusted then."""
    (tmp_path / "keras").mkdir()
    (tmp_path / "keras" / "__init__.py").write_text("raise SystemExit('imported')\n")
    code = "from resect.core.trust import module_problem; print(module_problem('keras.layers'))"
    env = {**ENV, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "first on the Python path is not the installed package" in done.stdout


@pytest.mark.parametrize(
    "where",
    [_evil_layer, _evil_root, _evil_initializer, _evil_nested_layer],
    ids=["layer", "root", "initializer", "nested_model_layer"],
)
def test_root_cause_1_code_named_by_the_file_never_runs(tmp_path: Path, small_keras: Path, where) -> None:
    marker = tmp_path / "keras_hub_ran"
    fake = _fake_keras_hub(tmp_path / "fake", marker)
    model = _rewrite_config(small_keras, tmp_path / "hostile.keras", where)
    recipe = tmp_path / "r.resect.json"
    recipe.write_text('{"format": "resect-recipe/1", "edits": []}')
    env = {**ENV, "PYTHONPATH": f"{fake}{os.pathsep}{ROOT}"}
    main = str(ROOT / "main.py")
    runs = {
        "inspect": [main, "inspect", str(model)],
        "apply": [main, "apply", str(model), str(recipe), "-o", str(tmp_path / "out.keras"), "--verify"],
        "render": [main, "render", str(model), "-o", str(tmp_path / "out.svg")],
    }
    for command, argv in runs.items():
        # the fake package is both first on PYTHONPATH and in the working folder
        done = subprocess.run([sys.executable, *argv], env=env, cwd=fake, capture_output=True, text=True, timeout=300)
        assert not marker.exists(), f"{command}: the stray keras_hub package was imported"
        assert "Traceback" not in done.stderr, done.stderr
        if command == "apply":
            lines = done.stderr.strip().splitlines()
            assert done.returncode == 2 and len(lines) == 1 and "keras_hub.evil" in lines[0], done.stderr
            assert not (tmp_path / "out.keras").exists()
        elif command == "inspect":
            assert done.returncode == 0 and "keras_hub.evil" in done.stderr, done.stderr
        else:
            assert done.returncode == 0, done.stderr


def _prescan_config(layers: int) -> str:
    dense = {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 2}}
    return json.dumps({"module": "keras", "class_name": "Functional", "config": {"layers": [dense] * layers}})


@pytest.mark.parametrize(
    "insert",
    [
        None,
        '{"module": "keras.layers", "class_name": "Lambda", "config": {}}',
        '{"module": "keras.layers", "class_name": "Dense", "config": {"activation": {"class_name": "__lambda__"}}}',
        '{"module": "evil.pkg", "class_name": "Dense", "config": {}}',
        '{"module":"keras.layers", "class_name": "Dense", "config": {}}',
        '{"module": null, "class_name": "Dense", "config": {}}',
        '{"modul\\u0065": "evil", "class_name": "Dense", "config": {}}',
    ],
)
@pytest.mark.parametrize("slice_size", [7, 50, 333])
def test_prescan_in_slices_answers_as_one_scan(monkeypatch, insert, slice_size) -> None:
    """The prescan reads the text a slice at a time (the UI thread gets the GIL between
    slices); what it says must not depend on where the slices fall."""
    import resect.core.trust as trust

    base = _prescan_config(40)
    for at in range(len(base) // 2, len(base) // 2 + 80, 11):
        cut = base.index('{"module": "keras.layers"', at)  # before a layer
        text = base if insert is None else base[:cut] + insert + ", " + base[cut:]
        json.loads(text)
        monkeypatch.setattr(trust, "_SLICE", 1 << 30)
        whole = trust.TrustRule().prescan(text)
        monkeypatch.setattr(trust, "_SLICE", slice_size)
        assert trust.TrustRule().prescan(text) == whole, (insert, at)
        assert whole == (insert is None or '"module": null' in insert)


def test_in_a_pyinstaller_bundle_the_bundled_packages_are_the_installed_ones(monkeypatch, tmp_path: Path) -> None:
    """A frozen app has no site-packages or ``.dist-info``: a module is trusted when the
    bundle's archive holds it and the package Python would import lies inside the bundle."""
    import types

    import keras  # noqa: F401 - find_spec then answers from the loaded package

    from resect.core import trust

    site_packages = Path(keras.__file__).resolve().parent.parent
    archive = types.SimpleNamespace(toc={"keras": None, "keras.layers": None})
    monkeypatch.setitem(sys.modules, "pyimod02_importers", types.SimpleNamespace(pyz_archive=archive))
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(site_packages), raising=False)
    trust._module_problem.cache_clear()
    try:
        assert trust.TrustRule().module_problem("keras.layers") is None
        assert "not part of the bundled keras package" in trust.TrustRule().module_problem("keras.evil")
        monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path))  # the keras Python would import is elsewhere
        trust._module_problem.cache_clear()
        assert "not the bundled package" in trust.TrustRule().module_problem("keras.layers")
    finally:
        trust._module_problem.cache_clear()
