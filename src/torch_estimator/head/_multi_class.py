"""MultiClassHead: softmax cross-entropy over ``n_classes`` logits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from torch_estimator._core.checks import check_int
from torch_estimator._core.losses import Reduction
from torch_estimator._core.metrics import Accuracy
from torch_estimator.head._base import BaseHead, Features, Labels
from torch_estimator.head._keys import MetricKeys, PredictionKeys
from torch_estimator.head._labels import (
    check_dense_labels_match_logits_and_reshape,
    check_label_range,
    integer_labels,
    validate_label_vocabulary,
    vocabulary_ids,
)
from torch_estimator.head._metrics import HeadMetric, labels_against
from torch_estimator.head._outputs import Signatures, class_formulas, classification_outputs

__all__ = ["MultiClassHead"]


class MultiClassHead(BaseHead):
    """Head for single-label classification over ``n_classes`` > 2 classes (softmax cross-entropy).

    Labels are integer class ids ``[B]`` or ``[B, 1]``, or strings when ``label_vocabulary``
    (of exactly ``n_classes`` names) is given.
    """

    _default_scope = "multi_class_head"
    _tensor_prediction_keys = (
        PredictionKeys.LOGITS,
        PredictionKeys.PROBABILITIES,
        PredictionKeys.CLASS_IDS,
        PredictionKeys.ALL_CLASS_IDS,
    )

    def __init__(
        self,
        n_classes: int,
        weight_column: Any = None,
        label_vocabulary: Sequence[str] | None = None,
        loss_reduction: str = Reduction.SUM_OVER_BATCH_SIZE,
        loss_fn: Callable[..., torch.Tensor] | None = None,
        name: str | None = None,
    ) -> None:
        if n_classes is None:
            raise ValueError("n_classes cannot be None")
        n_classes = check_int("n_classes", n_classes, 3, range_message=f"n_classes must be > 2: {n_classes}.")
        given_vocabulary = label_vocabulary
        label_vocabulary = validate_label_vocabulary(label_vocabulary)
        if label_vocabulary is not None and len(label_vocabulary) != n_classes:
            raise ValueError(
                f'"label_vocabulary" does not have "n_classes" items. len(label_vocabulary)={len(label_vocabulary)}, '
                f"n_classes={n_classes}, label_vocabulary={given_vocabulary}"
            )
        super().__init__(weight_column, loss_reduction, loss_fn, name)
        self._n_classes = n_classes
        self._label_vocabulary = label_vocabulary

    @property
    def logits_dimension(self) -> int:
        return self._n_classes

    def _processed_labels(self, logits: torch.Tensor, labels: Labels) -> torch.Tensor:
        labels = check_dense_labels_match_logits_and_reshape(labels, logits, 1)
        if self._label_vocabulary is not None:
            ids = vocabulary_ids(labels, self._label_vocabulary, logits.device)
        else:
            ids = integer_labels(labels, logits.device)
        return check_label_range(ids, self._n_classes)

    def _default_loss(self, labels: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        flat = logits.reshape(-1, self._n_classes)
        loss = F.cross_entropy(flat, labels.reshape(-1), reduction="none")
        return loss.reshape(labels.shape).to(logits.dtype)

    def _prediction_formulas(self, logits: torch.Tensor) -> dict[str, Callable[[], Any]]:
        return {
            PredictionKeys.LOGITS: lambda: logits,
            PredictionKeys.PROBABILITIES: lambda: torch.softmax(logits, dim=-1),
            **class_formulas(
                logits, lambda: torch.argmax(logits, dim=-1, keepdim=True), self._n_classes, self._label_vocabulary
            ),
        }

    def _own_metrics(self) -> dict[str, HeadMetric]:
        return {MetricKeys.ACCURACY: labels_against(Accuracy, MetricKeys.ACCURACY, PredictionKeys.CLASS_IDS)}

    def _export_outputs(self, features: Features, logits: Any, predictions: dict[str, Any]) -> Signatures:
        return classification_outputs(predictions, PredictionKeys.ALL_CLASSES)
