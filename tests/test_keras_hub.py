"""KerasHub models (tiny configs built here, never a preset from the hub): six backbones
of different kinds (BERT encoder, Gemma and Llama decoders with grouped-query attention,
GPT-2, a ViT, a ResNet), a Task (ResNetImageClassifier) and preset directories (a backbone's,
a Task's, one holding a Lambda).

Without Keras: class, hyperparameters, the weight tree and parameter counts equal to
Keras'. With Keras: the real layer graph, equal to Keras' own (every operation's class,
params and call shapes). Surgery and export: reloaded from disk and compared with the
original on random input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from keras_checks import export_matches, graph_vs_keras

from resect.core.keras_backend.loading import fill_shapes, load_keras_model
from resect.core.keras_backend.pipeline import run_apply
from resect.core.keras_backend.runtime import import_keras
from resect.core.reader import read_model
from resect.core.surgery.recipe import parse_recipe

ROOT = Path(__file__).resolve().parent.parent
BACKBONES = ["bert", "gemma", "llama", "gpt2", "vit", "resnet"]
ALL = [*BACKBONES, "resnet_task", "bert_preset", "resnet_task_preset"]


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("hub")
    run = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "keras_hub_models.py"), str(folder)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return folder, json.loads((folder / "counts.json").read_text())


def _path(hub, name: str) -> Path:
    return hub[0] / (name if name.endswith("preset") else f"{name}.keras")


@pytest.mark.parametrize("name", ALL)
def test_fast_reading_gives_class_hyperparameters_weights_and_keras_counts(hub, name) -> None:
    started = time.process_time()  # CPU time: the machine is shared
    graph = read_model(_path(hub, name))
    assert time.process_time() - started < 1.0
    code = graph.code_defined
    assert code is not None and not graph.layers and code.problem is None
    assert graph.total_params == hub[1][name]["params"]
    assert code.module.startswith("keras_hub.") and code.weights
    assert graph.format == ("preset" if name.endswith("preset") else "keras")
    if name == "gemma":
        assert code.config["num_key_value_heads"] == 2 and code.config["num_query_heads"] == 4
    if name == "bert_preset":
        assert code.assets == ("vocabulary.txt",)
        metadata = json.loads((_path(hub, name) / "metadata.json").read_text())
        assert graph.total_params == metadata["parameter_count"]


def test_inspect_fast_json_has_counts_and_the_note_without_tensorflow(hub) -> None:
    code = (
        "import sys, runpy; sys.argv = ['main.py', 'inspect', sys.argv[1], '--fast', '--json']\n"
        "try:\n    runpy.run_path('main.py', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported TF'\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(_path(hub, "resnet_task"))], cwd=ROOT, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["layers"] == [] and data["total_params"] == hub[1]["resnet_task"]["params"]
    assert data["non_trainable_params"] == 576  # the BatchNormalization moving statistics
    assert "Keras builds it" in data["code_defined"]["note"]
    assert data["code_defined"]["class_name"] == "ResNetImageClassifier"


@pytest.mark.parametrize("name", ALL)
def test_full_graph_equals_keras(hub, name) -> None:
    path = _path(hub, name)
    graph = read_model(path)
    model = load_keras_model(path, graph)
    full = fill_shapes(graph, model)
    assert [layer.name for layer in full.layers] == [op.name for op in model.operations]
    if name in BACKBONES:  # a Task's input and a preset's get_item are auto-named anew at each load
        assert [layer.name for layer in full.layers] == hub[1][name]["layers"]
    assert graph_vs_keras(full, model) == []
    assert full.total_params == model.count_params() == graph.total_params
    if name in ("resnet_task", "resnet_task_preset"):
        backbone = full.layer("resnet")
        assert backbone.class_name == "ResNetBackbone" and backbone.subgraph is not None
        assert backbone.params == model.backbone.count_params()


def test_inspect_prints_the_expanded_graph(hub) -> None:
    run = subprocess.run(
        [sys.executable, "main.py", "inspect", str(_path(hub, "bert")), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    names = [layer["name"] for layer in data["layers"]]
    assert names == hub[1]["bert"]["layers"] and data["total_params"] == hub[1]["bert"]["params"]
    encoder = next(layer for layer in data["layers"] if layer["name"] == "transformer_layer_1")
    assert encoder["class_name"] == "TransformerEncoder" and encoder["nodes"][0]["output_shapes"] == [[None, None, 16]]


CASES = [
    ("bert", [{"op": "cut", "outputs": ["transformer_layer_1"]}], ["transformer_layer_1"]),  # after the 2nd layer
    ("bert", [], None),
    ("gemma", [{"op": "cut", "outputs": ["decoder_block_0"]}], ["decoder_block_0"]),
    ("gemma", [], None),  # its final RMSNormalization has no config of its own: repaired
    ("llama", [{"op": "cut", "outputs": ["transformer_layer_0"]}], ["transformer_layer_0"]),  # repaired decoders
    ("llama", [], None),
    ("vit", [{"op": "cut", "outputs": ["vit_patching_and_embedding"]}], ["vit_patching_and_embedding"]),
    ("vit", [], None),  # ViTPatchingAndEmbedding's own config does not rebuild it: repaired
    ("gpt2", [{"op": "cut", "outputs": ["transformer_layer_0"]}], ["transformer_layer_0"]),
    ("gpt2", [], None),
    ("resnet", [{"op": "cut", "outputs": ["stack0_block0_out", "stack1_block0_out"]}],
     ["stack0_block0_out", "stack1_block0_out"]),  # stage outputs: a multi-output feature extractor
    ("resnet", [], None),
    ("resnet_task", [], None),
    ("bert_preset", [{"op": "cut", "outputs": ["transformer_layer_0"]}], ["transformer_layer_0"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "edits", "outputs"), CASES, ids=[f"{c[0]}-{len(c[1])}" for c in CASES])
def test_surgery_exports_reload_and_match_the_original(hub, tmp_path, name, edits, outputs) -> None:
    keras = import_keras()
    path = _path(hub, name)
    out = tmp_path / "out.keras"
    result = run_apply(path, parse_recipe({"edits": edits}), out, verify=True)
    assert result.verify is not None and result.verify.checks and result.verify.max_abs_diff <= 1e-5
    assert len(result.verify.checks) == len(outputs or result.verify.checks)
    original = load_keras_model(path)
    export_matches(keras, original, out, outputs, high=2, tol=1e-5)
    exported = keras.saving.load_model(out, compile=False)
    kinds = {type(layer).__module__.split(".")[0] for layer in exported.layers}
    if name in ("bert", "gemma", "llama", "gpt2", "vit", "bert_preset"):
        assert "keras_hub" in kinds  # a plain functional model of KerasHub layers
    if not edits:
        assert exported.count_params() == original.count_params()
    else:
        assert result.params_after.total <= result.params_before.total
        assert len(exported.outputs) == len(outputs)  # ResNet: both stage outputs, one extractor


# KerasHub 0.32 layers whose own config cannot rebuild them: the file holds a config written
# from the constructor's signature (tests/test_config_repair.py proves and refuses such
# configs). The file names only KerasHub's classes: a Python that has never seen Resect
# (isolated, another folder) reloads it and computes what the original computes.
REPAIRED = [
    ("gemma", "final_normalization", "RMSNormalization"),
    ("llama", "transformer_layer_0", "LlamaTransformerDecoder"),
    ("vit", "vit_patching_and_embedding", "ViTPatchingAndEmbedding"),
]
PLAIN_RELOAD = """
import json, sys
import numpy as np, keras
results = {}
for name in sys.argv[2:]:
    model = keras.saving.load_model(f"{sys.argv[1]}/{name}.keras", compile=False)
    feed = dict(np.load(f"{sys.argv[1]}/{name}.npz"))
    names = [t._keras_history.operation.name for t in model.inputs]
    out = keras.tree.flatten(model({n: feed[n] for n in names} if len(names) > 1 else feed[names[0]]))
    np.save(f"{sys.argv[1]}/{name}.npy", keras.ops.convert_to_numpy(out[0]))
    results[name] = {"params": model.count_params(), "classes": sorted({type(l).__name__ for l in model.layers})}
