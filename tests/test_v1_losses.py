"""``te.compat.v1.losses`` against TensorFlow 2.15's ``tf.compat.v1.losses`` (tests/golden/v1_losses.json,
written by tools/read_tf_v1_losses_golden.py): every loss, weights (none, per example, per element
with zeros) and reduction."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

import torch_estimator as te

GOLDEN = json.load(open(os.path.join(os.path.dirname(__file__), "golden", "v1_losses.json")))
LOSSES = te.compat.v1.losses
REDUCTIONS = {
    "none": LOSSES.Reduction.NONE,
    "sum": LOSSES.Reduction.SUM,
    "mean": LOSSES.Reduction.MEAN,
    "sum_over_batch_size": LOSSES.Reduction.SUM_OVER_BATCH_SIZE,
    "weighted_sum_by_nonzero_weights": LOSSES.Reduction.SUM_BY_NONZERO_WEIGHTS,
    "weighted_sum_over_nonzero_weights": LOSSES.Reduction.SUM_OVER_NONZERO_WEIGHTS,
}


def _id(case):
    return f"{case['loss']}-{sorted(case['extra'])}-{case['weights']}-{case['reduction']}"


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=_id)
def test_v1_losses_give_tensorflows_values(case):
    values = GOLDEN["values"]
    args = {
        name: np.array(values[key], dtype=np.int64 if key == "sparse" else np.float32)
        for name, key in case["inputs"].items()
    }
    weights = (
        case["weights_value"]
        if isinstance(case["weights_value"], float)
        else np.array(case["weights_value"], np.float32)
    )
    reduction = {} if case["reduction"] is None else {"reduction": REDUCTIONS[case["reduction"]]}
    got = getattr(LOSSES, case["loss"])(**args, **case["extra"], weights=weights, **reduction)
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(
        got.numpy(), np.array(case["value"], np.float32), rtol=2e-6, atol=2e-7, err_msg=_id(case)
    )


def test_v1_loss_errors():
    with pytest.raises(ValueError, match="Invalid Reduction Key auto"):
        LOSSES.mean_squared_error([1.0], [2.0], reduction="auto")
    with pytest.raises(ValueError, match=r"Shapes \(2,\) and \(3,\) are incompatible \(labels and predictions\)"):
        LOSSES.absolute_difference([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="weights can not be broadcast to values"):
        LOSSES.mean_squared_error(np.ones((2, 3)), np.zeros((2, 3)), weights=np.ones(2))
    with pytest.raises(ValueError, match="You must specify 'axis'."):
        LOSSES.cosine_distance(np.ones((2, 3)), np.ones((2, 3)))
    # the default reduction: the weighted sum over the number of non-zero weights (0 when all are 0)
    assert float(LOSSES.mean_squared_error([1.0, 1.0], [3.0, 1.0], weights=[2.0, 0.0])) == 8.0
    assert float(LOSSES.mean_squared_error([1.0], [3.0], weights=[0.0])) == 0.0
