"""te.layers convolution, pooling and flatten against TensorFlow 2.15's ``tf.compat.v1.layers``
(tests/golden/v1_layers.json, written by tools/read_tf_v1_layers_golden.py): variable names,
shapes and layouts, and outputs from TF's own initial values."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

import torch_estimator as te

GOLDEN = json.load(open(os.path.join(os.path.dirname(__file__), "golden", "v1_layers.json")))


def _id(case):
    return f"{case['fn']}({','.join(f'{k}={v}' for k, v in sorted(case['args'].items()))})"


def _args(case):
    return {k: tuple(v) if isinstance(v, list) else v for k, v in case["args"].items()}


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=_id)
def test_layers_match_tensorflow(case):
    tf_values = {v["name"]: np.array(v["value"], dtype=np.float32) for v in case["variables"]}
    store = te.VariableStore()
    # the store starts from TF's initial values, so the outputs must agree
    store.set_warm_starter(lambda name, value, trainable: torch.from_numpy(tf_values[name]))
    with store.activate():
        out = getattr(te.layers, case["fn"])(torch.tensor(case["input"]), **_args(case))
    assert {n: list(v.shape) for n, v in store.variables().items()} == {
        v["name"]: v["shape"] for v in case["variables"]
    }
    np.testing.assert_allclose(out.detach().numpy(), np.array(case["output"]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", [c for c in GOLDEN["cases"] if c["fn"] != "flatten"], ids=_id)
def test_channels_first_is_the_same_layer_transposed(case):
    tf_values = {v["name"]: np.array(v["value"], dtype=np.float32) for v in case["variables"]}
    store = te.VariableStore()
    store.set_warm_starter(lambda name, value, trainable: torch.from_numpy(tf_values[name]))
    x = torch.tensor(case["input"])
    with store.activate():
        out = getattr(te.layers, case["fn"])(x.movedim(-1, 1), **_args(case), data_format="channels_first")
    np.testing.assert_allclose(out.movedim(1, -1).detach().numpy(), np.array(case["output"]), rtol=1e-5, atol=1e-5)


def test_unnamed_convolutions_are_numbered_and_reused():
    store = te.VariableStore()
    x = torch.randn(2, 5, 5, 3)
    for _ in range(2):
        with store.activate():
            y = te.layers.conv2d(x, 4, 3, activation="relu")
            y = te.layers.max_pooling2d(y, 2, 2)
            y = te.layers.conv2d(y, 2, 1)
            flat = te.layers.flatten(y)
    assert sorted(store.variables()) == ["conv2d/bias", "conv2d/kernel", "conv2d_1/bias", "conv2d_1/kernel"]
    assert flat.shape == (2, 1 * 1 * 2)  # 5x5 -> conv 3 -> 3x3 -> pool 2/2 -> 1x1


def test_flatten_orders_channels_first_as_channels_last():
    x = torch.arange(24.0).reshape(2, 3, 2, 2)  # [batch, channels, h, w]
    assert torch.equal(te.layers.flatten(x, data_format="channels_first"), te.layers.flatten(x.movedim(1, -1)))


def test_regularizers_add_to_the_calls_regularization_losses():
    store = te.VariableStore()
    x = torch.ones(2, 4, 4, 1)
    for _ in range(2):  # recorded afresh on every call
        with store.activate():
            te.layers.conv2d(x, 2, 2, kernel_initializer="ones", kernel_regularizer=lambda k: 0.5 * k.sum(), name="c")
            te.layers.dense(
                torch.ones(2, 3), 1, kernel_initializer="ones", bias_initializer="ones",
                kernel_regularizer=lambda k: k.sum(), bias_regularizer=lambda b: 10 * b.sum(),
            )  # fmt: skip
            losses = te.compat.v1.losses.get_regularization_losses()
            total = te.compat.v1.losses.get_regularization_loss()
    assert [v.item() for v in (loss.detach() for loss in losses)] == [4.0, 3.0, 10.0]
    assert total.detach().item() == 17.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: te.layers.conv2d(torch.ones(2, 4, 4), 2, 3), r"conv2d inputs must have rank 4"),
        (lambda: te.layers.conv2d(torch.ones(1, 4, 4, 1, dtype=torch.int64), 2, 3), "must be floating point"),
        (lambda: te.layers.conv2d(torch.ones(1, 4, 4, 1), 2, (3, 3, 3)), "kernel_size must be a positive integer or 2"),
        (lambda: te.layers.conv2d(torch.ones(1, 4, 4, 1), 2, 3, padding="full"), "padding must be 'valid' or 'same'"),
        (lambda: te.layers.conv2d(torch.ones(1, 9, 9, 1), 2, 3, strides=2, dilation_rate=2), "cannot be combined"),
        (lambda: te.layers.conv1d(torch.ones(1, 4, 1), 0, 3), "filters must be a positive integer"),
        (lambda: te.layers.max_pooling2d(torch.ones(1, 4, 4, 1), 2, 2, data_format="NHWC"), "data_format must be"),
    ],
)
def test_bad_layer_arguments_are_named(call, message):
    store = te.VariableStore()
    with store.activate(), pytest.raises((ValueError, TypeError), match=message):
        call()


def test_layer_objects_own_their_variables():
    store = te.VariableStore()
    shared = te.layers.Dense(3)
    for _ in range(2):
        with store.activate():
            x = torch.ones(2, 4)
            a = shared(x)
            b = shared(x)  # the same object: the same variables
            c = te.layers.Dense(3)(x)  # a new object: dense_1
            y = te.layers.Conv2D(2, 3, padding="same")(torch.ones(1, 4, 4, 1))
            y = te.layers.MaxPooling2D(2, 2)(y)
            te.layers.Dropout(0.5)(y, training=False)
            flat = te.layers.Flatten()(y)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert sorted(store.variables()) == [
        "conv2d/bias", "conv2d/kernel", "dense/bias", "dense/kernel", "dense_1/bias", "dense_1/kernel",
    ]  # fmt: skip
    assert flat.shape == (1, 2 * 2 * 2)


def test_layer_objects_check_arguments_when_built():
    with pytest.raises(TypeError, match="Dense: got an unexpected keyword argument 'unit'"):
        te.layers.Dense(unit=3)
    with pytest.raises(TypeError, match=r"Dense takes \[\] when called; got unexpected \['training'\]"):
        store = te.VariableStore()
        with store.activate():
            te.layers.Dense(3)(torch.ones(1, 2), training=True)
