"""The pure-Python shape and parameter estimator, checked layer by layer against Keras itself."""

from __future__ import annotations

import pytest

from resect.core.surgery.shapes import output_shapes, weight_shapes

CASES = [
    ("Dense", {"units": 7}, [(None, 12)]),
    ("Dense", {"units": 5, "use_bias": False}, [(None, 4, 6)]),
    ("Conv1D", {"filters": 6, "kernel_size": 3, "strides": 2}, [(None, 17, 4)]),
    ("Conv2D", {"filters": 8, "kernel_size": [3, 3], "padding": "same", "strides": [2, 2]}, [(None, 15, 15, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 5, "dilation_rate": 2}, [(None, 20, 21, 2)]),
    ("Conv2D", {"filters": 6, "kernel_size": 1, "groups": 2}, [(None, 8, 8, 4)]),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2}, [(None, 9, 9, 5)]),
    ("SeparableConv2D", {"filters": 7, "kernel_size": 3, "padding": "same"}, [(None, 10, 10, 4)]),
    ("BatchNormalization", {}, [(None, 6, 6, 10)]),
    ("BatchNormalization", {"center": False}, [(None, 9)]),
    ("LayerNormalization", {}, [(None, 5, 11)]),
    ("Embedding", {"input_dim": 50, "output_dim": 8}, [(None, 10)]),
    ("Dropout", {"rate": 0.5}, [(None, 7, 7, 3)]),
    ("Flatten", {}, [(None, 4, 4, 2048)]),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2}, [(None, 15, 15, 4)]),
    ("AveragePooling2D", {"pool_size": 2, "padding": "same"}, [(None, 7, 7, 4)]),
    ("MaxPooling1D", {}, [(None, 9, 4)]),
    ("GlobalAveragePooling2D", {}, [(None, 7, 7, 32)]),
    ("GlobalMaxPooling2D", {"keepdims": True}, [(None, 7, 7, 32)]),
    ("GlobalAveragePooling1D", {}, [(None, 12, 6)]),
    ("Activation", {"activation": "relu"}, [(None, 3, 3)]),
    ("ReLU", {}, [(None, 8)]),
    ("Softmax", {}, [(None, 8)]),
    ("Reshape", {"target_shape": [4, -1]}, [(None, 24)]),
    ("ZeroPadding2D", {"padding": [[3, 3], [3, 3]]}, [(None, 224, 224, 3)]),
    ("Add", {}, [(None, 4, 4, 8), (None, 4, 4, 8)]),
    ("Concatenate", {}, [(None, 4, 4, 8), (None, 4, 4, 3)]),
    ("LSTM", {"units": 6, "return_sequences": True}, [(None, 9, 4)]),
    ("LSTM", {"units": 6}, [(None, 9, 4)]),
    ("GRU", {"units": 5}, [(None, 7, 3)]),
    ("GRU", {"units": 5, "reset_after": False}, [(None, 7, 3)]),
    ("SimpleRNN", {"units": 4, "use_bias": False}, [(None, 7, 3)]),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2}, [(None, 7, 7, 5)]),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same"}, [(None, 7, 7, 5)]),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 2, "strides": 3}, [(None, 5, 4)]),
    ("UpSampling2D", {"size": [2, 3]}, [(None, 4, 5, 6)]),
    ("RepeatVector", {"n": 3}, [(None, 5)]),
    ("Permute", {"dims": [2, 1]}, [(None, 5, 7)]),
]


@pytest.mark.parametrize(("class_name", "config", "inputs"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_shapes_and_params_match_keras(class_name, config, inputs):
    import keras

    layer = getattr(keras.layers, class_name).from_config(dict(config))
    dtype = "int32" if class_name == "Embedding" else "float32"
    tensors = [keras.Input(batch_shape=shape, dtype=dtype) for shape in inputs]
    out = layer(tensors[0] if len(tensors) == 1 else tensors)
    assert output_shapes(class_name, config, inputs) == [tuple(out.shape)]
    ours = weight_shapes(class_name, config, inputs)
    assert ours is not None
    assert [shape for _, shape, _ in ours] == [tuple(w.shape) for w in layer.weights]
    assert [trainable for _, _, trainable in ours] == [w.trainable for w in layer.weights]
    assert sum(1 for _ in ours) == len(layer.weights)


def test_unknown_is_none():
    assert output_shapes("LSTM", {"units": 4, "return_state": True}, [(None, 5, 3)]) is None
    assert weight_shapes("Bidirectional", {}, [(None, 5, 3)]) is None
    assert output_shapes("Dense", {"units": 4}, [None]) is None
    assert weight_shapes("Dense", {"units": 4}, [(None, None)]) is None
