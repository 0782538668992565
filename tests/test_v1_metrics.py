"""``te.compat.v1.metrics`` against TensorFlow 2.15's ``tf.compat.v1.metrics`` (tests/golden/v1_metrics.json,
written by tools/read_tf_v1_metrics_golden.py): every function on three random batches streamed
through one metric, its running (update_op) value after each batch and its final value."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

import torch_estimator as te

GOLDEN = json.load(open(os.path.join(os.path.dirname(__file__), "golden", "v1_metrics.json")))
M = te.compat.v1.metrics


# TF's update_ops of these two are their state (the per-class accuracies, read before the counts
# are added on the first run; the confusion matrix), not the metric's value; ours is the value, as
# every other metric's.
STATE_UPDATE = {"mean_per_class_accuracy", "mean_iou"}


def _id(case):
    extra = ",".join(f"{k}={v}" for k, v in sorted(case["fixed"].items()))
    shapes = ",".join(f"{k}{list(np.shape(v['value']))}" for k, v in sorted(case["batches"][0].items()))
    return f"{case['fn']}({extra};{shapes})"


def _golden(value):
    return np.array(
        [np.nan if v is None else v for v in value]
        if isinstance(value, list)
        else (np.nan if value is None else value),
        dtype=np.float64,
    )


def _batch(batch):
    return {k: np.array(v["value"], dtype=v["dtype"]) for k, v in batch.items()}


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=_id)
def test_v1_metrics_stream_tensorflows_values(case):
    fn = getattr(M, case["fn"])
    streamed = None
    for batch, expected in zip(case["batches"], case["updates"], strict=True):
        metric = fn(**_batch(batch), **case["fixed"])
        if streamed is None:
            streamed = metric
        else:
            streamed.merge_state(metric)  # what the Estimator does with each batch's metric
        value, update_op = streamed
        if case["fn"] in STATE_UPDATE:
            continue
        np.testing.assert_allclose(update_op.numpy().reshape(-1), _golden(expected).reshape(-1), rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(value.numpy().reshape(-1), _golden(case["value"]).reshape(-1), rtol=2e-5, atol=2e-6)
    assert list(value.shape) == case["shape"]


def test_golden_covers_every_function():
    covered = {case["fn"] for case in GOLDEN["cases"]}
    assert covered == set(M.__all__)


def test_top_k_given_ids_match_top_k_of_scores():
    scores = torch.tensor([[0.1, 0.7, 0.2, 0.0], [0.5, 0.1, 0.3, 0.9]])
    labels = torch.tensor([1, 2])
    ids = torch.tensor([[1, 2], [3, 0]])
    assert float(M.precision_at_top_k(labels, ids, k=2)[1]) == float(M.precision_at_k(labels, scores, k=2)[1]) == 0.25
    assert float(M.recall_at_top_k(labels, ids, k=2)[1]) == float(M.recall_at_k(labels, scores, k=2)[1]) == 0.5


def test_te_metrics_has_the_v1_functions():
    assert te.metrics.auc is M.auc and te.metrics.accuracy is M.accuracy
    value, update_op = te.metrics.accuracy(labels=[1], predictions=[1])
    assert float(value) == float(update_op) == 1.0


def test_v1_metrics_are_eval_metric_ops_over_a_whole_evaluation():
    """Streamed by the Estimator: the value over the whole evaluation, not the last batch's."""
    x = np.linspace(-1.0, 1.0, 40, dtype=np.float32).reshape(-1, 1)
    y = (x[:, 0] > 0.1).astype(np.int64)

    def model_fn(features, labels, mode):
        w = te.get_variable("w", shape=[1, 1], initializer=te.initializers.ones())
        p = torch.sigmoid(features["x"] @ w * 5.0)[:, 0]
        loss = torch.mean((p - labels.float()) ** 2)
        ops = {
            "auc": M.auc(labels, p),
            "rmse": M.root_mean_squared_error(labels.float(), p),
            "p@1": M.precision(labels, p > 0.5),
            "miou": M.mean_iou(labels, (p > 0.5).long(), num_classes=2),
        }
        return te.EstimatorSpec(mode, loss=loss, eval_metric_ops=ops)

    est = te.Estimator(model_fn)
    result = est.evaluate(te.inputs.numpy_input_fn({"x": x}, y, batch_size=7, shuffle=False), steps=None)
    p = 1 / (1 + np.exp(-x[:, 0] * 5.0))
    whole_auc = M.auc(y, p)[0]
    whole_rmse = np.sqrt(np.mean((p - y) ** 2))
    assert result["auc"] == pytest.approx(float(whole_auc), abs=1e-6)
    assert result["rmse"] == pytest.approx(whole_rmse, rel=1e-5)
    assert result["p@1"] == pytest.approx(float(M.precision(y, p > 0.5)[0]), abs=1e-7)
    assert result["miou"] == pytest.approx(float(M.mean_iou(y, (p > 0.5).astype(np.int64), 2)[0]), abs=1e-7)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: M.auc([0, 1], [0.5, 1.5]), r"predictions must be in \[0, 1\]; got values from 0.5 to 1.5"),
        (lambda: M.auc([0, 1], [0.5, 0.2], curve="XY"), "curve must be either ROC or PR"),
        (lambda: M.auc([0, 1], [0.5, 0.2], summation_method="simpson"), "summation_method must be one of"),
        (lambda: M.accuracy([1, 0, 1], [1, 0]), r"labels of shape \(3,\) and predictions of shape \(2,\)"),
        (lambda: M.mean([1.0, 2.0], weights=[[1.0, 2.0, 3.0]]), "weights of shape"),
        (lambda: M.mean(["a", "b"]), "values of metric 'mean' must be numbers"),
        (lambda: M.mean_iou([0, 3], [0, 1], num_classes=3), r"labels must be class ids in \[0, 3\)"),
        (lambda: M.precision_at_k([0, 1], [[0.1, 0.9], [0.8, 0.2]], k=3), r"k must be in \[1, 2\]"),
        (lambda: M.recall_at_k([0.0, 1.0], [[0.1, 0.9], [0.8, 0.2]], k=1), "labels must be integer class ids"),
        (lambda: M.sensitivity_at_specificity([0, 1], [0.1, 0.2], specificity=1.5), r"specificity must be in \[0, 1\]"),
        (lambda: M.mean([1.0], metrics_collections=["c"]), "graph collections"),
    ],
)
def test_v1_metrics_reject_bad_input_by_name(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_different_metrics_do_not_merge():
    with pytest.raises(TypeError, match="different metrics"):
        M.auc([0, 1], [0.1, 0.9]).merge_state(M.auc([0, 1], [0.1, 0.9], num_thresholds=10))
