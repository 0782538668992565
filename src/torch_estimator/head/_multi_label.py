"""MultiLabelHead: independent sigmoid cross-entropy per class, averaged over classes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from torch_estimator._core.checks import as_array, check_int, describe
from torch_estimator._core.export_output import ClassificationOutput, ExportOutput, PredictOutput
from torch_estimator._core.losses import Reduction
from torch_estimator._core.metrics import AUC, Mean, Metric
from torch_estimator.head._base import (
    _LABEL_NONE_ERR_MSG,
    CLASSIFY_SERVING_KEY,
    DEFAULT_SERVING_KEY,
    PREDICT_SERVING_KEY,
    BaseHead,
    Labels,
    all_classes,
    check_dense_labels_match_logits_and_reshape,
    check_label_range,
    check_logits_final_dim,
    labels_as_tensor,
    tf_dtype_name,
    vocabulary_ids,
)
from torch_estimator.head._binary import check_prediction_keys
from torch_estimator.head._keys import MetricKeys, PredictionKeys

__all__ = ["MultiLabelHead"]

_VALID_KEYS = (PredictionKeys.LOGITS, PredictionKeys.PROBABILITIES, PredictionKeys.CLASSES)


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


class MultiLabelHead(BaseHead):
    """Head for multi-label classification: each of ``n_classes`` classes is present or not.

    Labels are multi-hot integers ``[B, n_classes]`` in {0, 1}, or per-example lists of class
    ids (or names, with ``label_vocabulary``), the analogue of TensorFlow's SparseTensor labels.
    The loss is the sigmoid cross-entropy averaged over classes.
    """

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
        class_ids: tuple[int, ...] = ()
        if classes_for_class_based_metrics:
            requested = tuple(classes_for_class_based_metrics)
            if isinstance(requested[0], str):
                if not label_vocabulary:
                    raise ValueError(
                        "label_vocabulary must be provided when classes_for_class_based_metrics are strings."
                    )
                for c in requested:
                    if c not in label_vocabulary:
                        raise ValueError(
                            f"classes_for_class_based_metrics entry {c!r} is not in label_vocabulary {list(label_vocabulary)}."
                        )
                class_ids = tuple(label_vocabulary.index(c) for c in requested)  # type: ignore[arg-type]
            else:
                for c in requested:
                    if c < 0 or c >= n_classes:
                        raise ValueError(
                            f"All classes_for_class_based_metrics must be in range [0, {n_classes - 1}]. Given: {c}"
                        )
                class_ids = tuple(int(c) for c in requested)
        self._n_classes = n_classes
        self._thresholds = thresholds
        self._label_vocabulary = label_vocabulary
        self._class_ids = class_ids

    _default_scope = "multi_label_head"

    _tensor_prediction_keys = (PredictionKeys.LOGITS, PredictionKeys.PROBABILITIES)

    @property
    def logits_dimension(self) -> int:
        return self._n_classes

    def _class_key(self, id_template: str, name_template: str, class_id: int) -> str:
        if self._label_vocabulary is None:
            return self._summary_key(id_template % class_id)
        return self._summary_key(name_template % self._label_vocabulary[class_id])

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
                raise ValueError(f"Labels dtype should be integer. Instead got {tf_dtype_name(values.dtype)}.")
            ids = torch.from_numpy(values.astype(np.int64))
        check_label_range(
            ids, self._n_classes, f"labels must be an integer SparseTensor with values in [0, {self._n_classes})"
        )
        indicator = np.zeros((len(rows), self._n_classes), dtype=np.int64)
        indicator[np.repeat(np.arange(len(rows)), [len(r) for r in rows]), ids.numpy()] = 1
        return torch.from_numpy(indicator).to(device)

    def _processed_labels(self, logits: torch.Tensor, labels: Labels) -> torch.Tensor:
        if labels is None:
            raise ValueError(_LABEL_NONE_ERR_MSG)
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

    def predictions(self, logits: Any, keys: Sequence[str] | None = None) -> dict[str, Any]:
        keys = check_prediction_keys(keys, _VALID_KEYS)
        logits = check_logits_final_dim(logits, self._n_classes)
        out: dict[str, Any] = {}
        if PredictionKeys.LOGITS in keys:
            out[PredictionKeys.LOGITS] = logits
        if PredictionKeys.PROBABILITIES in keys:
            out[PredictionKeys.PROBABILITIES] = torch.sigmoid(logits)
        if PredictionKeys.CLASSES in keys:
            out[PredictionKeys.CLASSES] = all_classes(logits, self._n_classes, self._label_vocabulary)
        return out

    def _create_metrics(self) -> dict[str, Metric]:
        k = MetricKeys
        metrics: dict[str, Metric] = {
            self._summary_key(k.AUC): AUC(name=k.AUC),
            self._summary_key(k.AUC_PR): AUC(curve="PR", name=k.AUC_PR),
        }
        metrics.update(self._threshold_metrics(self._thresholds))
        for c in self._class_ids:
            metrics[self._class_key(k.PROBABILITY_MEAN_AT_CLASS, k.PROBABILITY_MEAN_AT_NAME, c)] = Mean(
                name="probability_mean"
            )
            metrics[self._class_key(k.AUC_AT_CLASS, k.AUC_AT_NAME, c)] = AUC(name=k.AUC)
            metrics[self._class_key(k.AUC_PR_AT_CLASS, k.AUC_PR_AT_NAME, c)] = AUC(curve="PR", name=k.AUC_PR)
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
        probabilities = torch.sigmoid(logits)
        eval_metrics[self._summary_key(k.AUC)].update_state(labels, probabilities, w)
        eval_metrics[self._summary_key(k.AUC_PR)].update_state(labels, probabilities, w)
        self._update_threshold_metrics(eval_metrics, self._thresholds, labels, probabilities, w)
        for c in self._class_ids:
            p, y = probabilities[..., c : c + 1], labels[..., c : c + 1]
            eval_metrics[self._class_key(k.PROBABILITY_MEAN_AT_CLASS, k.PROBABILITY_MEAN_AT_NAME, c)].update_state(p, w)
            eval_metrics[self._class_key(k.AUC_AT_CLASS, k.AUC_AT_NAME, c)].update_state(y, p, w)
            eval_metrics[self._class_key(k.AUC_PR_AT_CLASS, k.AUC_PR_AT_NAME, c)].update_state(y, p, w)

    def _export_outputs(self, predictions: dict[str, Any]) -> dict[str, ExportOutput]:
        classification = ClassificationOutput(
            scores=predictions[PredictionKeys.PROBABILITIES], classes=predictions[PredictionKeys.CLASSES]
        )
        return {
            DEFAULT_SERVING_KEY: classification,
            CLASSIFY_SERVING_KEY: classification,
            PREDICT_SERVING_KEY: PredictOutput(predictions),
        }