assert not [m for m in sys.modules if m == "core" or m.startswith(("core.", "resect"))]
print(json.dumps(results))
"""


def test_repaired_layers_reload_in_plain_keras_without_resect(hub, tmp_path) -> None:
    import zipfile

    import numpy as np

    keras = import_keras()
    rng = np.random.default_rng(1)
    originals = {}
    for name, layer, cls in REPAIRED:
        out = tmp_path / f"{name}.keras"
        run_apply(_path(hub, name), parse_recipe({"edits": []}), out)
        written = json.loads(zipfile.ZipFile(out).read("config.json"))
        entry = next(e for e in written["config"]["layers"] if e["name"] == layer)
        assert entry["class_name"] == cls and entry["module"].startswith("keras_hub.")
        assert "core." not in json.dumps(written) and "resect" not in json.dumps(written).lower()
        original = originals[name] = load_keras_model(_path(hub, name))
        feed = {}
        for tensor in original.inputs:
            shape, dtype = [5 if d is None else d for d in (1, *tensor.shape[1:])], str(tensor.dtype)
            feed[tensor._keras_history.operation.name] = (
                rng.integers(1, 50, size=shape) if "int" in dtype else rng.normal(size=shape)
            ).astype(dtype)
        np.savez(tmp_path / f"{name}.npz", **feed)
    names = [name for name, _, _ in REPAIRED]
    reload = subprocess.run(
        [sys.executable, "-I", "-c", PLAIN_RELOAD, str(tmp_path), *names], cwd=tmp_path, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert reload.returncode == 0, reload.stderr[-2000:]
    results = json.loads(reload.stdout.strip().splitlines()[-1])
    for name, _, cls in REPAIRED:
        original = originals[name]
        assert results[name]["params"] == original.count_params() and cls in results[name]["classes"]
        feed = dict(np.load(tmp_path / f"{name}.npz"))
        expected = original(feed if len(feed) > 1 else next(iter(feed.values())))
        expected = keras.ops.convert_to_numpy(keras.tree.flatten(expected)[0])
        np.testing.assert_allclose(np.load(tmp_path / f"{name}.npy"), expected, atol=1e-5)


def _empty_recipe(tmp_path: Path) -> str:
    recipe = tmp_path / "empty.resect.json"
    recipe.write_text('{"edits": []}')
    return str(recipe)


def test_task_head_replaced(hub, tmp_path) -> None:
    keras = import_keras()
    path = _path(hub, "resnet_task")
    edits = [{"op": "replace_head", "at": "pooler", "layers": [{"class_name": "Dense", "config": {"units": 5}}]}]
    out = tmp_path / "head.keras"
    result = run_apply(path, parse_recipe({"edits": edits}), out, verify=True)
    exported = keras.saving.load_model(out, compile=False)
    assert exported.output.shape == (None, 5)
    assert result.params_after.total == hub[1]["resnet"]["params"] + 32 * 5 + 5
    assert result.verify is not None and result.verify.checks  # the pooled features are compared


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_a_task_preset_opens_as_the_task_with_its_head_weights(hub) -> None:
    import numpy as np

    path = _path(hub, "resnet_task_preset")
    graph = read_model(path)
    assert graph.class_name == "ResNetImageClassifier" and graph.code_defined is not None
    head = [w for w in graph.code_defined.weights if w.name.startswith("task.weights.h5/")]
    assert sorted(w.shape for w in head) == [(3,), (32, 3)]  # the Dense head, beside the backbone's weights
    assert graph.total_params == hub[1]["resnet_task_preset"]["params"] and graph.code_defined.assets == ()
    model = load_keras_model(path)
    assert type(model).__name__ == "ResNetImageClassifier"
    from resect.core.reader import read_config

    checked = read_config(str(path))  # what the trust rule sees: both files keras_hub reads
    assert checked["class_name"] == "ResNetImageClassifier" and checked["config.json"]["class_name"] == "ResNetBackbone"
    images = np.load(hub[0] / "task_images.npy")
    np.testing.assert_allclose(np.asarray(model(images)), np.load(hub[0] / "task_output.npy"), atol=1e-6)


def test_a_task_presets_backbone_config_is_trust_checked_too(hub, tmp_path) -> None:
    """keras_hub hands ``config.json``'s saved dtype to the Task it builds from ``task.json``:
    an object there outside Keras' packages is refused before Keras starts."""
    from resect.core.errors import ModelFileError

    preset = tmp_path / "task_preset"
    shutil.copytree(_path(hub, "resnet_task_preset"), preset)
    config = json.loads((preset / "config.json").read_text())
    config["config"]["dtype"] = {"module": "os", "class_name": "system", "config": {}}
    (preset / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=r"config\.json/config/dtype: module 'os'"):
        load_keras_model(preset)


