"""The Keras worker process (``python -m resect.core.keras_backend.service``) driven over its
pipes as the app drives it, and the shape table it sends, checked against Keras itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from service_client import running_server

from resect.core.keras_backend.service import encode_input_job, result_from_json
from resect.core.reader import read_model
from resect.core.shape_table import apply_shape_table, shape_table
from resect.core.surgery.edits import Cut, SetInputShape

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def keras():
    from resect.core.keras_backend.runtime import import_keras

    return import_keras()


@pytest.fixture(scope="module")
def server():
    yield from running_server()


def test_shapes_table_fills_what_keras_knows(server, zoo, keras):
    path = str(zoo.path("siamese", "tf2.h5"))
    (event,) = server.ask("shapes", path=path)
    assert event["event"] == "done", event
    graph = read_model(path)
    filled = apply_shape_table(graph, event["result"]["table"])
    model = keras.models.load_model(path, compile=False)
    assert graph.layer("tower_dense").nodes[1].output_shapes != ((None, 16),)  # the file does not record it
    assert filled.layer("tower_dense").nodes[1].output_shapes == ((None, 16),)
    for layer in model.layers:
        for index, node in enumerate(layer._inbound_nodes):
            ours = filled.layer(layer.name).nodes[index]
            assert ours.output_shapes == tuple(tuple(t.shape) for t in node.output_tensors)


@pytest.mark.parametrize(
    ("name", "fmt"), [("nested", "h5"), ("nested", "keras"), ("multi_io", "h5"), ("frozen_block", "tf2.h5")]
)
def test_shape_table_round_trip_equals_fill_shapes(zoo, name, fmt):
    """``apply_shape_table(read, shape_table(read, filled)) == filled`` (nested models too,
    and an empty table for a file that records everything Keras knows)."""
    from resect.core.keras_backend.loading import fill_shapes, load_keras_model

    path = zoo.path(name, fmt)
    graph = read_model(path)
    filled = fill_shapes(graph, load_keras_model(path, graph))
    table = json.loads(json.dumps(shape_table(graph, filled)))  # as it travels
    assert apply_shape_table(graph, table) == filled
    if name == "nested":
        assert any("sub" in entry for entry in table["layers"].values())


def test_input_report_matches_keras_at_the_new_shape(server, zoo, keras):
    path = str(zoo.path("small_resnet", "keras"))
    graph = read_model(path)
    (event,) = server.ask(
        "input_report", path=path, job=encode_input_job(graph, SetInputShape("input_layer", (64, 64, 3)))
    )
    assert event["event"] == "done", event
    result = event["result"]
    assert result["lost"] == [] and result["kept"] == [layer.name for layer in graph.layers if layer.weights]
    from tests.zoo import build

    rebuilt = keras.models.clone_model(build("small_resnet"), input_tensors=keras.Input((64, 64, 3)))
    assert result["outputs"] == [["predictions:0:0", list(rebuilt.outputs[0].shape)]]


def test_export_progress_result_and_numbers(server, zoo, keras, tmp_path):
    path = str(zoo.path("small_resnet", "keras"))
    out = tmp_path / "cut.keras"
    edits = [Cut(outputs=("conv3_block2_out",)).to_json()]
    job = {"model": path, "edits": edits, "out": str(out), "format": "keras", "verify": True, "force": False}
    events = server.ask("export", job=job)
    stages = [e["stage"] for e in events if e["event"] == "progress"]
    assert events[-1]["event"] == "done", events[-1]
    assert stages[:2] == ["reading", "loading"] and "verifying" in stages
    result = result_from_json(events[-1]["result"])
    assert result.verify.ok and result.out == str(out)
    original = keras.models.load_model(path, compile=False)
    exported = keras.models.load_model(out, compile=False)
    assert exported.count_params() == result.params_after.total
    x = np.random.default_rng(0).standard_normal((2, *original.inputs[0].shape[1:])).astype("float32")
    expected = keras.Model(original.inputs, original.get_layer("conv3_block2_out").output)(x)
    np.testing.assert_allclose(np.asarray(exported(x)), np.asarray(expected), atol=1e-5)


def test_cancel_failure_and_unknown_request_are_one_line_each(server, zoo, tmp_path):
    path = str(zoo.path("small_resnet", "keras"))
    out = tmp_path / "never.keras"
    job = {"model": path, "edits": [], "out": str(out), "format": "keras", "verify": True, "force": False}
    request_id = server.request("export", job=job)
    server.send({"op": "cancel", "id": request_id})
    assert server.events(request_id)[-1]["event"] == "cancelled"
    assert not out.exists() and list(tmp_path.iterdir()) == []  # nothing half-written
    (bad,) = server.ask("shapes", path=str(tmp_path / "missing.keras"))
    assert bad["event"] == "failed" and "missing.keras" in bad["message"] and "\n" not in bad["message"]
    (unknown,) = server.ask("frobnicate")
    assert unknown == {"id": unknown["id"], "event": "failed", "message": "unknown request 'frobnicate'"}
