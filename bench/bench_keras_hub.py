"""KerasHub models: ``resect inspect --fast`` (no TensorFlow), ``resect inspect`` (the full
layer graph, built without allocating weights) against ``keras.saving.load_model`` of the
same file, whole processes. Cases: a small BERT and a ~1B-parameter Gemma configuration
(27 layers, hidden 1024, vocabulary 256,000, bfloat16 weights: a 2 GB file), both built
once into the bench cache folder outside the repository."""

from __future__ import annotations

import sys
from pathlib import Path

from run import ROOT, cached_model, measure, tool_row

PY = sys.executable
CASES = {
    "keras_hub_bert_small": (
        "BertBackbone(vocabulary_size=30522, num_layers=4, num_heads=4, hidden_dim=256, intermediate_dim=1024, "
        "max_sequence_length=512)"
    ),
    "keras_hub_gemma_1b": (
        "GemmaBackbone(vocabulary_size=256000, num_layers=27, num_query_heads=8, num_key_value_heads=1, "
        "hidden_dim=1024, intermediate_dim=16384, head_dim=128, dtype='bfloat16')"
    ),
}
KERAS_LOAD = "import sys, keras, keras_hub; keras.saving.load_model(sys.argv[1], compile=False)"


def model_path(case: str) -> Path:
    return cached_model(case, f"import sys, keras_hub; keras_hub.models.{CASES[case]}.save(sys.argv[1])")


def run() -> list[dict]:
    rows: list[dict] = []
    for case in CASES:
        path = str(model_path(case))
        for tool, command in (
            ("resect inspect --fast --json", [PY, str(ROOT / "main.py"), "inspect", path, "--fast", "--json"]),
            ("resect inspect --json (full graph)", [PY, str(ROOT / "main.py"), "inspect", path, "--json"]),
            ("python -c 'keras load_model'", [PY, "-c", KERAS_LOAD, path]),
        ):
            rows.append(tool_row(case, tool, measure(command)))
    return rows
