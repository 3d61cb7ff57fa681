"""Activations in the Keras worker process: summaries streamed, arrays kept there,
original beside edited, detail on request, cancel; and the summaries themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from service_client import running_server

from resect.core.activation_summary import channel_grid, decode_grid, grid_channel_at, histogram, summarize, top_k

ROOT = Path(__file__).resolve().parents[1]


def test_channel_grid_tiles_each_channel_on_its_own_range():
    value = np.zeros((1, 64, 48, 5), np.float32)
    for channel in range(5):
        value[0, :, :, channel] = channel * 10 + np.arange(48)[np.newaxis, :]  # a ramp, offset per channel
    grid = channel_grid(value, tile=16)
    assert (grid["rows"], grid["cols"], grid["tile"], grid["channels"]) == (2, 3, [16, 12], 5)
    image = decode_grid(grid)
    assert image.shape == (32, 36)
    assert image[0, 0] == 0 and image[0, 11] == 255  # every ramp spans 0..255 in its own tile
    assert grid["ranges"][3] == pytest.approx([30 + 1.5, 30 + 45.5])  # block means of 4 columns
    assert grid_channel_at(grid, 20, 13) == 4 and grid_channel_at(grid, 20, 25) is None  # tile 6 is empty
    assert channel_grid(np.zeros((1, 8), np.float32)) is None


def test_histogram_top_k_and_stats():
    value = np.array([[0.1, 0.7, 0.0, 0.2]], np.float32)
    assert top_k(value, 2) == [[1, pytest.approx(0.7)], [3, pytest.approx(0.2)]]
    assert sum(histogram(np.random.default_rng(0).standard_normal(1000))["counts"]) == 1000
    summary = summarize(value)
    assert summary["shape"] == [1, 4] and summary["stats"]["zeros"] == 0.25 and not summary["image_like"]


@pytest.fixture(scope="module")
def server():
    yield from running_server()


def test_original_beside_edited_in_the_worker(server, zoo):
    from resect.core.keras_backend.activation_run import feeds, open_probes

    path = str(zoo.path("small_resnet", "keras"))
    cut = [{"op": "cut", "inputs": ["conv2_block2_out"], "outputs": ["conv3_block2_out"]}]
    job = {"model": path, "edits": cut, "sources": {"": "random"}, "preprocess": "auto", "seed": 5}
    events = server.events(server.request("activations", job=job))
    final = events[-1]
    assert final["event"] == "done", final
    result = final["result"]
    streamed: dict[str, dict[str, Any]] = {"original": {}, "edited": {}}
    for event in events[:-1]:
        if "data" in event:
            streamed[event["data"]["side"]].update(event["data"]["tensors"])
    assert list(streamed["original"]) == result["original"] and list(streamed["edited"]) == result["edited"]
    assert result["differences"]["conv3_block2_out:0:0"] == 0.0 and max(result["differences"].values()) == 0.0
    assert "conv1_conv:0:0" in result["original"] and "conv1_conv:0:0" not in result["edited"]

    # the same run here, in this process: the worker's summaries are of the same values
    local = open_probes(path).original
    values = local.run(feeds(local, {None: "random"}, seed=5))
    conv = values["conv1_conv:0:0"]
    assert streamed["original"]["conv1_conv:0:0"]["shape"] == list(conv.shape)
    assert streamed["original"]["conv1_conv:0:0"]["stats"]["max"] == pytest.approx(float(conv.max()), abs=1e-5)

    (detail,) = server.events(server.request("activation_detail", side="original", tensor="conv1_conv:0:0"))
    grid = detail["result"]["grid"]
    assert grid["channels"] == 8 and detail["result"]["top_k"] is None
    expected = decode_grid(channel_grid(conv))
    assert np.abs(decode_grid(grid).astype(int) - expected).max() <= 1  # float rounding at most
    (head,) = server.events(server.request("activation_detail", side="original", tensor="predictions:0:0"))
    probs = values["predictions:0:0"][0]
    assert head["result"]["top_k"][0] == [int(np.argmax(probs)), pytest.approx(float(probs.max()), abs=1e-6)]
    (missing,) = server.events(server.request("activation_detail", side="edited", tensor="conv1_conv:0:0"))
    assert missing["event"] == "failed" and "no edited tensor 'conv1_conv:0:0'" in missing["message"]


def test_cancel_then_the_worker_still_answers(server, zoo):
    path = str(zoo.path("small_resnet", "keras"))
    job = {"model": path, "edits": [], "sources": {"": "random"}}
    first = server.request("activations", job=job)
    server.send({"op": "cancel", "id": first})
    assert server.events(first)[-1]["event"] == "cancelled"
    bad = server.events(server.request("activations", job={**job, "sources": {"": str(ROOT / "README.md")}}))
    assert bad[-1]["event"] == "failed"
    assert bad[-1]["message"].startswith("input 'input_layer' (expects shape (None, 32, 32, 3) float32): ")
    again = server.events(server.request("activations", job=job))
    assert again[-1]["event"] == "done" and len(again[-1]["result"]["original"]) > 20
