"""MultiLabelHead: independent sigmoid cross-entropy per class, averaged over classes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F

from torch_estimator._core.checks import as_array, check_int, describe
from torch_estimator._core.dtypes import tf_dtype
from torch_estimator._core.losses import Reduction
from torch_estimator._core.metrics import AUC
from torch_estimator.head._base import BaseHead, Features, Labels
from torch_estimator.head._keys import MetricKeys, PredictionKeys
from torch_estimator.head._labels import (
    LABEL_NONE_ERR_MSG,
    check_dense_labels_match_logits_and_reshape,
    check_label_range,
    labels_as_tensor,
    vocabulary_ids,
)
from torch_estimator.head._metrics import AUC_PR, HeadMetric, labels_against, mean_of, threshold_metrics
from torch_estimator.head._outputs import Signatures, all_classes, classification_outputs

__all__ = ["MultiLabelHead"]


def _is_ragged(labels: Any) -> bool:
    """A list (or object array) of per-example lists of class ids or names."""
    if isinstance(labels, (torch.Tensor,)):
        return labels.is_sparse
    if isinstance(labels, np.ndarray):
        return (
            labels.dtype == object
            and labels.ndim == 1
            and all(isinstance(v, (list, tuple, np.ndarray)) for v in labels)
        )
    return (
        isinstance(labels, (list, tuple))
        and any(isinstance(v, (list, tuple, np.ndarray)) for v in labels)
        and not _rectangular(labels)
    )


def _rectangular(rows: Sequence[Any]) -> bool:
    lengths = {len(r) if isinstance(r, (list, tuple, np.ndarray)) else -1 for r in rows}
    return len(lengths) == 1


def _metric_class_ids(
    classes: Sequence[int | str] | None, n_classes: int, vocabulary: Sequence[str] | None
) -> tuple[int, ...]:
    """The ids of ``classes_for_class_based_metrics``, given as class ids or as names in ``vocabulary``."""
    if not classes:
        return ()
    requested = tuple(classes)
    if isinstance(requested[0], str):
        if not vocabulary:
            raise ValueError("label_vocabulary must be provided when classes_for_class_based_metrics are strings.")
        for c in requested:
            if c not in vocabulary:
                raise ValueError(
                    f"classes_for_class_based_metrics entry {c!r} is not in label_vocabulary {list(vocabulary)}."
                )
        return tuple(vocabulary.index(str(c)) for c in requested)
    for c in requested:
        if cast(int, c) < 0 or cast(int, c) >= n_classes:
            raise ValueError(f"All classes_for_class_based_metrics must be in range [0, {n_classes - 1}]. Given: {c}")
    return tuple(int(c) for c in requested)


class MultiLabelHead(BaseHead):
    """Head for multi-label classification: each of ``n_classes`` classes is present or not.

    Labels are multi-hot integers ``[B, n_classes]`` in {0, 1}, or per-example lists of class
    ids (or names, with ``label_vocabulary``), the analogue of TensorFlow's SparseTensor labels.
    The loss is the sigmoid cross-entropy averaged over classes.
    """

    _default_scope = "multi_label_head"
    _tensor_prediction_keys = (PredictionKeys.LOGITS, PredictionKeys.PROBABILITIES)

    def __init__(
        self,
        n_classes: int,
        weight_column: Any = None,
        thresholds: Sequence[float] | None = None,
        label_vocabulary: Sequence[str] | None = None,
        loss_reduction: str = Reduction.SUM_OVER_BATCH_SIZE,
        loss_fn: Callable[..., torch.Tensor] | None = None,
        classes_for_class_based_metrics: Sequence[int | str] | None = None,
        name: str | None = None,
    ) -> None:
        message = f"n_classes must be > 1 for multi-label classification. Given: {n_classes}"
        if n_classes is None:
            raise ValueError(message)
        n_classes = check_int("n_classes", n_classes, 2, range_message=message)
        thresholds = tuple(thresholds) if thresholds else ()
        for threshold in thresholds:
            if threshold <= 0.0 or threshold >= 1.0:
                raise ValueError(f"thresholds must be in (0, 1) range. Given: {threshold}")
        if label_vocabulary is not None:
            if not isinstance(label_vocabulary, (list, tuple)):
                raise ValueError(f"label_vocabulary must be a list or tuple. Given type: {type(label_vocabulary)}")
            if len(label_vocabulary) != n_classes:
                raise ValueError(
                    f"Length of label_vocabulary must be n_classes ({n_classes}). Given: {len(label_vocabulary)}"
                )
            label_vocabulary = tuple(label_vocabulary)
        super().__init__(weight_column, loss_reduction, loss_fn, name)
        self._n_classes = n_classes
        self._thresholds = thresholds
        self._label_vocabulary = label_vocabulary
        self._class_ids = _metric_class_ids(classes_for_class_based_metrics, n_classes, label_vocabulary)

    @property
    def logits_dimension(self) -> int:
        return self._n_classes

    def _class_key(self, id_template: str, name_template: str, class_id: int) -> str:
        """A per-class metric key: by class id, or by class name when there is a vocabulary."""
        if self._label_vocabulary is None:
            return id_template % class_id
        return name_template % self._label_vocabulary[class_id]

    def _indicator_from_ids(self, labels: Any, device: torch.device) -> torch.Tensor:
        rows = list(labels)
        expected = f"per-example lists of class ids (or names) or a multi-hot [batch_size, {self._n_classes}] tensor"
        if not all(isinstance(r, (list, tuple, np.ndarray)) for r in rows):
            raise ValueError(f"labels must be {expected}; got {describe(labels)}.")
        values = as_array([v for r in rows for v in r], "labels", expected)
        if values.ndim != 1:
            raise ValueError(f"labels must be {expected}; got lists of lists: {describe(labels)}.")
        if self._label_vocabulary is not None and values.dtype.kind in "USO":
            ids = vocabulary_ids(values, self._label_vocabulary, torch.device("cpu"))
        else:
            if len(values) and values.dtype.kind not in "iu":
                raise ValueError(f"Labels dtype should be integer. Instead got {tf_dtype(values.dtype)}.")
            ids = torch.from_numpy(values.astype(np.int64))
        check_label_range(
            ids, self._n_classes, f"labels must be an integer SparseTensor with values in [0, {self._n_classes})"
        )
        indicator = np.zeros((len(rows), self._n_classes), dtype=np.int64)
        indicator[np.repeat(np.arange(len(rows)), [len(r) for r in rows]), ids.numpy()] = 1
        return torch.from_numpy(indicator).to(device)

    def _processed_labels(self, logits: torch.Tensor, labels: Labels) -> torch.Tensor:
        if labels is None:
            raise ValueError(LABEL_NONE_ERR_MSG)
        if _is_ragged(labels):
            if isinstance(labels, torch.Tensor):
                labels = labels.to_dense().to(torch.int64)
                processed = labels
            else:
                processed = self._indicator_from_ids(labels, logits.device)
        else:
            processed = labels_as_tensor(labels, logits.device)
            check_label_range(processed, 2, "labels must be an integer indicator Tensor with values in [0, 1]")
        return check_dense_labels_match_logits_and_reshape(processed, logits, self._n_classes)

    def _default_loss(self, labels: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        loss = F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype), reduction="none")
        return loss.mean(dim=-1, keepdim=True)

    def _prediction_formulas(self, logits: torch.Tensor) -> dict[str, Callable[[], Any]]:
        return {
            PredictionKeys.LOGITS: lambda: logits,
            PredictionKeys.PROBABILITIES: lambda: torch.sigmoid(logits),
            PredictionKeys.CLASSES: lambda: all_classes(logits, self._n_classes, self._label_vocabulary),
        }

    def _own_metrics(self) -> dict[str, HeadMetric]:
        k, p = MetricKeys, PredictionKeys.PROBABILITIES
        metrics = {
            k.AUC: labels_against(AUC, k.AUC, p),
            k.AUC_PR: labels_against(AUC_PR, k.AUC_PR, p),
            **threshold_metrics(self._thresholds, p),
        }
        for c in self._class_ids:
            per_class = {
                self._class_key(k.PROBABILITY_MEAN_AT_CLASS, k.PROBABILITY_MEAN_AT_NAME, c): mean_of(
                    "probability_mean", p
                ),
                self._class_key(k.AUC_AT_CLASS, k.AUC_AT_NAME, c): labels_against(AUC, k.AUC, p),
                self._class_key(k.AUC_PR_AT_CLASS, k.AUC_PR_AT_NAME, c): labels_against(AUC_PR, k.AUC_PR, p),
            }
            metrics.update({key: metric.for_column(c) for key, metric in per_class.items()})
        return metrics

    def _export_outputs(self, features: Features, logits: Any, predictions: dict[str, Any]) -> Signatures:
        return classification_outputs(predictions, PredictionKeys.CLASSES)
