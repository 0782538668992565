"""MultiClassHead: softmax cross-entropy over ``n_classes`` logits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from torch_estimator._core.checks import check_int
from torch_estimator._core.export_output import ClassificationOutput, ExportOutput, PredictOutput
from torch_estimator._core.losses import Reduction
from torch_estimator._core.metrics import Accuracy, Metric
from torch_estimator.head._base import (
    CLASSIFY_SERVING_KEY,
    DEFAULT_SERVING_KEY,
    PREDICT_SERVING_KEY,
    BaseHead,
    Labels,
    all_class_ids,
    all_classes,
    check_dense_labels_match_logits_and_reshape,
    check_label_range,
    check_logits_final_dim,
    class_strings,
    integer_labels,
    validate_label_vocabulary,
    vocabulary_ids,
)
from torch_estimator.head._binary import check_prediction_keys
from torch_estimator.head._keys import MetricKeys, PredictionKeys

__all__ = ["MultiClassHead"]

_VALID_KEYS = (
    PredictionKeys.LOGITS,
    PredictionKeys.PROBABILITIES,
    PredictionKeys.CLASS_IDS,
    PredictionKeys.CLASSES,
    PredictionKeys.ALL_CLASS_IDS,
    PredictionKeys.ALL_CLASSES,
)


class MultiClassHead(BaseHead):
    """Head for single-label classification over ``n_classes`` > 2 classes (softmax cross-entropy).

    Labels are integer class ids ``[B]`` or ``[B, 1]``, or strings when ``label_vocabulary``
    (of exactly ``n_classes`` names) is given.
    """

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

    _default_scope = "multi_class_head"

    _tensor_prediction_keys = (
        PredictionKeys.LOGITS,
        PredictionKeys.PROBABILITIES,
        PredictionKeys.CLASS_IDS,
        PredictionKeys.ALL_CLASS_IDS,
    )

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

    def predictions(self, logits: Any, keys: Sequence[str] | None = None) -> dict[str, Any]:
        keys = check_prediction_keys(keys, _VALID_KEYS)
        logits = check_logits_final_dim(logits, self._n_classes)
        out: dict[str, Any] = {}
        if PredictionKeys.LOGITS in keys:
            out[PredictionKeys.LOGITS] = logits
        if PredictionKeys.PROBABILITIES in keys:
            out[PredictionKeys.PROBABILITIES] = torch.softmax(logits, dim=-1)
        if PredictionKeys.CLASS_IDS in keys or PredictionKeys.CLASSES in keys:
            class_ids = torch.argmax(logits, dim=-1, keepdim=True)
            if PredictionKeys.CLASS_IDS in keys:
                out[PredictionKeys.CLASS_IDS] = class_ids
            if PredictionKeys.CLASSES in keys:
                out[PredictionKeys.CLASSES] = class_strings(class_ids, self._n_classes, self._label_vocabulary)
        if PredictionKeys.ALL_CLASS_IDS in keys:
            out[PredictionKeys.ALL_CLASS_IDS] = all_class_ids(logits, self._n_classes)
        if PredictionKeys.ALL_CLASSES in keys:
            out[PredictionKeys.ALL_CLASSES] = all_classes(logits, self._n_classes, self._label_vocabulary)
        return out

    def _create_metrics(self) -> dict[str, Metric]:
        return {self._summary_key(MetricKeys.ACCURACY): Accuracy(name=MetricKeys.ACCURACY)}

    def _update_own_metrics(
        self,
        eval_metrics: dict[str, Metric],
        logits: torch.Tensor,
        labels: torch.Tensor,
        raw_labels: Labels,
        weights: Any,
        unweighted_loss: torch.Tensor,
    ) -> None:
        class_ids = torch.argmax(logits, dim=-1, keepdim=True)
        eval_metrics[self._summary_key(MetricKeys.ACCURACY)].update_state(
            labels, class_ids, weights if isinstance(weights, torch.Tensor) else None
        )

    def _export_outputs(self, predictions: dict[str, Any]) -> dict[str, ExportOutput]:
        classification = ClassificationOutput(
            scores=predictions[PredictionKeys.PROBABILITIES], classes=predictions[PredictionKeys.ALL_CLASSES]
        )
        return {
            DEFAULT_SERVING_KEY: classification,
            CLASSIFY_SERVING_KEY: classification,
            PREDICT_SERVING_KEY: PredictOutput(predictions),
        }
