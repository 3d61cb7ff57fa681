"""A seeded mutation fuzzer over real model files, recipes and output paths (issue 10).

Seeds are small models saved by Keras itself (``.keras`` and legacy ``.h5``, with a
nested model and a two-input ``Add``); each case mutates one of them the way an attacker
would (hostile JSON values at random places of the config, broken graphs, hostile
containers and HDF5 links, hostile recipes, hostile output paths) and runs the CLI
in-process on it: ``inspect --fast``, ``render`` or recipe parsing through ``apply``'s
first checks. The whole contract is asserted per case: exit 0 or 2, exactly one stderr
line on 2, no traceback, a time bound, a memory bound, no marker file from code
execution, outputs untouched and nothing partial left.

Run against another checkout (``--root``) to count what it finds there:

    python tests/fuzz_engine.py --root /tmp/base --cases 600 --seed 1
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import random
import resource
import signal
import stat
import sys
import traceback
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CASE_SECONDS = 20.0  # one in-process case; a 20,000-layer model reads in about 2 s
CASE_MEMORY_MB = 600  # growth of the peak RSS allowed for one case
HUGE = "@@HUGE@@"  # written as a 5,000-digit integer (json.dumps refuses to write one)
EVIL_MODULES = ("keras_hub.evil", "keras_cv.evil", "keras_nlp.evil", "os", "keras.evil")


# --- seeds ----------------------------------------------------------------------

SEED_SCRIPT = """
import sys, keras
L = keras.layers
inner_in = keras.Input((4,), name="block_in")
block = keras.Model(inner_in, L.Dense(4, name="dense")(inner_in), name="block")
x = keras.Input((4,), name="x")
d1 = L.Dense(4, activation="relu", name="d1")(x)
added = L.Add(name="add")([d1, block(d1)])
out = L.Dense(3, name="head")(added)
model = keras.Model(x, out, name="seed")
model.save(sys.argv[1] + "/seed.keras")
model.save(sys.argv[1] + "/seed.h5")
"""


def build_seeds(folder: Path) -> dict[str, Path]:
    """``seed.keras`` and ``seed.h5`` written by Keras (in a subprocess, once), and a
    tf.keras 2 SavedModel folder (``tests/zoo_keras2.py``'s small RNN, cached there)."""
    import subprocess

    from zoo_keras2 import Keras2Zoo

    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "seed.h5").exists():
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        subprocess.run([sys.executable, "-c", SEED_SCRIPT, str(folder)], check=True, env=env, capture_output=True)
    saved = Keras2Zoo().path("rnn", "savedmodel")
    return {"keras": folder / "seed.keras", "h5": folder / "seed.h5", "savedmodel": saved}


def keras_config(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))


def write_keras(seed: Path, target: Path, config: Any = None, text: str | None = None) -> Path:
    """``seed`` with its config.json replaced by ``config`` (or raw ``text``)."""
    with zipfile.ZipFile(seed) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "config.json":
                data = (text if text is not None else json.dumps(config)).encode("utf8", "surrogatepass")
            new.writestr(item, data)
    return target


def write_h5_config(seed: Path, target: Path, text: str) -> Path:
    import shutil

    import h5py

    shutil.copyfile(seed, target)
    with h5py.File(target, "r+") as h5:
        h5.attrs["model_config"] = text.encode("utf8", "surrogatepass")
    return target


# --- keras_metadata.pb: a tiny protocol-buffer writer ------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def encode_fields(items: list[tuple[int, int, Any]]) -> bytes:
    """Fields as ``core.reader.protowire.fields`` yields them (varints and
    length-delimited values only, all ``keras_metadata.pb`` holds) back to bytes."""
    out = bytearray()
    for number, wire, value in items:
        out += _varint(number << 3 | wire)
        out += _varint(value) if wire == 0 else _varint(len(value)) + bytes(value)
    return bytes(out)


def metadata_root(data: bytes) -> dict[str, Any]:
    """The root node's metadata JSON (the model config) of a ``keras_metadata.pb``."""
    from resect.core.reader.protowire import fields

    for number, _, value in fields(data):
        inner = list(fields(value)) if number == 1 else []
        if any(n == 3 and bytes(v) == b"root" for n, _, v in inner):
            return json.loads(bytes(next(v for n, _, v in inner if n == 5)))
    raise ValueError("no root node")


