"""Learning-rate schedules: values equal TensorFlow 2.15's (tests/golden/schedules.json, written by
tools/read_tf_schedule_golden.py); optimizers take a schedule, a callable or a tensor as their
learning rate and evaluate it at their step."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

import torch_estimator as te

GOLDEN = json.load(open(os.path.join(os.path.dirname(__file__), "golden", "schedules.json")))


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: f"{c['kind']}-{c['name']}-{sorted(c['kwargs'])}")
def test_schedules_give_tensorflows_values(case):
    kwargs = dict(case["kwargs"])
    if case["kind"] == "function":
        function = getattr(te.train, case["name"])
        if case["name"] == "piecewise_constant":
            schedule = function(te.train.get_global_step, **kwargs)
        else:
            schedule = function(global_step=te.train.get_global_step, **kwargs)
    else:
        schedule = getattr(te.optimizers.schedules, case["name"])(**kwargs)
    got = [schedule(step) for step in GOLDEN["steps"]]
    # TF computes in float32: 2e-6 relative, and its cancellation near the end of a decay (2e-9 absolute)
    np.testing.assert_allclose(got, case["values"], rtol=2e-6, atol=2e-9, err_msg=case["name"])


def test_the_tf1_functions_need_a_global_step():
    with pytest.raises(ValueError, match="global_step is required for exponential_decay"):
        te.train.exponential_decay(0.1, None, 100, 0.9)
    with pytest.raises(ValueError, match="1 less than the length of values"):
        te.optimizers.schedules.PiecewiseConstantDecay([10], [1.0])
    with pytest.raises(ValueError, match="decay_steps must be > 0"):
        te.optimizers.schedules.ExponentialDecay(0.1, 0, 0.5)


def _weights_after(tmp_path, learning_rate, steps):
    def model_fn(features, labels, mode):
        w = te.get_variable("w", [1, 1], initializer="zeros")
        loss = torch.mean((features["x"] @ w - labels) ** 2)
        return te.EstimatorSpec(mode, loss=loss, train_op=te.optimizers.SGD(learning_rate).minimize(loss))

    x = np.ones((4, 1), np.float32)
    estimator = te.Estimator(model_fn, model_dir=str(tmp_path))
    estimator.train(
        te.inputs.numpy_input_fn({"x": x}, np.ones((4, 1), np.float32), batch_size=4, shuffle=False, num_epochs=None),
        steps=steps,
    )
    return estimator


def test_an_optimizer_evaluates_its_schedule_at_each_step(tmp_path):
    # rate 0.1 for steps 0-2, then 0: training stops moving after the third update
    schedule = te.optimizers.schedules.PiecewiseConstantDecay([2], [0.1, 0.0])
    three = _weights_after(tmp_path / "a", schedule, 3).get_variable_value("w")
    ten = _weights_after(tmp_path / "b", schedule, 10)
    assert np.array_equal(ten.get_variable_value("w"), three) and three[0, 0] > 0
    assert ten.get_variable_value("training/SGD/learning_rate") == 0.0  # the value at the last step
    by_hand = 0.0
    for _ in range(3):  # SGD on (w - 1)^2: w -= 0.1 * 2 (w - 1)
        by_hand -= 0.1 * 2 * (by_hand - 1)
    np.testing.assert_allclose(three[0, 0], by_hand, rtol=1e-6)


def test_a_learning_rate_may_be_a_callable_or_a_tensor():
    assert te.optimizers.SGD(torch.tensor(0.25)).learning_rate == 0.25
    optimizer = te.optimizers.Adagrad(lambda step: 0.5 / (1 + step))
    assert optimizer.learning_rate == 0.5
    optimizer.iterations = 4
    assert optimizer.learning_rate == 0.1
    with pytest.raises(ValueError, match="learning_rate .*at step 0.* must be >= 0"):
        _ = te.optimizers.SGD(lambda step: -1.0).learning_rate
    with pytest.raises(TypeError, match="learning_rate must be a number"):
        te.optimizers.SGD("fast")
