"""``resect render``: SVG and PNG files from the command line, without Qt or TensorFlow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
MAIN = str(ROOT / "main.py")
SVG = "{http://www.w3.org/2000/svg}"


def resect(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, MAIN, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def _keys(svg_path: Path) -> set[str]:
    root = ET.parse(svg_path).getroot()
    return {g.get("data-key") for g in root.iter(f"{SVG}g") if g.get("data-key")}


def test_render_svg_and_png_without_qt_or_tensorflow(zoo, tmp_path):
    model = str(zoo.path("resnet50"))
    svg, png = tmp_path / "graph.svg", tmp_path / "graph.png"
    code = (
        "import sys\n"
        "from resect.cli.main import main\n"
        f"assert main(['render', {model!r}, '-o', {str(svg)!r}]) == 0\n"
        f"assert main(['render', {model!r}, '-o', {str(png)!r}, '--collapse']) == 0\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'PySide6', 'pyqtgraph'))\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout
    assert "conv1_conv" in _keys(svg) and len(_keys(svg)) == 177
    image = Image.open(png)
    assert image.format == "PNG" and image.size[0] > 200 and image.size[1] > 400
    extrema = image.convert("L").getextrema()
    assert extrema[0] < 100 and extrema[1] == 255  # dark text and white background


def test_render_lr_with_named_collapsed_blocks(zoo, tmp_path):
    out = tmp_path / "incep.svg"
    done = resect(
        "render", str(zoo.path("inception_v3")), "-o", str(out), "--direction", "LR", "--collapse", "mixed5,mixed6"
    )
    assert done.returncode == 0, done.stderr
    keys = _keys(out)
    assert {"mixed5", "mixed6"} <= keys and "conv2d_50" not in keys
    root = ET.parse(out).getroot()
    assert float(root.get("width")) > float(root.get("height"))


def test_render_with_a_recipe_outlines_the_new_head(zoo, tmp_path):
    recipe = tmp_path / "head.resect.json"
    edits = [
        {
            "op": "replace_head",
            "at": "conv3_block2_out",
            "layers": [
                {"class_name": "GlobalAveragePooling2D", "config": {"name": "gap2"}},
                {"class_name": "Dense", "config": {"units": 2, "activation": "softmax", "name": "two_classes"}},
            ],
        }
    ]
    recipe.write_text(json.dumps({"format": "resect-recipe/1", "edits": edits}))
    out = tmp_path / "edited.svg"
    done = resect("render", str(zoo.path("small_resnet")), str(recipe), "-o", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    keys = _keys(out)
    assert "predictions" not in keys and "avg_pool" not in keys
    assert {"gap2", "two_classes", "conv3_block2_out"} <= keys
    assert text.count('stroke="#e0472b"') >= 2  # outlined as changed


def test_refuses_to_overwrite_and_force_does(zoo, tmp_path):
    out = tmp_path / "graph.svg"
    out.write_text("keep me")
    done = resect("render", str(zoo.path("siamese")), "-o", str(out))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "already exists" in done.stderr and str(out) in done.stderr
    assert out.read_text() == "keep me"
    done = resect("render", str(zoo.path("siamese")), "-o", str(out), "--force")
    assert done.returncode == 0, done.stderr
    assert {"left", "right", "tower_conv", "score"} <= _keys(out)
    assert [p.name for p in tmp_path.iterdir()] == ["graph.svg"]  # no temporary left behind


def test_bad_input_is_one_line_and_exit_2(zoo, tmp_path):
    corrupt = tmp_path / "broken.keras"
    corrupt.write_bytes(b"PK\x03\x04 this is not really a zip")
    recipe = tmp_path / "bad.resect.json"
    recipe.write_text(json.dumps({"format": "resect-recipe/1", "edits": [{"op": "cut", "outputs": ["no_such_layer"]}]}))
    cases = [
        (str(zoo.path("small_resnet")), str(recipe), "-o", str(tmp_path / "g.svg")),
        (str(corrupt), "-o", str(tmp_path / "a.svg")),
        (str(tmp_path / "missing.keras"), "-o", str(tmp_path / "b.svg")),
        (str(zoo.path("siamese")), "-o", str(tmp_path / "c.jpg")),
        (str(zoo.path("siamese")), "-o", str(tmp_path / "no" / "such" / "d.svg")),
        (str(zoo.path("small_resnet")), "-o", str(tmp_path / "e.svg"), "--collapse", "no_such_block"),
        (str(zoo.path("small_resnet")), "-o", str(tmp_path / "f.svg"), "--highlight", "nope"),
    ]
    for args in cases:
        done = resect("render", *args)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.startswith("resect: ") and done.stderr.count("\n") == 1, done.stderr
        assert "Traceback" not in done.stderr
    assert "no_such_layer" in resect("render", *cases[0]).stderr
    assert "broken.keras" in resect("render", *cases[1]).stderr
    assert sorted(tmp_path.iterdir()) == sorted([corrupt, recipe])  # nothing half-written
