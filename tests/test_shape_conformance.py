"""Generated conformance test of the pure-Python shape rules against Keras itself.

The cases come from ``core.surgery.shape_domain.DOMAIN``, the table that also gates the
rules: for every class, the defaults, every sample value of every option one at a time,
the product of the options that interact in the geometry (kernel, strides, padding,
dilation, pool size) and the product of the flags (bias, LoRA, groups, ...), each on
every sample input. Whatever the rules answer must be Keras' answer (output shapes,
weight shapes, trainable flags); a config Keras refuses proves nothing and is skipped.
"""

from __future__ import annotations

import itertools
import time

import pytest

from resect.core.surgery.shape_domain import DOMAIN, proved
from resect.core.surgery.shapes import output_shapes, weight_shapes

GEOMETRY = ("kernel_size", "strides", "padding", "dilation_rate", "pool_size")
FLAGS = (
    "use_bias", "lora_rank", "groups", "depth_multiplier", "center", "scale", "keepdims", "return_sequences",
    "reset_after", "data_format", "shared_axes", "filters", "units",
)  # fmt: skip


def _product(domain, base: dict, keys: tuple[str, ...]) -> list[dict]:
    present = [k for k in keys if k in domain.options]
    return [
        {**base, **dict(zip(present, values, strict=True))}
        for values in itertools.product(*(domain.options[k].samples for k in present))
    ]


def generated_cases(class_name: str) -> list[tuple[dict, list]]:
    """(config, input shapes) cases for one class, without duplicates."""
    domain = DOMAIN[class_name]
    base = {key: domain.options[key].samples[0] for key in domain.required}
    configs = [base]
    for key, option in domain.options.items():
        configs += [{**base, key: value} for value in option.samples]
    configs += _product(domain, base, GEOMETRY) + _product(domain, base, FLAGS)
    seen: set[str] = set()
    cases = []
    for config in configs:
        for inputs in domain.inputs:
            key = repr((sorted(config.items()), inputs))
            if key not in seen:
                seen.add(key)
                cases.append((config, [list(shape) for shape in inputs]))
    return cases


@pytest.fixture(scope="module")
def keras_answer():
    from resect.core.keras_backend.layer_answers import keras_layer_answer

    return keras_layer_answer


@pytest.mark.parametrize("class_name", sorted(DOMAIN))
def test_rules_match_keras_on_every_generated_case(class_name, keras_answer):
    answered = proved_cases = 0
    wrong = []
    for config, inputs in generated_cases(class_name):
        assert proved(class_name, config), (class_name, config)  # the table's own samples are in its domain
        try:
            keras = keras_answer(class_name, config, inputs)
        except Exception:  # noqa: BLE001 - Keras refuses this combination: nothing to prove
            continue
        proved_cases += 1
        shapes = output_shapes(class_name, config, [tuple(s) for s in inputs])
        weights = weight_shapes(class_name, config, [tuple(s) for s in inputs])
        expected_shapes = [tuple(s) for s in keras["outputs"]]
        expected_weights = [(tuple(shape), trainable) for _name, shape, trainable in keras["weights"]]
        if shapes is not None:
            answered += 1
            if shapes != expected_shapes:
                wrong.append(f"{config} on {inputs}: shapes {shapes} != Keras {expected_shapes}")
        if weights is not None and [(tuple(s), t) for _n, s, t in weights] != expected_weights:
            wrong.append(f"{config} on {inputs}: weights {weights} != Keras {keras['weights']}")
    assert not wrong, "\n".join(wrong[:10])
    assert proved_cases and answered, f"{class_name}: no case where the rules answer and Keras agrees"


SIX = [  # the cases a hand-picked list missed (issue 14)
    ("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal"}, [(None, 10, 2)], [(None, 10, 4)], 28),
    ("PReLU", {"shared_axes": [1, 2]}, [(None, 4, 5, 6)], [(None, 4, 5, 6)], 6),
    ("PReLU", {"shared_axes": 1}, [(None, 4, 5)], [(None, 4, 5)], 5),
    ("Dense", {"units": 3, "lora_rank": 2}, [(None, 5)], [(None, 3)], 5 * 3 + 3 + 5 * 2 + 2 * 3),
    ("Add", {}, [(None, 4, 1, 8), (None, 1, 5, 8)], [(None, 4, 5, 8)], 0),
    ("Multiply", {}, [(None, 4, 5, 8), (None, 8)], [(None, 4, 5, 8)], 0),
]


@pytest.mark.parametrize(("class_name", "config", "inputs", "shape", "params"), SIX, ids=[c[0] for c in SIX])
def test_the_six_wrong_cases(class_name, config, inputs, shape, params, keras_answer):
    keras = keras_answer(class_name, config, inputs)
    assert [tuple(s) for s in keras["outputs"]] == shape
    assert output_shapes(class_name, config, inputs) == shape
    weights = weight_shapes(class_name, config, inputs)
    assert weights is not None
    assert sum(_size(s) for _n, s, _t in weights) == params == sum(_size(s) for _n, s, _t in keras["weights"])
    assert [t for _n, _s, t in weights] == [t for _n, _s, t in keras["weights"]]


@pytest.mark.serial
def test_outside_the_domain_is_unknown_at_once():
    outside = [
        ("Conv2D", {"filters": 4, "kernel_size": 3, "data_format": "channels_first"}, [(None, 3, 9, 9)]),
        ("Dense", {"units": 4, "quantization_config": {"mode": "int8"}}, [(None, 5)]),
        ("LayerNormalization", {"rms_scaling": True}, [(None, 5)]),
        ("Bidirectional", {"layer": {}}, [(None, 5, 3)]),
        ("LSTM", {"units": 4, "return_state": True}, [(None, 5, 3)]),
        ("Dense", {"units": 4, "some_future_option": 3}, [(None, 5)]),
    ]
    started = time.perf_counter()
    for class_name, config, inputs in outside:
        assert output_shapes(class_name, config, inputs) is None, class_name
        assert weight_shapes(class_name, config, inputs) is None, class_name
    assert time.perf_counter() - started < 0.05


def _size(shape) -> int:
    size = 1
    for dim in shape:
        size *= dim
    return size