def with_metadata_root(data: bytes, text: str) -> bytes:
    """``data`` with the root node's metadata replaced by ``text``."""
    from resect.core.reader.protowire import fields

    nodes = []
    for number, wire, value in fields(data):
        inner = list(fields(value)) if number == 1 else None
        if inner is not None and any(n == 3 and bytes(v) == b"root" for n, _, v in inner):
            payload = text.encode("utf8", "surrogatepass")
            inner = [(n, w, payload if n == 5 else v) for n, w, v in inner]
        nodes.append((number, wire, encode_fields(inner) if inner is not None else value))
    return encode_fields(nodes)


def savedmodel_case(seed: Path, target: Path, rng: random.Random) -> Path:
    """A copy of the SavedModel folder ``seed`` whose ``keras_metadata.pb`` has a mutated
    config, flipped bytes or a cut, or whose ``saved_model.pb`` is cut."""
    import shutil

    shutil.copytree(seed, target)
    metadata = target / "keras_metadata.pb"
    data = metadata.read_bytes()
    choice = rng.random()
    if choice < 0.6:
        config = mutate_config(metadata_root(data), rng, rng.randrange(1, 4))
        metadata.write_bytes(with_metadata_root(data, _dumps(config)))
    elif choice < 0.85:
        flipped = bytearray(data)
        for _ in range(rng.randrange(1, 8)):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        metadata.write_bytes(bytes(flipped))
    else:
        victim = metadata if rng.random() < 0.5 else target / "saved_model.pb"
        raw = victim.read_bytes()
        victim.write_bytes(raw[: rng.randrange(len(raw))])
    return target


# --- hostile values ---------------------------------------------------------------


def hostile_value(rng: random.Random) -> Any:
    choice = rng.randrange(22)
    if choice == 0:
        return float("inf")
    if choice == 1:
        return 1e30
    if choice == 2:
        return -(10 ** rng.randrange(1, 30))
    if choice == 3:
        return rng.choice((10**18, 10**40, 10**4000, HUGE))
    if choice == 4:
        return "x" * rng.choice((1, 1000, 100_000))
    if choice == 5:
        return rng.choice(["\x00", "a\x00b", "\ud800", "\x07bell", "<&>\"'", "\u202e", "\x1b[31m"])
    if choice == 6:
        return []
    if choice == 7:
        return {}
    if choice == 8:
        return None
    if choice == 9:
        return rng.choice([True, False])
    if choice == 10:
        return {"class_name": "Evil", "module": rng.choice(EVIL_MODULES), "config": {}}
    if choice == 11:
        value: Any = 0
        for _ in range(rng.choice((50, 900, 5000))):
            value = [value]
        return value
    if choice == 12:
        return "enc2:\u0661:0"
    if choice == 13:
        return ["x", 0, 0]
    if choice == 14:
        return ["nowhere", 0, 0]
    if choice == 15:
        return {"class_name": "__keras_tensor__", "config": {"keras_history": ["d1", 10**9, 0]}}
    if choice == 16:
        return float("nan")
    if choice == 17:
        return -1
    if choice == 18:
        return "Lambda"
    if choice == 19:
        return 3.5
    if choice == 20:
        return {"class_name": "Functional", "config": {"layers": "abc"}}
    return rng.choice([0, 1, 2, 7])


