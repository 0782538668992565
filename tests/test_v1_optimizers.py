"""``te.train``'s TF1 optimizer classes against TensorFlow 2.15's ``tf.compat.v1.train`` optimizers
(tests/golden/v1_optimizers.json, written by tools/read_tf_v1_optimizer_golden.py): the variable
after each of 8 dense steps."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

import torch_estimator as te

GOLDEN = json.load(open(os.path.join(os.path.dirname(__file__), "golden", "v1_optimizers.json")))


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: f"{c['optimizer']}{sorted(c['kwargs'].items())}")
def test_v1_optimizers_follow_tensorflows_trajectory(case):
    opt = getattr(te.compat.v1.train, case["optimizer"])(**case["kwargs"])
    store = te.VariableStore()
    w0 = np.array(GOLDEN["w0"], np.float32)
    with store.activate():
        var = te.get_variable("w", w0.shape, initializer=w0)
    bound = store.optimizer(opt)
    for grad, expected in zip(GOLDEN["grads"], case["trajectory"], strict=True):
        var.grad = torch.tensor(grad)
        bound.apply_gradients([var])
        np.testing.assert_allclose(var.detach().numpy(), np.array(expected), rtol=2e-5, atol=2e-6)


def test_v1_optimizer_names_and_argument_checks():
    assert te.train.GradientDescentOptimizer(0.1).name == "GradientDescent"
    assert te.train.RMSPropOptimizer(0.1).name == "RMSProp"
    with pytest.raises(ValueError, match="initial_accumulator_value must be positive: 0.0"):
        te.train.AdagradOptimizer(0.1, initial_accumulator_value=0.0)
    with pytest.raises(ValueError, match="renaming the slots is not supported"):
        te.train.FtrlOptimizer(0.1, accum_name="acc")
