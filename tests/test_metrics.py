"""te.metrics: streaming, weighted metrics (state that adds up across batches, merge_state),
their argument checks, and AUC against scikit-learn."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from sklearn.metrics import precision_score, recall_score, roc_auc_score

import torch_estimator as te

m = te.metrics
RNG = np.random.default_rng(0)
N = 1000
LABELS = RNG.integers(0, 2, size=(N, 1))
SCORES = np.clip(0.35 * LABELS + RNG.uniform(0, 0.65, size=(N, 1)), 0, 1).astype(np.float32)
WEIGHTS = RNG.uniform(0.2, 3.0, size=(N, 1))


def _batches(*arrays, size=128):
    for start in range(0, N, size):
        yield tuple(a[start : start + size] for a in arrays)


def _factories():
    return {
        "mean": (lambda: m.Mean(), lambda y, p, w: (p, w)),
        "accuracy": (lambda: m.Accuracy(), lambda y, p, w: (y, (p > 0.5).astype(np.int64), w)),
        "binary_accuracy": (lambda: m.BinaryAccuracy(threshold=0.4), lambda y, p, w: (y, p, w)),
        "precision": (lambda: m.Precision(thresholds=[0.3, 0.6]), lambda y, p, w: (y, p, w)),
        "recall": (lambda: m.Recall(thresholds=0.6), lambda y, p, w: (y, p, w)),
        "auc": (lambda: m.AUC(), lambda y, p, w: (y, p, w)),
        "auc_pr": (lambda: m.AUC(curve="PR"), lambda y, p, w: (y, p, w)),
        "exact_auc": (lambda: m.ExactAUC(), lambda y, p, w: (y, p, w)),
    }


FACTORIES = _factories()


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_streaming_over_batches_equals_one_batch(kind):
    create, args = FACTORIES[kind]
    whole, streamed = create(), create()
    whole.update_state(*args(LABELS, SCORES, WEIGHTS))
    for y, p, w in _batches(LABELS, SCORES, WEIGHTS):
        streamed.update_state(*args(y, p, w))
    torch.testing.assert_close(streamed.result(), whole.result())
    assert whole.updates == 1 and streamed.updates == len(range(0, N, 128))


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_merge_state_adds_the_other_metrics_batches(kind):
    create, args = FACTORIES[kind]
    whole, first, second = create(), create(), create()
    whole.update_state(*args(LABELS, SCORES, WEIGHTS))
    first.update_state(*args(LABELS[:300], SCORES[:300], WEIGHTS[:300]))
    second.update_state(*args(LABELS[300:], SCORES[300:], WEIGHTS[300:]))
    first.merge_state(second)
    torch.testing.assert_close(first.result(), whole.result())
    assert first.updates == 2


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_reset_state_forgets_everything(kind):
    create, args = FACTORIES[kind]
    metric = create()
    fresh = create().result()
    metric.update_state(*args(LABELS, SCORES, WEIGHTS))
    metric.reset_state()
    assert metric.updates == 0
    torch.testing.assert_close(metric.result(), fresh)


def test_merge_state_refuses_another_metric_type():
    with pytest.raises(TypeError, match=re.escape("Cannot merge Accuracy into Mean metric 'mean'.")):
        m.Mean().merge_state(m.Accuracy())
    with pytest.raises(TypeError, match=re.escape("Cannot merge AUC into ExactAUC metric 'exact_auc'.")):
        m.ExactAUC().merge_state(m.AUC())


def test_mean_is_weighted_and_zero_before_any_update():
    metric = m.Mean(name="avg")
    assert metric.result().item() == 0.0
    metric.update_state([1.0, 2.0, 4.0], [1.0, 0.0, 3.0])
    assert metric.result().item() == pytest.approx(13 / 4)
    assert metric.result().dtype == torch.float64


def test_weights_of_shape_batch_broadcast_over_the_values():
    metric = m.Mean()
    metric.update_state(torch.tensor([[1.0, 3.0], [5.0, 7.0]]), torch.tensor([1.0, 0.0]))
    assert metric.result().item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match=re.escape("sample_weight of metric 'mean' of shape (3,) cannot be broadcast")):
        metric.update_state(torch.ones(2, 2), torch.ones(3))


def test_non_numeric_values_are_refused_naming_the_metric():
    with pytest.raises(TypeError, match=re.escape("values of metric 'mean' must be numeric; got dtype <U1.")):
        m.Mean().update_state(np.array(["a", "b"]))
    with pytest.raises(
        TypeError, match=re.escape("labels of metric 'accuracy' must be numeric; got dtype torch.complex64.")
    ):
        m.Accuracy().update_state(torch.ones(2, dtype=torch.complex64), torch.ones(2))


def test_accuracy_reshapes_labels_to_the_predictions():
    metric = m.Accuracy()
    metric.update_state(np.array([1, 0, 1]), np.array([[1], [1], [1]]), np.array([[1.0], [1.0], [2.0]]))
    assert metric.result().item() == pytest.approx(3 / 4)
    message = "labels shape (3,) and predictions shape (2, 1) of metric 'accuracy' do not match."
    with pytest.raises(ValueError, match=re.escape(message)):
        metric.update_state(np.array([1, 0, 1]), np.array([[1], [1]]))


def test_binary_accuracy_thresholds_predictions_and_never_matches_soft_labels():
    metric = m.BinaryAccuracy(threshold=0.5)
    metric.update_state(np.array([[1.0], [0.0], [0.5]]), np.array([[0.7], [0.2], [0.9]]))
    assert metric.result().item() == pytest.approx(2 / 3)


def test_binary_accuracy_averages_over_the_last_axis_per_example():
    metric = m.BinaryAccuracy()
    metric.update_state(np.array([[1, 0], [1, 1]]), np.array([[0.9, 0.9], [0.9, 0.9]]), np.array([[1.0], [3.0]]))
    assert metric.result().item() == pytest.approx((0.5 * 1 + 1.0 * 3) / 4)


@pytest.mark.parametrize("threshold", [0.3, 0.6])
def test_precision_and_recall_match_sklearn(threshold):
    predicted = (SCORES > threshold).astype(np.int64).ravel()
    expected_precision = precision_score(LABELS.ravel(), predicted, sample_weight=WEIGHTS.ravel())
    expected_recall = recall_score(LABELS.ravel(), predicted, sample_weight=WEIGHTS.ravel())
    precision, recall = m.Precision(thresholds=threshold), m.Recall(thresholds=threshold)
    precision.update_state(LABELS, SCORES, WEIGHTS)
    recall.update_state(LABELS, SCORES, WEIGHTS)
    assert precision.result().item() == pytest.approx(expected_precision, rel=1e-6)
    assert recall.result().item() == pytest.approx(expected_recall, rel=1e-6)


def test_precision_at_several_thresholds_gives_one_value_each():
    metric = m.Precision(thresholds=[0.3, 0.6])
    metric.update_state(LABELS, SCORES)
    assert metric.result().shape == (2,)
    assert m.Precision().result().item() == 0.0  # nothing predicted positive yet


def test_streaming_auc_approximates_sklearn_and_the_exact_auc_matches_it():
    expected = roc_auc_score(LABELS.ravel(), SCORES.ravel(), sample_weight=WEIGHTS.ravel())
    streaming, fine, exact = m.AUC(), m.AUC(num_thresholds=5000), m.ExactAUC()
    for metric in (streaming, fine, exact):
        metric.update_state(LABELS, SCORES, WEIGHTS)
    assert streaming.result().item() == pytest.approx(expected, abs=5e-3)
    assert fine.result().item() == pytest.approx(expected, abs=5e-4)
    assert exact.result().item() == pytest.approx(expected, abs=1e-12)


def test_exact_auc_counts_ties_half():
    labels = np.array([0, 1, 0, 1])
    scores = np.array([0.5, 0.5, 0.2, 0.8])
    metric = m.ExactAUC()
    metric.update_state(labels, scores)
    assert metric.result().item() == pytest.approx(roc_auc_score(labels, scores))


def test_pr_auc_of_a_perfect_ranking_is_one():
    labels = np.array([0, 0, 1, 1])
    metric = m.AUC(curve="PR", num_thresholds=1000)
    metric.update_state(labels, np.array([0.1, 0.2, 0.8, 0.9]))
    assert metric.result().item() == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("summation_method", ["minoring", "majoring"])
def test_auc_riemann_sums_bracket_the_interpolation(summation_method):
    interpolated, riemann = m.AUC(), m.AUC(summation_method=summation_method)
    interpolated.update_state(LABELS, SCORES)
    riemann.update_state(LABELS, SCORES)
    if summation_method == "minoring":
        assert riemann.result().item() <= interpolated.result().item()
    else:
        assert riemann.result().item() >= interpolated.result().item()


def test_auc_arguments_are_checked_with_keras_messages():
    with pytest.raises(ValueError, match=re.escape("Argument `num_thresholds` must be an integer > 1. Received")):
        m.AUC(num_thresholds=1)
    with pytest.raises(
        ValueError, match=re.escape('Invalid AUC curve value: "ROCK". Expected values are ["ROC", "PR"]')
    ):
        m.AUC(curve="rock")
    with pytest.raises(ValueError, match=re.escape('Invalid AUC summation method value: "trapezoid".')):
        m.AUC(summation_method="trapezoid")


def test_names_default_to_the_snake_cased_class_name():
    assert [c().name for c in (m.Mean, m.Accuracy, m.BinaryAccuracy, m.ExactAUC, m.AUC)] == [
        "mean",
        "accuracy",
        "binary_accuracy",
        "exact_auc",
        "auc",
    ]
    assert repr(m.Recall(name="r")) == "Recall(name='r')"


def test_mean_and_accuracy_helpers_return_updated_metrics():
    mean = m.mean(torch.tensor([1.0, 3.0]), weights=torch.tensor([3.0, 1.0]))
    assert isinstance(mean, m.Metric) and mean.name == "mean" and mean.updates == 1
    assert mean.result().item() == pytest.approx(1.5)
    accuracy = m.accuracy(torch.tensor([1, 0]), torch.tensor([1, 1]), name="acc")
    assert accuracy.name == "acc" and accuracy.result().item() == 0.5


def test_updated_returns_the_metric():
    metric = m.Mean()
    assert metric.updated([2.0]) is metric
    assert metric.result().item() == 2.0