def _containers(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """Every (path, container) of a JSON value (dicts and lists), iteratively."""
    found = []
    stack = [(path, value)]
    while stack:
        here, item = stack.pop()
        if isinstance(item, dict):
            found.append((here, item))
            stack.extend((here + (k,), v) for k, v in item.items())
        elif isinstance(item, list):
            found.append((here, item))
            stack.extend((here + (i,), v) for i, v in enumerate(item))
    return found


def mutate_config(config: Any, rng: random.Random, count: int) -> Any:
    """Replace, delete or insert ``count`` values anywhere in ``config``."""
    for _ in range(count):
        containers = _containers(config)
        _, container = rng.choice(containers)
        if isinstance(container, dict):
            keys = list(container) or ["extra"]
            key = rng.choice(keys + ["module", "class_name", "name", "inbound_nodes"])
            if rng.random() < 0.15 and key in container:
                del container[key]
            else:
                container[key] = hostile_value(rng)
        elif container:
            index = rng.randrange(len(container))
            if rng.random() < 0.15:
                del container[index]
            else:
                container[index] = hostile_value(rng)
        else:
            container.append(hostile_value(rng))
    return config


def _layers(config: dict[str, Any]) -> list[dict[str, Any]]:
    return config["config"]["layers"]


def graph_mutation(config: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Structured breakage: cycles, self-feeding calls, dangling names, duplicates, huge
    indices where Keras writes small ones, strings where lists go, deep nesting."""
    layers = _layers(config)
    kind = rng.randrange(9)
    histories = [c for _, c in _containers(config) if isinstance(c, dict) and isinstance(c.get("keras_history"), list)]
    if kind == 0 and histories:  # a call reads its own output
        add = next(layer for layer in layers if layer["name"] == "add")
        add["inbound_nodes"][0]["args"][0][0]["config"]["keras_history"][0] = "add"
    elif kind == 1 and histories:  # d1 reads head: a cycle
        d1 = next(layer for layer in layers if layer["name"] == "d1")
        d1["inbound_nodes"] = [
            {"args": [{"class_name": "__keras_tensor__", "config": {"shape": [None, 3], "keras_history": ["head", 0, 0]}}], "kwargs": {}}
        ]  # fmt: skip
    elif kind == 2 and histories:
        rng.choice(histories)["keras_history"][0] = "nowhere"
    elif kind == 3:
        layers.append(json.loads(json.dumps(rng.choice(layers))))
    elif kind == 4 and histories:
        rng.choice(histories)["keras_history"][rng.choice((1, 2))] = rng.choice((1e30, float("inf"), 10**30, -5, "0"))
    elif kind == 5:
        config["config"]["output_layers"] = rng.choice(["head", [["head", 1e30, 0]], [["head", 0, float("inf")]], 5])
    elif kind == 6:
        inner: Any = json.loads(json.dumps(config))
        for _ in range(rng.choice((40, 700))):
            inner = {"class_name": "Functional", "name": "m", "config": {"name": "m", "layers": [inner]}}
        config = {"class_name": "Functional", "config": {"name": "outer", "layers": [inner]}}
    elif kind == 7:
        rng.choice(layers)["name"] = rng.choice(["a\x00b", "\ud800", "x" * 1_000_000, "\x01", "d1"])
    else:
        rng.choice(layers)["config"]["batch_shape"] = rng.choice([[None, float("inf")], "abc", [None, 10**40]])
    return config


# --- containers ---------------------------------------------------------------------


def container_case(seeds: dict[str, Path], folder: Path, rng: random.Random) -> Path:
    """A hostile container: corrupt bytes, encrypted flag, bombs, HDF5 links and loops."""
    import h5py

    kind = rng.randrange(10)
    target = folder / f"container_{kind}.keras"
    cached = {
        2: target,
        4: target,
        5: target,
        6: target,
        7: target,
        8: folder / "model_fifo.keras",
        9: folder / "legacy_link.h5",
    }
    if kind in cached and os.path.lexists(cached[kind]):
        return cached[kind]
    data = seeds["keras"].read_bytes()
    if kind == 0:  # flip bytes
        raw = bytearray(data)
        for _ in range(rng.randrange(1, 20)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        target.write_bytes(bytes(raw))
    elif kind == 1:  # every member flagged encrypted
        raw = bytearray(data)
        for signature in (b"PK\x03\x04", b"PK\x01\x02"):
            start = 0
            while (at := raw.find(signature, start)) >= 0:
                offset = at + (6 if signature == b"PK\x03\x04" else 8)
                raw[offset] |= 1
                start = at + 4
        target.write_bytes(bytes(raw))
    elif kind == 2:  # config.json inflating far beyond the cap
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            with archive.open("config.json", "w", force_zip64=True) as stream:
                chunk = b" " * (1 << 20)
                for _ in range(300):
                    stream.write(chunk)
            archive.writestr("model.weights.h5", b"")
    elif kind == 3:  # truncated
        target.write_bytes(data[: rng.randrange(1, len(data))])
    elif kind in (4, 5, 6, 7):  # HDF5: external link to a FIFO, soft link loop, hard link loop, deep groups
        fifo = folder / "fifo"
        if not fifo.exists():
            os.mkfifo(fifo)
        h5_path = folder / f"weights_{kind}.h5"
        with zipfile.ZipFile(seeds["keras"]) as archive:
            h5_path.write_bytes(archive.read("model.weights.h5"))
        with h5py.File(h5_path, "r+") as h5:
            group = h5["layers/dense"] if "layers/dense" in h5 else h5.require_group("layers/dense")
            vars_group = group["vars"] if "vars" in group else group.require_group("vars")
            if kind == 4:
                del vars_group["0"]
                vars_group["0"] = h5py.ExternalLink(str(fifo), "/x")
            elif kind == 5:
                del vars_group["0"]
                vars_group["0"] = h5py.SoftLink("/layers/dense/vars/0")
            elif kind == 6:
                group["loop"] = group
            else:
                deep = group
                for _ in range(2000):
                    deep = deep.create_group("g")
        with zipfile.ZipFile(seeds["keras"]) as old, zipfile.ZipFile(target, "w") as new:
            for item in old.infolist():
                payload = h5_path.read_bytes() if item.filename == "model.weights.h5" else old.read(item.filename)
                new.writestr(item, payload)
    elif kind == 8:  # a FIFO given as the model
        target = folder / "model_fifo.keras"
        if not target.exists():
            os.mkfifo(target)
    else:  # legacy .h5 with an external link to a FIFO among its weights
        fifo = folder / "fifo"
        if not fifo.exists():
            os.mkfifo(fifo)
        target = folder / "legacy_link.h5"
        import shutil

        shutil.copyfile(seeds["h5"], target)
        with h5py.File(target, "r+") as h5:
            layer = h5["model_weights/head"]
            names = [n.decode() if isinstance(n, bytes) else n for n in layer.attrs["weight_names"]]
            del layer[names[0]]
            layer[names[0]] = h5py.ExternalLink(str(fifo), "/x")
    return target


# --- recipes ----------------------------------------------------------------------------

OPS = ["cut", "add_outputs", "set_input_shape", "replace_head", "insert_layer", "delete_layer", "replace_layer",
       "set_trainable", "rename"]  # fmt: skip


def recipe_text(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return _dumps({"format": "resect-recipe/1", "edits": [{"op": hostile_value(rng)}]})
    if kind == 1:
        edit = {"op": rng.choice(OPS)}
        for key in ("inputs", "outputs", "tensors", "input", "shape", "layer", "to", "at", "after", "with", "layers",
                    "trainable", "below", "above", "batch_size", "reinitialize"):  # fmt: skip
            if rng.random() < 0.4:
                edit[key] = hostile_value(rng)
        return _dumps({"format": "resect-recipe/1", "edits": [edit]})
    if kind == 2:
        return _dumps({"format": "resect-recipe/1", "edits": [{"op": "cut", "inputs": ["d1"], "outputs": ["d1:0:0"]}]})
    if kind == 3:
        return _dumps({"format": "resect-recipe/1", "edits": [{"op": "cut", "outputs": ["d1:\u0661:0"]}]})
    if kind == 4:
        return _dumps(
            {"format": "resect-recipe/1", "edits": [{"op": "set_input_shape", "input": "x", "shape": [10**4500]}]}
        )
    return _dumps(
        mutate_config({"format": "resect-recipe/1", "edits": [{"op": "rename", "layer": "d1", "to": "e"}]}, rng, 2)
    )


# --- running one case -------------------------------------------------------------------


@dataclass
class Case:
    label: str
    argv: list[str]
    outputs: list[Path]  # files whose state must not change without --force
    isolate: bool = False  # may block in C (a FIFO): run in a subprocess with a timeout


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


def _state(path: Path) -> Any:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    target = os.readlink(path) if stat.S_ISLNK(info.st_mode) else None
    return (info.st_mode, info.st_size, info.st_mtime_ns, target)


def _run_isolated(case: Case, root: str, site: Path) -> tuple[Any, str, float]:
    import subprocess

    code = "import sys; sys.path.insert(1, sys.argv.pop(1)); from resect.cli.main import main; raise SystemExit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": str(site), "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, root, *case.argv],
            capture_output=True,
            text=True,
            timeout=CASE_SECONDS * 2,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return "hang", "", 0.0
    return done.returncode, done.stderr, 0.0


def run_case(
    case: Case, main: Callable[[list[str]], int], marker: Path, folder: Path, root: str, site: Path
) -> str | None:
    """Run one case (in this process unless it may block in C); ``None`` if the contract
    held, else what broke."""
    before = {path: _state(path) for path in case.outputs}
    leftovers_before = {p.name for p in folder.iterdir() if p.name.startswith(".resect-")}
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if case.isolate:
        code, stderr, _ = _run_isolated(case, root, site)
        if code == "hang":
            return f"hang: more than {CASE_SECONDS * 2:.0f} s"
    else:
        out, err = io.StringIO(), io.StringIO()
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
        code = None
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(case.argv)
        except _Timeout:
            return f"hang: more than {CASE_SECONDS:.0f} s"
        except SystemExit as exit_:
            code = exit_.code
        except BaseException as error:  # noqa: BLE001 - any escape is a broken contract
            return f"uncaught {type(error).__name__}: {str(error)[:120]!r} " + traceback.format_exc(limit=-2)[-300:]
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
            gc.enable()
        stderr = err.getvalue()
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    lines = stderr.strip().splitlines()
    if code not in (0, 2):
        return f"exit status {code!r}"
    if "Traceback" in stderr:
        return "traceback on stderr"
    if code == 2 and len(lines) != 1:
        return f"{len(lines)} stderr lines on exit 2: {lines[:3]!r}"
    if grown > CASE_MEMORY_MB:
        return f"peak memory grew by {grown:.0f} MB"
    if marker.exists():
        return "code named by the file ran (marker written)"
    for path, state in before.items():
        if _state(path) != state:
            return f"{path.name} changed without --force"
    if code == 0 and case.argv[0] == "render" and case.argv[-1].endswith(".svg"):
        from xml.etree import ElementTree

        try:
            ElementTree.parse(case.argv[-1])
        except (ElementTree.ParseError, OSError) as error:
            return f"render wrote an SVG that is not well-formed XML ({error})"
    leftovers = {p.name for p in folder.iterdir() if p.name.startswith(".resect-")} - leftovers_before
    if leftovers:
        return f"partial output left: {sorted(leftovers)}"
    return None


def make_case(index: int, rng: random.Random, seeds: dict[str, Path], folder: Path) -> Case:
    """Case ``index``: a hostile model, recipe or output path, and the command to run."""
    kinds = ["config", "graph", "container", "recipe", "output", "legacy", "savedmodel"]
    kind = rng.choices(kinds, [35, 20, 10, 15, 10, 10, 8])[0]
    model = seeds["keras"]
    recipe: Path | None = None
    if kind in ("config", "graph"):
        config = keras_config(seeds["keras"])
        config = mutate_config(config, rng, rng.randrange(1, 4)) if kind == "config" else graph_mutation(config, rng)
        model = write_keras(seeds["keras"], folder / f"case_{index}.keras", text=_dumps(config))
    elif kind == "legacy":
        config = json.loads(_h5_text(seeds["h5"]))
        config = mutate_config(config, rng, rng.randrange(1, 4)) if rng.random() < 0.5 else graph_mutation(config, rng)
        model = write_h5_config(seeds["h5"], folder / f"case_{index}.h5", _dumps(config))
    elif kind == "container":
        model = container_case(seeds, folder, rng)
    elif kind == "savedmodel":
        model = savedmodel_case(seeds["savedmodel"], folder / f"case_{index}_savedmodel", rng)
    elif kind == "recipe":
        recipe = folder / f"case_{index}.resect.json"
        choice = rng.random()
        if choice < 0.1:
            recipe = Path("/dev/zero")
        elif choice < 0.2:
            recipe = folder / "recipe_fifo.json"
            if not recipe.exists():
                os.mkfifo(recipe)
        else:
            recipe.write_text(recipe_text(rng), encoding="utf8", errors="surrogatepass")
    out = folder / f"out_{index}.svg"
    outputs: list[Path] = []
    if kind == "output" or rng.random() < 0.2:
        style = rng.randrange(4)
        if style == 0:
            out.symlink_to(folder / f"missing_{index}.svg")
        elif style == 1:
            out.write_text("keep me")
        elif style == 2:
            out = folder / f"dir_{index}.svg"
            out.mkdir()
        else:
            out = folder / "no_such_folder" / "out.svg"
        outputs.append(out)
    command = rng.choice(["inspect", "render", "render"] if recipe is None else ["render", "apply"])
    if command == "inspect":
        argv = ["inspect", str(model), "--fast", "--json"]
    elif command == "render":
        argv = ["render", str(model), *([str(recipe)] if recipe else []), "-o", str(out)]
    else:  # apply stops before Keras on every bad recipe: only the fast checks run here
        assert recipe is not None
        target = folder / f"apply_{index}.keras"
        target.write_text("keep me")
        outputs.append(target)
        argv = ["apply", str(model), str(recipe), "-o", str(target)]
    fifo = any(Path(arg).name in ("fifo", "model_fifo.keras", "recipe_fifo.json", "legacy_link.h5") for arg in argv)
    fifo = fifo or (kind == "container" and Path(model).name in ("container_4.keras",))
    return Case(f"{index}:{kind}:{command}", argv, outputs, isolate=fifo)


def _h5_text(path: Path) -> str:
    import h5py

    with h5py.File(path, "r") as h5:
        text = h5.attrs["model_config"]
    return text.decode() if isinstance(text, bytes) else str(text)


def _dumps(config: Any) -> str:
    try:
        return json.dumps(config).replace(f'"{HUGE}"', "1" + "0" * 5000)
    except (RecursionError, ValueError):
        return '{"class_name": "Functional", "config": {"layers": [' * 200_000


def run_campaign(
    cases: int,
    seed: int,
    folder: Path,
    seeds_folder: Path,
    root: str,
    report: Callable[[str], None] | None = None,
    indices: Iterable[int] | None = None,
) -> list[tuple[str, str]]:
    """``cases`` cases from ``seed`` (or just the cases ``indices`` of that campaign) against
    the checkout at ``root`` (first on ``sys.path``); the (case, what broke) of each failure."""
    from resect.cli.main import main

    seeds = build_seeds(seeds_folder)
    marker = folder / "MARKER"
    _fake_packages(folder / "site", marker)
    sys.path.insert(0, str(folder / "site"))
    failures = []
    try:
        for index in range(cases) if indices is None else indices:
            rng = random.Random(f"{seed}:{index}")
            case_folder = folder / f"c{index // 50}"
            case_folder.mkdir(exist_ok=True)
            try:
                case = make_case(index, rng, seeds, case_folder)
            except RecursionError:
                continue
            problem = run_case(case, main, marker, case_folder, root, folder / "site")
            if problem is not None:
                failures.append((case.label, problem))
                if report is not None:
                    report(f"{case.label}: {problem.splitlines()[0][:160]}")
    finally:
        sys.path.remove(str(folder / "site"))
    return failures


def _fake_packages(site: Path, marker: Path) -> None:
    """``keras_hub``, ``keras_cv`` and ``keras_nlp`` packages whose import writes ``marker``."""
    for name in ("keras_hub", "keras_cv", "keras_nlp"):
        package = site / name
        package.mkdir(parents=True, exist_ok=True)
        payload = f"open({str(marker)!r}, 'w').close()\n"
        (package / "__init__.py").write_text(payload)
        (package / "evil.py").write_text(payload)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--folder", default=None)
    parser.add_argument(
        "--memory-mb", type=int, default=3000, help="address-space limit (a MemoryError, not the OOM killer)"
    )
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_AS, (args.memory_mb << 20, resource.getrlimit(resource.RLIMIT_AS)[1]))
    sys.path.insert(0, args.root)
    import tempfile

    work = Path(args.folder or tempfile.mkdtemp(prefix="resect-fuzz-"))
    seeds_folder = Path(tempfile.gettempdir()) / "resect-fuzz-seeds"
    found = run_campaign(args.cases, args.seed, work, seeds_folder, args.root, lambda line: print(line, flush=True))
    print(f"{len(found)} of {args.cases} cases broke the contract ({args.root})")
