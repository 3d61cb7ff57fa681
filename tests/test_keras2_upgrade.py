"""The Keras 2 -> 3 config rewrites (``core.upgrade``), one by one, in pure Python."""

from __future__ import annotations

import copy

import pytest

from resect.core.upgrade.report import UpgradeError, summarize
from resect.core.upgrade.upgrader import upgrade_config


def _model(*layers: dict, outputs: list | None = None) -> dict:
    return {
        "class_name": "Functional",
        "config": {
            "name": "m",
            "layers": [
                {
                    "class_name": "InputLayer",
                    "name": "x",
                    "config": {"name": "x", "batch_input_shape": [None, 4]},
                    "inbound_nodes": [],
                },
                *layers,
            ],
            "input_layers": [["x", 0, 0]],
            "output_layers": outputs or [[layers[-1]["name"], 0, 0]],
        },
    }


def _layer(class_name: str, name: str, inbound: list | None = None, **config: object) -> dict:
    return {
        "class_name": class_name,
        "name": name,
        "config": {"name": name, **config},
        "inbound_nodes": [inbound if inbound is not None else [["x", 0, 0, {}]]],
    }


def _rules(upgraded) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for rewrite in upgraded.rewrites:
        found.setdefault(rewrite.rule, []).append(f"{rewrite.layer}: {rewrite.detail}")
    return found


def test_the_input_is_not_changed_and_each_rewrite_is_named():
    root = _model(_layer("LSTM", "lstm", time_major=False, units=3))
    before = copy.deepcopy(root)
    upgraded = upgrade_config(root)
    assert root == before
    rules = _rules(upgraded)
    assert rules["rnn_time_major"] == ["lstm: dropped time_major=False"]
    assert rules["batch_input_shape"] == ["x: batch_input_shape -> batch_shape"]
    layers = upgraded.config["config"]["layers"]
    assert "time_major" not in layers[1]["config"]
    assert layers[0]["config"]["batch_shape"] == [None, 4]


def test_time_major_true_is_refused_naming_the_layer():
    with pytest.raises(UpgradeError, match="layer 'lstm': time_major=True"):
        upgrade_config(_model(_layer("LSTM", "lstm", time_major=True)))


@pytest.mark.parametrize("class_name", ["DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"])
def test_groups_one_is_dropped_other_groups_refused(class_name):
    upgraded = upgrade_config(_model(_layer(class_name, "conv", groups=1, kernel_size=3)))
    assert "groups" not in upgraded.config["config"]["layers"][1]["config"]
    assert summarize(upgraded.rewrites)[1] == f"1 {class_name}: dropped groups=1"
    with pytest.raises(UpgradeError, match="layer 'conv': groups=2"):
        upgrade_config(_model(_layer(class_name, "conv", groups=2)))


def test_mha_shape_keys_move_to_build_config_and_robust_masking_is_dropped():
    entry = _layer(
        "MultiHeadAttention", "mha", num_heads=2, key_dim=4, query_shape=[None, 6, 8], key_shape=[None, 6, 8],
        value_shape=[None, 6, 8], softmax_robust_masking=False,
    )  # fmt: skip
    upgraded = upgrade_config(_model(entry))
    layer = upgraded.config["config"]["layers"][1]
    assert not {"query_shape", "key_shape", "value_shape", "softmax_robust_masking"} & set(layer["config"])
    assert layer["build_config"]["shapes_dict"]["query_shape"] == [None, 6, 8]
    assert set(_rules(upgraded)) >= {"mha_shape_keys", "mha_robust_masking"}


def test_tf_op_mapped_or_refused_naming_the_op():
    upgraded = upgrade_config(
        _model(
            {**_layer("TFOpLambda", "tf.nn.relu", function="nn.relu"), "inbound_nodes": [["x", 0, 0, {"name": None}]]}
        )
    )
    assert _rules(upgraded)["tf_op"] == ["tf.nn.relu: tf.nn.relu -> keras.ops.relu"]
    node = upgraded.config["config"]["layers"][1]["inbound_nodes"][0]
    assert node["args"][0]["config"]["keras_history"] == ["x", 0, 0]  # a bare single-tensor call
    with pytest.raises(UpgradeError, match="tf.math.cumsum has no Keras 3 mapping"):
        upgrade_config(_model(_layer("TFOpLambda", "tf.math.cumsum", function="math.cumsum")))


def test_legacy_calls_become_keras3_calls_with_tensor_kwargs_converted():
    attention = _layer("MultiHeadAttention", "mha", [["x", 0, 0, {"value": ["x", 0, 0]}]], num_heads=1, key_dim=2)
    upgraded = upgrade_config(_model(attention))
    node = upgraded.config["config"]["layers"][1]["inbound_nodes"][0]
    assert node["args"][0]["class_name"] == "__keras_tensor__"
    assert node["kwargs"]["value"]["config"]["keras_history"] == ["x", 0, 0]


def test_nested_sequential_calls_are_renumbered_from_zero():
    inner = {
        "class_name": "Sequential",
        "name": "seq",
        "config": {
            "name": "seq",
            "layers": [
                {"class_name": "InputLayer", "config": {"name": "seq_in", "batch_input_shape": [None, 4]}},
                {"class_name": "Dense", "config": {"name": "d", "units": 2, "batch_input_shape": [None, 4]}},
            ],
        },
        "inbound_nodes": [[["x", 0, 0, {}]]],
    }
    head = _layer("Dense", "out", [["seq", 1, 0, {}]], units=1)
    upgraded = upgrade_config(_model(inner, head, outputs=[["seq", 1, 0]]))
    layers = upgraded.config["config"]["layers"]
    assert layers[2]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["seq", 0, 0]
    assert upgraded.config["config"]["output_layers"] == [["seq", 0, 0]]
    assert "batch_input_shape" not in layers[1]["config"]["layers"][1]["config"]
    assert "nested_call_numbering" in _rules(upgraded)


def test_moved_engine_modules_and_spatial_dropout_keys():
    root = _model(_layer("SpatialDropout2D", "sd", rate=0.1, noise_shape=None, trainable=True))
    root["module"] = "keras.src.engine.functional"
    upgraded = upgrade_config(root)
    assert upgraded.config["module"] == "keras.src.models.functional"
    assert upgraded.config["config"]["layers"][1]["config"] == {"name": "sd", "rate": 0.1}
    with pytest.raises(UpgradeError, match="noise_shape"):
        upgrade_config(_model(_layer("SpatialDropout1D", "sd", noise_shape=[1, 1, 4])))


def test_summary_counts_alike_rewrites():
    layers = [_layer("DepthwiseConv2D", f"dw{i}", groups=1) for i in range(3)]
    lines = summarize(upgrade_config(_model(*layers)).rewrites)
    assert "3 DepthwiseConv2D: dropped groups=1" in lines
