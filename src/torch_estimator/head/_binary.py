"""BinaryClassHead: sigmoid cross-entropy over one logit per example."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from torch_estimator._core.export_output import ClassificationOutput, ExportOutput, PredictOutput, RegressionOutput
from torch_estimator._core.losses import Reduction
from torch_estimator._core.metrics import AUC, Accuracy, Mean, Metric, Precision, Recall
from torch_estimator.head._base import (
    CLASSIFY_SERVING_KEY,
    DEFAULT_SERVING_KEY,
    PREDICT_SERVING_KEY,
    REGRESS_SERVING_KEY,
    BaseHead,
    Labels,
    all_class_ids,
    all_classes,
    check_dense_labels_match_logits_and_reshape,
    check_label_range,
    check_logits_final_dim,
    class_strings,
    labels_as_tensor,
    validate_label_vocabulary,
    vocabulary_ids,
)
from torch_estimator.head._keys import MetricKeys, PredictionKeys

__all__ = ["BinaryClassHead"]

_VALID_KEYS = (
    PredictionKeys.LOGITS,
    PredictionKeys.LOGISTIC,
    PredictionKeys.PROBABILITIES,
    PredictionKeys.CLASS_IDS,
    PredictionKeys.CLASSES,
    PredictionKeys.ALL_CLASS_IDS,
    PredictionKeys.ALL_CLASSES,
)


def check_prediction_keys(keys: Sequence[str] | None, valid: Sequence[str]) -> tuple[str, ...]:
    if not keys:
        return tuple(valid)
    for key in keys:
        if key not in valid:
            raise ValueError(
                f"Prediction key must be in PredictionKeys, given: {key}.Valid prediction keys include {list(valid)}."
            )
    return tuple(keys)


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

    _default_scope = "binary_logistic_head"

    _tensor_prediction_keys = (
        PredictionKeys.LOGITS,
        PredictionKeys.LOGISTIC,
        PredictionKeys.PROBABILITIES,
        PredictionKeys.CLASS_IDS,
        PredictionKeys.ALL_CLASS_IDS,
    )

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

    def predictions(self, logits: Any, keys: Sequence[str] | None = None) -> dict[str, Any]:
        keys = check_prediction_keys(keys, _VALID_KEYS)
        logits = check_logits_final_dim(logits, 1)
        out: dict[str, Any] = {}
        if PredictionKeys.LOGITS in keys:
            out[PredictionKeys.LOGITS] = logits
        if PredictionKeys.LOGISTIC in keys:
            out[PredictionKeys.LOGISTIC] = torch.sigmoid(logits)
        if PredictionKeys.PROBABILITIES in keys:
            out[PredictionKeys.PROBABILITIES] = torch.softmax(
                torch.cat([torch.zeros_like(logits), logits], dim=-1), dim=-1
            )
        if PredictionKeys.CLASS_IDS in keys or PredictionKeys.CLASSES in keys:
            class_ids = (logits > 0).to(torch.int64)
            if PredictionKeys.CLASS_IDS in keys:
                out[PredictionKeys.CLASS_IDS] = class_ids
            if PredictionKeys.CLASSES in keys:
                out[PredictionKeys.CLASSES] = class_strings(class_ids, 2, self._label_vocabulary)
        if PredictionKeys.ALL_CLASS_IDS in keys:
            out[PredictionKeys.ALL_CLASS_IDS] = all_class_ids(logits, 2)
        if PredictionKeys.ALL_CLASSES in keys:
            out[PredictionKeys.ALL_CLASSES] = all_classes(logits, 2, self._label_vocabulary)
        return out

    def _create_metrics(self) -> dict[str, Metric]:
        k = MetricKeys
        metrics: dict[str, Metric] = {
            self._summary_key(k.ACCURACY): Accuracy(name=k.ACCURACY),
            self._summary_key(k.PRECISION): Precision(name=k.PRECISION),
            self._summary_key(k.RECALL): Recall(name=k.RECALL),
            self._summary_key(k.PREDICTION_MEAN): Mean(name=k.PREDICTION_MEAN),
            self._summary_key(k.LABEL_MEAN): Mean(name=k.LABEL_MEAN),
            self._summary_key(k.ACCURACY_BASELINE): _AccuracyBaseline(name=k.ACCURACY_BASELINE),
            self._summary_key(k.AUC): AUC(name=k.AUC),
            self._summary_key(k.AUC_PR): AUC(curve="PR", name=k.AUC_PR),
        }
        metrics.update(self._threshold_metrics(self._thresholds))
        return metrics

    def _update_own_metrics(
        self,
        eval_metrics: dict[str, Metric],
        logits: torch.Tensor,
        labels: torch.Tensor,
        raw_labels: Labels,
        weights: Any,
        unweighted_loss: torch.Tensor,
    ) -> None:
        k = MetricKeys
        w = weights if isinstance(weights, torch.Tensor) else None
        class_ids = (logits > 0).to(torch.float32)
        logistic = torch.sigmoid(logits)
        eval_metrics[self._summary_key(k.ACCURACY)].update_state(labels, class_ids, w)
        eval_metrics[self._summary_key(k.PRECISION)].update_state(labels, class_ids, w)
        eval_metrics[self._summary_key(k.RECALL)].update_state(labels, class_ids, w)
        eval_metrics[self._summary_key(k.PREDICTION_MEAN)].update_state(logistic, w)
        eval_metrics[self._summary_key(k.LABEL_MEAN)].update_state(labels, w)
        eval_metrics[self._summary_key(k.ACCURACY_BASELINE)].update_state(labels, w)
        eval_metrics[self._summary_key(k.AUC)].update_state(labels, logistic, w)
        eval_metrics[self._summary_key(k.AUC_PR)].update_state(labels, logistic, w)
        self._update_threshold_metrics(eval_metrics, self._thresholds, labels, logistic, w)

    def _export_outputs(self, predictions: dict[str, Any]) -> dict[str, ExportOutput]:
        classification = ClassificationOutput(
            scores=predictions[PredictionKeys.PROBABILITIES], classes=predictions[PredictionKeys.ALL_CLASSES]
        )
        return {
            DEFAULT_SERVING_KEY: classification,
            CLASSIFY_SERVING_KEY: classification,
            REGRESS_SERVING_KEY: RegressionOutput(value=predictions[PredictionKeys.LOGISTIC]),
            PREDICT_SERVING_KEY: PredictOutput(predictions),
        }