def test_a_lambda_in_a_preset_is_built_only_with_unsafe(hub) -> None:
    """The preset loader runs keras_hub under the consent's safe mode: Keras itself refuses
    the Lambda in safe mode; with ``--unsafe`` consent it loads, and its code runs."""
    import numpy as np

    from resect.core.consent import Consent
    from resect.core.errors import ModelFileError
    from resect.core.keras_backend.loading import KERAS_LOADERS

    path, marker = _path(hub, "lambda_task_preset"), hub[0] / "lambda_ran"
    with pytest.raises(ModelFileError, match="activation: Lambda"):
        load_keras_model(path)  # our trust rule, before Keras
    with pytest.raises(ValueError, match="lambda"):
        KERAS_LOADERS["preset"](import_keras(), str(path), "preset", True)  # Keras' own safe mode
    assert not marker.exists()
    model = load_keras_model(path, consent=Consent(unsafe=True))
    assert type(model).__name__ == "ResNetImageClassifier"
    model(np.load(hub[0] / "task_images.npy"))
    assert marker.exists()
    marker.unlink()


def test_preset_without_weights_is_one_line_exit_2(hub, tmp_path) -> None:
    broken = tmp_path / "broken_preset"
    shutil.copytree(_path(hub, "bert_preset"), broken)
    (broken / "model.weights.h5").unlink()
    run = _cli("inspect", str(broken), "--fast")
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and str(broken) in run.stderr and "model.weights.h5" in run.stderr


