"""BinaryClassHead: sigmoid cross-entropy over one logit per example."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from torch_estimator._core.export_output import RegressionOutput
from torch_estimator._core.losses import Reduction
from torch_estimator._core.metrics import AUC, Accuracy, Mean, Precision, Recall
from torch_estimator.head._base import BaseHead, Features, Labels
from torch_estimator.head._keys import MetricKeys, PredictionKeys
from torch_estimator.head._labels import (
    check_dense_labels_match_logits_and_reshape,
    check_label_range,
    labels_as_tensor,
    validate_label_vocabulary,
    vocabulary_ids,
)
from torch_estimator.head._metrics import AUC_PR, HeadMetric, labels_against, mean_of, threshold_metrics
from torch_estimator.head._outputs import REGRESS_SERVING_KEY, Signatures, class_formulas, classification_outputs

__all__ = ["BinaryClassHead"]


class _AccuracyBaseline(Mean):
    """``max(label_mean, 1 - label_mean)``: the accuracy of always predicting the majority class."""

    def _result(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        total, count = state["total"], state["count"]
        return torch.where(count > 0, torch.maximum(total, count - total) / torch.where(count > 0, count, 1.0), 0.0)


class BinaryClassHead(BaseHead):
    """Head for binary classification: one logit, sigmoid cross-entropy loss.

    Args:
        weight_column: name of the example-weight feature, or a numeric column.
        thresholds: extra thresholds in (0, 1) for accuracy/precision/recall metrics.
        label_vocabulary: the two class names (string labels); default labels are 0/1
            (fractional soft labels in [0, 1] are accepted).
        loss_reduction: ``'sum_over_batch_size'`` (default), ``'sum'`` or ``'auto'``.
        loss_fn: ``loss_fn(labels, logits[, features])`` returning the unreduced loss ``[B, 1]``.
        name: suffix of metric keys (``'auc/<name>'``).
    """

    _default_scope = "binary_logistic_head"
    _tensor_prediction_keys = (
        PredictionKeys.LOGITS,
        PredictionKeys.LOGISTIC,
        PredictionKeys.PROBABILITIES,
        PredictionKeys.CLASS_IDS,
        PredictionKeys.ALL_CLASS_IDS,
    )

    def __init__(
        self,
        weight_column: Any = None,
        thresholds: Sequence[float] | None = None,
        label_vocabulary: Sequence[str] | None = None,
        loss_reduction: str = Reduction.SUM_OVER_BATCH_SIZE,
        loss_fn: Callable[..., torch.Tensor] | None = None,
        name: str | None = None,
    ) -> None:
        label_vocabulary = validate_label_vocabulary(label_vocabulary)
        thresholds = tuple(thresholds) if thresholds else ()
        for threshold in thresholds:
            if threshold <= 0.0 or threshold >= 1.0:
                raise ValueError(f"thresholds not in (0, 1): {(thresholds,)}.")
        super().__init__(weight_column, loss_reduction, loss_fn, name)
        self._thresholds = thresholds
        self._label_vocabulary = label_vocabulary

    @property
    def logits_dimension(self) -> int:
        return 1

    def _processed_labels(self, logits: torch.Tensor, labels: Labels) -> torch.Tensor:
        labels = check_dense_labels_match_logits_and_reshape(labels, logits, 1)
        if self._label_vocabulary is not None:
            labels = vocabulary_ids(labels, self._label_vocabulary, logits.device)
        labels = labels_as_tensor(labels, logits.device).to(torch.float32)
        return check_label_range(labels, 2)

    def _default_loss(self, labels: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, labels, reduction="none")

    def _prediction_formulas(self, logits: torch.Tensor) -> dict[str, Callable[[], Any]]:
        return {
            PredictionKeys.LOGITS: lambda: logits,
            PredictionKeys.LOGISTIC: lambda: torch.sigmoid(logits),
            PredictionKeys.PROBABILITIES: lambda: torch.softmax(
                torch.cat([torch.zeros_like(logits), logits], dim=-1), dim=-1
            ),
            **class_formulas(logits, lambda: (logits > 0).to(torch.int64), 2, self._label_vocabulary),
        }

    def _own_metrics(self) -> dict[str, HeadMetric]:
        k, p = MetricKeys, PredictionKeys
        return {
            k.ACCURACY: labels_against(Accuracy, k.ACCURACY, p.CLASS_IDS),
            k.PRECISION: labels_against(Precision, k.PRECISION, p.CLASS_IDS),
            k.RECALL: labels_against(Recall, k.RECALL, p.CLASS_IDS),
            k.PREDICTION_MEAN: mean_of(k.PREDICTION_MEAN, p.LOGISTIC),
            k.LABEL_MEAN: mean_of(k.LABEL_MEAN),
            k.ACCURACY_BASELINE: mean_of(k.ACCURACY_BASELINE, metric=_AccuracyBaseline),
            k.AUC: labels_against(AUC, k.AUC, p.LOGISTIC),
            k.AUC_PR: labels_against(AUC_PR, k.AUC_PR, p.LOGISTIC),
            **threshold_metrics(self._thresholds, p.LOGISTIC),
        }

    def _export_outputs(self, features: Features, logits: Any, predictions: dict[str, Any]) -> Signatures:
        regression = RegressionOutput(value=predictions[PredictionKeys.LOGISTIC])
        return classification_outputs(predictions, PredictionKeys.ALL_CLASSES, {REGRESS_SERVING_KEY: regression})
