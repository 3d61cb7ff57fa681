"""Issue 10, hostile input: one regression test per root cause (root cause 1, code named
by the file, is in tests/test_trust.py). Each runs the real CLI on a file built from a
model Keras saved, changed the way an attacker would, and asserts the contract: exit 0
or 2, one stderr line on 2 naming the file or edit, no traceback, quickly, outputs kept.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import h5py
import numpy as np
import pytest
from fuzz_engine import build_seeds, container_case, keras_config, write_h5_config, write_keras

from resect.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_seeds(tmp_path_factory.mktemp("seeds"))


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def refused(code: int, err: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], lines[0]


def run_subprocess(*argv: str, timeout: float = 30) -> tuple[int, str, str, float]:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *argv], capture_output=True, text=True, timeout=timeout, env=ENV
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - start


def with_config(seeds: dict[str, Path], tmp: Path, change) -> Path:
    config = keras_config(seeds["keras"])
    change(config)
    return write_keras(seeds["keras"], tmp / "hostile.keras", config)


def layer(config: dict[str, Any], name: str) -> dict[str, Any]:
    return next(entry for entry in config["config"]["layers"] if entry["name"] == name)


def history(config: dict[str, Any], name: str) -> list[Any]:
    return layer(config, name)["inbound_nodes"][0]["args"][0]["config"]["keras_history"]


# --- root cause 2: an output replaced without --force -------------------------------------


def test_root_cause_2_render_never_replaces_a_dangling_symlink(seeds, tmp_path: Path) -> None:
    out = tmp_path / "graph.svg"
    out.symlink_to(tmp_path / "elsewhere.svg")
    code, _, err = cli("render", str(seeds["keras"]), "-o", str(out))
    refused(code, err, "already exists")
    assert out.is_symlink() and not (tmp_path / "elsewhere.svg").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["graph.svg"]  # nothing partial left
    code, _, err = cli("render", str(seeds["keras"]), "-o", str(out), "--force")
    assert code == 0 and not out.is_symlink(), err
    ElementTree.parse(out)


def test_root_cause_2_one_rule_for_every_output(seeds, tmp_path: Path) -> None:
    from resect.core.atomic import OutputError, write_text_atomically

    recipe = tmp_path / "r.resect.json"
    recipe.write_text('{"format": "resect-recipe/1", "edits": []}')
    for name in ("a.keras", "b.png"):
        (tmp_path / name).symlink_to(tmp_path / f"missing-{name}")
    code, _, err = cli("apply", str(seeds["keras"]), str(recipe), "-o", str(tmp_path / "a.keras"))
    refused(code, err, "already exists")
    code, _, err = cli("render", str(seeds["keras"]), "-o", str(tmp_path / "b.png"))
    refused(code, err, "already exists")
    target = tmp_path / "late.svg"

    def appears_meanwhile(temporary: str) -> None:  # another process creates the name
        Path(temporary).write_text("<svg/>")
        target.symlink_to(tmp_path / "nowhere")

    from resect.core.atomic import write_atomically

    with pytest.raises(OutputError):
        write_atomically(target, appears_meanwhile, replace=False)
    assert target.is_symlink() and not any(p.name.startswith(".resect-") for p in tmp_path.iterdir())
    write_text_atomically(tmp_path / "new.svg", "<svg/>", replace=False)
    assert (tmp_path / "new.svg").read_text() == "<svg/>"


# --- root cause 3: hangs ------------------------------------------------------------------


def test_root_cause_3_fifo_as_model_or_recipe_is_refused_at_once(seeds, tmp_path: Path) -> None:
    fifo = tmp_path / "model.keras"
    os.mkfifo(fifo)
    code, _, err, seconds = run_subprocess("inspect", str(fifo), "--fast")
    assert code == 2 and "FIFO" in err and len(err.strip().splitlines()) == 1 and seconds < 25, err
    recipe = tmp_path / "recipe.json"
    os.mkfifo(recipe)
    code, _, err, _ = run_subprocess("render", str(seeds["keras"]), str(recipe), "-o", str(tmp_path / "g.svg"))
    assert code == 2 and "FIFO" in err and len(err.strip().splitlines()) == 1, err
    code, _, err = cli("render", str(seeds["keras"]), "/dev/zero", "-o", str(tmp_path / "g.svg"))
    refused(code, err, "/dev/zero", "not a regular file")


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_root_cause_3_hdf5_external_link_to_a_fifo_is_not_followed(seeds, tmp_path: Path, fmt: str) -> None:
    import random

    rng = random.Random(4 if fmt == "keras" else 9)
    model = None
    while model is None or model.suffix != f".{fmt}" or "fifo" in model.name:
        candidate = container_case(seeds, tmp_path, rng)
        if candidate.name in ("container_4.keras", "legacy_link.h5"):
            model = candidate
    for argv in (["inspect", str(model), "--fast"], ["inspect", str(model)]):
        code, _, err, seconds = run_subprocess(*argv, timeout=120)
        assert "Traceback" not in err and seconds < 100
        assert (code == 2 and "external link" in err) or (code == 0 and "external link" in err), err


@pytest.mark.parametrize("where", ["node", "output_layers"])
def test_root_cause_3_huge_tensor_index_is_refused_not_looped(seeds, tmp_path: Path, where: str) -> None:
    def change(config: dict[str, Any]) -> None:
        if where == "node":
            history(config, "head")[2] = 1e30
        else:
            config["config"]["output_layers"] = [["head", 0, 10**30]]

    start = time.monotonic()
    code, _, err = cli("inspect", str(with_config(seeds, tmp_path, change)), "--fast")
    refused(code, err, "hostile.keras", "index")
    assert time.monotonic() - start < 10


def test_root_cause_3_render_of_a_1mb_layer_name_is_fast_and_well_formed(seeds, tmp_path: Path) -> None:
    long_name = "n" * 1_000_000
    text = json.dumps(keras_config(seeds["keras"])).replace('"head"', json.dumps(long_name))
    model = write_keras(seeds["keras"], tmp_path / "long.keras", text=text)
    start = time.monotonic()
    code, _, err = cli("render", str(model), "-o", str(tmp_path / "long.svg"))
    assert code == 0, err
    assert time.monotonic() - start < 20
    svg = (tmp_path / "long.svg").read_text()
    ElementTree.fromstring(svg)
    assert "n" * 1000 not in svg.replace(long_name, "")  # labels cut; only hover / keys carry it


# --- root cause 4: memory ------------------------------------------------------------------


def test_root_cause_4_inflating_config_is_refused_before_decompressing(seeds, tmp_path: Path) -> None:
    import random
    import resource

    model = None
    rng = random.Random(0)
    while model is None:
        candidate = container_case(seeds, tmp_path, rng)
        model = candidate if candidate.name == "container_2.keras" else None
    assert model.stat().st_size < 2 << 20  # a ~1 MB file whose config.json is 300 MB inflated
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, _, err = cli("inspect", str(model), "--fast")
    refused(code, err, "config.json", "larger than")
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) < 100 * 1024  # KB: under 100 MB


def test_root_cause_4_recipe_from_dev_zero_is_refused(seeds, tmp_path: Path) -> None:
    code, _, err = cli("apply", str(seeds["keras"]), "/dev/zero", "-o", str(tmp_path / "o.keras"))
    refused(code, err, "/dev/zero")


# --- root cause 5: tracebacks ------------------------------------------------------------------


def _infinity_shape(config):
    layer(config, "x")["config"]["batch_shape"] = [None, float("inf")]


def _infinity_history(config):
    history(config, "head")[1] = float("inf")


def _string_outputs(config):
    config["config"]["output_layers"] = "head"


def _nul_name(config):
    entry = layer(config, "d1")
    entry["name"] = entry["config"]["name"] = "d\x001"


def _surrogate_name(config):
    entry = layer(config, "d1")
    entry["name"] = entry["config"]["name"] = "d\ud8001"


def _deep_models(config):
    config["nest"] = 700  # 700 models deep: written by hand, json.dumps would recurse


@pytest.mark.parametrize(
    "change", [_infinity_shape, _infinity_history, _string_outputs, _nul_name, _surrogate_name, _deep_models]
)
def test_root_cause_5_hostile_configs_end_in_one_line(seeds, tmp_path: Path, change) -> None:
    config = keras_config(seeds["keras"])
    change(config)
    depth = config.pop("nest", 0)
    text = json.dumps(config)
    wrap = '{"class_name": "Functional", "name": "m", "config": {"name": "m", "layers": ['
    text = wrap * depth + text + "]}}" * depth
    for model in (
        write_keras(seeds["keras"], tmp_path / "hostile.keras", text=text),
        write_h5_config(seeds["h5"], tmp_path / "hostile.h5", text),
    ):
        for argv in (
            ["inspect", str(model), "--fast", "--json"],
            ["render", str(model), "-o", str(tmp_path / "g.svg")],
        ):
            code, _, err = cli(*argv)
            refused(code, err, model.name)


def test_root_cause_5_deep_json_and_huge_integers(seeds, tmp_path: Path) -> None:
    deep = write_keras(seeds["keras"], tmp_path / "deep.keras", text="[" * 100_000 + "]" * 100_000)
    code, _, err = cli("inspect", str(deep), "--fast")
    refused(code, err, "deep.keras", "nests too deeply")
    text = json.dumps(keras_config(seeds["keras"])).replace('"units": 3', '"units": 1' + "0" * 5000)
    digits = write_keras(seeds["keras"], tmp_path / "digits.keras", text=text)
    code, _, err = cli("inspect", str(digits), "--fast")
    refused(code, err, "digits.keras")


@pytest.mark.parametrize("kind", [5, 6, 7], ids=["self_soft_link", "hard_link_loop", "deep_groups"])
def test_root_cause_5_hdf5_loops_and_deep_groups(seeds, tmp_path: Path, kind: int) -> None:
    import random

    model = None
    rng = random.Random(kind)
    while model is None:
        candidate = container_case(seeds, tmp_path, rng)
        model = candidate if candidate.name == f"container_{kind}.keras" else None
    code, _, err = cli("inspect", str(model), "--fast")
    assert "Traceback" not in err
    assert code in (0, 2) and (code == 0 or len(err.strip().splitlines()) == 1), err
    if kind == 5:
        refused(code, err, "soft link")


def test_root_cause_5_encrypted_member_is_refused(seeds, tmp_path: Path) -> None:
    import random

    model = None
    rng = random.Random(1)
    while model is None:
        candidate = container_case(seeds, tmp_path, rng)
        model = candidate if candidate.name == "container_1.keras" else None
    code, _, err = cli("inspect", str(model), "--fast")
    refused(code, err, "encrypted")


@pytest.mark.parametrize(
    ("edits", "words"),
    [
        ([{"op": ["cut"]}], "unknown op"),
        ([{"op": "set_input_shape", "input": "x", "shape": [10**40]}], "bad dimension"),
        ([{"op": "rename", "layer": ["d1"], "to": 5}], "layer name"),
        ({"edits": "cut"}, "'edits' must be a list"),
    ],
)
def test_root_cause_5_recipe_values_of_the_wrong_type(seeds, tmp_path: Path, edits, words: str) -> None:
    recipe = tmp_path / "r.resect.json"
    body = edits if isinstance(edits, dict) else {"format": "resect-recipe/1", "edits": edits}
    recipe.write_text(json.dumps(body))
    code, _, err = cli("render", str(seeds["keras"]), str(recipe), "-o", str(tmp_path / "g.svg"))
    refused(code, err, "r.resect.json", words)
    recipe.write_text(
        '{"format": "resect-recipe/1", "edits": [{"op": "set_input_shape", "shape": [1' + "0" * 5000 + "]}]}"
    )
    code, _, err = cli("render", str(seeds["keras"]), str(recipe), "-o", str(tmp_path / "g.svg"))
    refused(code, err, "r.resect.json")


# --- root cause 6: accepted nonsense and unclear words ---------------------------------------------


def test_root_cause_6_non_ascii_digits_and_empty_cuts_are_refused(seeds, tmp_path: Path) -> None:
    from resect.core.tensor_ref import TensorRef

    with pytest.raises(ValueError):
        TensorRef.parse("enc2:\u0661:0")
    assert TensorRef.parse("enc2:1:0") == TensorRef("enc2", 1, 0)
    recipe = tmp_path / "r.resect.json"
    for edit, words in (
        ({"op": "cut", "outputs": ["d1:\u0661:0"]}, "not a tensor name"),
        ({"op": "cut", "inputs": ["d1"], "outputs": ["d1:0:0"]}, "inputs are its outputs"),
    ):
        recipe.write_text(json.dumps({"format": "resect-recipe/1", "edits": [edit]}))
        code, _, err = cli("render", str(seeds["keras"]), str(recipe), "-o", str(tmp_path / "g.svg"))
        refused(code, err, "edit 0 (cut)", words)


def _cycle(config):
    d1 = layer(config, "d1")
    d1["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = ["head", 0, 0]


def _self_feeding(config):
    history(config, "head")[0] = "head"


def _dangling(config):
    history(config, "head")[0] = "nowhere"


def _duplicate(config):
    entry = layer(config, "head")
    entry["name"] = entry["config"]["name"] = "d1"


@pytest.mark.parametrize(
    ("change", "words"),
    [(_cycle, "cycle"), (_self_feeding, "feeds itself"), (_dangling, "'nowhere'"), (_duplicate, "two layers")],
)
def test_root_cause_6_broken_graphs_are_refused_by_fast_and_render(seeds, tmp_path: Path, change, words) -> None:
    model = with_config(seeds, tmp_path, change)
    code, _, err = cli("inspect", str(model), "--fast")
    refused(code, err, "hostile.keras", words)
    code, _, err = cli("render", str(model), "-o", str(tmp_path / "g.svg"))
    refused(code, err, "hostile.keras", words)
    assert not (tmp_path / "g.svg").exists()


def test_root_cause_6_svg_is_well_formed_whatever_the_names(seeds, tmp_path: Path) -> None:
    def change(config):
        layer(config, "head")["class_name"] = "De\x01nse<&>"  # the class shows in the label
        config["config"]["name"] = "se<&>ed]]>"

    model = with_config(seeds, tmp_path, change)
    code, _, err = cli("render", str(model), "-o", str(tmp_path / "g.svg"))
    assert code == 0, err
    ElementTree.parse(tmp_path / "g.svg")


def test_root_cause_6_keras_warnings_add_no_lines(seeds, tmp_path: Path) -> None:
    """Weights of the wrong shape: Keras warns, then fails; the user sees one line."""
    model = tmp_path / "wrong.keras"
    with zipfile.ZipFile(seeds["keras"]) as archive:
        members = {info: archive.read(info.filename) for info in archive.infolist()}
    weights = tmp_path / "w.h5"
    weights.write_bytes(next(data for info, data in members.items() if info.filename == "model.weights.h5"))
    with h5py.File(weights, "r+") as h5:
        del h5["layers/dense_1/vars/0"]
        h5["layers/dense_1/vars"].create_dataset("0", data=np.zeros((5, 3), "float32"))
    with zipfile.ZipFile(model, "w") as archive:
        for info, data in members.items():
            archive.writestr(info, weights.read_bytes() if info.filename == "model.weights.h5" else data)
    recipe = tmp_path / "r.resect.json"
    recipe.write_text('{"format": "resect-recipe/1", "edits": [{"op": "rename", "layer": "head", "to": "out"}]}')
    code, _, err, _ = run_subprocess("apply", str(model), str(recipe), "-o", str(tmp_path / "o.keras"), timeout=300)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "wrong.keras" in err, err
    assert not (tmp_path / "o.keras").exists()