def test_keras_hub_not_importable_is_one_line_exit_2(hub, tmp_path) -> None:
    """A ``keras_hub`` that is not the installed distribution (here a stand-in on
    PYTHONPATH that cannot import) is not loaded: one line naming the class and module."""
    fake = tmp_path / "shadow" / "keras_hub"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('keras_hub is not installed here')\n")
    marker = tmp_path / "shadow" / "ran"
    (fake / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\nraise ImportError('no keras_hub')\n")
    out = tmp_path / "x.keras"
    recipe = tmp_path / "r.json"
    recipe.write_text('{"edits": []}')
    run = _cli("apply", str(_path(hub, "bert")), str(recipe), "-o", str(out), env={"PYTHONPATH": str(fake.parent)})
    assert run.returncode == 2, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "keras_hub" in lines[0] and "BertBackbone" in lines[0], run.stderr
    assert not marker.exists() and not out.exists()


# Peak memory is the child's own high-water mark (VmHWM): its ``ru_maxrss`` would hold the
# peak of the process that spawned it (exec folds the old address space's mark into it), so
# under the full suite, a pytest grown to 3.7 GB, a child that used 0.5 GB read 3,742 MB.
SCALE = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
def peak_mb():
    return next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM:')) / 1024
from resect.core.graph import CodeDefined, ModelGraph
from resect.core.keras_backend.code_defined import build_without_weights, expand_code_defined
from resect.core.keras_backend.runtime import import_keras
import_keras()
import keras_hub
before = peak_mb()
config = dict(vocabulary_size=256000, num_layers=27, num_query_heads=8, num_key_value_heads=1, hidden_dim=1024,
              intermediate_dim=16384, head_dim=128, name="gemma_1b")
code = CodeDefined("GemmaBackbone", "keras_hub.src.models.gemma.gemma_backbone", "keras_hub>GemmaBackbone", config, ())
graph = ModelGraph("gemma_1b", (), (), (), "GemmaBackbone", "keras", "", code_defined=code)
started = time.perf_counter()
full = expand_code_defined(graph, build_without_weights(graph))
print(json.dumps({"seconds": time.perf_counter() - started, "params": full.total_params, "layers": len(full.layers),
                  "imports_mb": before, "peak_mb": peak_mb()}))
"""


def test_a_1b_gemma_config_shows_its_graph_without_allocating_weights() -> None:
    run = subprocess.run([sys.executable, "-c", SCALE, str(ROOT)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert 0.9e9 < result["params"] < 1.2e9 and result["layers"] == 32  # 27 decoder blocks + 5
    # its float32 weights would take 4,000 MB, its token embedding alone 1,000 MB (load_model of
    # it: 4,125 MB peak in the bench); building the graph adds ~15 MB to the imports' ~510 MB
    grown = result["peak_mb"] - result["imports_mb"]
    assert grown < 300, result


def _preset_copy(hub, tmp_path: Path, name: str = "preset") -> Path:
    copy = tmp_path / name
    shutil.copytree(_path(hub, "bert_preset"), copy)
    return copy


def test_preset_config_and_links_checked_through_the_registry(hub, tmp_path) -> None:
    from resect.core.reader import check_weight_links, read_config

    preset = _preset_copy(hub, tmp_path)
    assert read_config(str(preset))["class_name"] == "BertBackbone"
    check_weight_links(str(preset))  # a clean preset passes
    assert load_keras_model(str(preset)).count_params() == hub[1]["bert_preset"]["params"]


def test_preset_weights_symlinked_out_of_the_folder_are_refused(hub, tmp_path) -> None:
    from resect.core.errors import ModelFileError

    preset = _preset_copy(hub, tmp_path)
    outside = tmp_path / "elsewhere.h5"
    (preset / "model.weights.h5").rename(outside)
    (preset / "model.weights.h5").symlink_to(outside)
    with pytest.raises(ModelFileError, match="outside the preset folder"):
        read_model(str(preset))
    with pytest.raises(ModelFileError, match="outside the preset folder"):
        load_keras_model(str(preset))


def test_preset_shard_index_escaping_the_folder_is_refused(hub, tmp_path) -> None:
    from resect.core.errors import ModelFileError

    preset = _preset_copy(hub, tmp_path)
    (preset / "model.weights.h5").rename(tmp_path / "model_00000.h5")
    (preset / "model.weights.json").write_text(json.dumps({"weight_map": {"a": "../model_00000.h5"}}))
    with pytest.raises(ModelFileError, match="outside the preset folder"):
        read_model(str(preset))


def test_preset_weights_fifo_is_one_line_exit_2_without_blocking(hub, tmp_path) -> None:
    preset = _preset_copy(hub, tmp_path)
    (preset / "model.weights.h5").unlink()
    os.mkfifo(preset / "model.weights.h5")
    started = time.perf_counter()
    run = _cli("inspect", str(preset), "--fast")
    assert run.returncode == 2 and time.perf_counter() - started < 60
    assert run.stderr.count("\n") == 1 and "model.weights.h5" in run.stderr and "not a regular file" in run.stderr
