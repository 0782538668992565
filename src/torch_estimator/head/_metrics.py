"""The metrics a head reports, each declared once: how it is created and what each evaluation
batch updates it with."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import torch

from torch_estimator._core.metrics import AUC, BinaryAccuracy, Mean, Metric, Precision, Recall
from torch_estimator.head._keys import MetricKeys

__all__ = ["AUC_PR", "EvalBatch", "HeadMetric", "labels_against", "mean_of", "threshold_metrics"]

#: The area under the precision-recall curve (``AUC(curve="PR")``).
AUC_PR = functools.partial(AUC, curve="PR")


@dataclasses.dataclass(frozen=True)
class EvalBatch:
    """One evaluation batch as a head's metrics read it."""

    #: The processed labels.
    labels: torch.Tensor
    #: Example weights (None: all 1).
    weights: torch.Tensor | None
    #: The head's prediction of a key (e.g. ``'probabilities'``).
    prediction: Callable[[str], Any]

    def column(self, class_id: int) -> EvalBatch:
        """The batch restricted to class ``class_id`` (labels and predictions sliced ``[..., id:id+1]``)."""
        columns = slice(class_id, class_id + 1)
        return EvalBatch(self.labels[..., columns], self.weights, lambda key: self.prediction(key)[..., columns])


class HeadMetric(NamedTuple):
    """A metric a head reports: ``create()`` makes it, ``inputs(batch)`` are its ``update_state`` arguments."""

    create: Callable[[], Metric]
    inputs: Callable[[EvalBatch], tuple[Any, ...]]

    def for_column(self, class_id: int) -> HeadMetric:
        """The same metric over class ``class_id`` only."""
        return HeadMetric(self.create, lambda batch: self.inputs(batch.column(class_id)))


def labels_against(metric: Callable[..., Metric], name: str, prediction_key: str) -> HeadMetric:
    """``metric(name=name)`` updated with ``(labels, predictions[prediction_key], weights)``."""
    return HeadMetric(lambda: metric(name=name), lambda b: (b.labels, b.prediction(prediction_key), b.weights))


def mean_of(name: str, prediction_key: str | None = None, metric: Callable[..., Metric] = Mean) -> HeadMetric:
    """``metric(name=name)`` (a ``Mean``) of ``predictions[prediction_key]``, or of the labels when None."""

    def inputs(b: EvalBatch) -> tuple[Any, ...]:
        return (b.labels if prediction_key is None else b.prediction(prediction_key), b.weights)

    return HeadMetric(lambda: metric(name=name), inputs)


def threshold_metrics(thresholds: Sequence[float], prediction_key: str) -> dict[str, HeadMetric]:
    """accuracy / precision / recall of ``predictions[prediction_key]`` at each threshold, keyed
    ``<metric>/positive_threshold_<t>``."""
    k = MetricKeys
    metrics: dict[str, HeadMetric] = {}
    for t in thresholds:
        for template, metric in (
            (k.ACCURACY_AT_THRESHOLD, functools.partial(BinaryAccuracy, threshold=t)),
            (k.PRECISION_AT_THRESHOLD, functools.partial(Precision, thresholds=t)),
            (k.RECALL_AT_THRESHOLD, functools.partial(Recall, thresholds=t)),
        ):
            metrics[template % t] = labels_against(metric, template % t, prediction_key)
    return metrics
