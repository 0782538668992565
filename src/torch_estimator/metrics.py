"""Streaming, weighted evaluation metrics.

The public ``te.metrics`` namespace; the implementation is in ``torch_estimator._core.metrics``.
"""

from torch_estimator._core.metrics import (
    AUC,
    Accuracy,
    BinaryAccuracy,
    ExactAUC,
    Mean,
    Metric,
    Precision,
    Recall,
    accuracy,
    mean,
)

__all__ = [
    "Metric",
    "Mean",
    "Accuracy",
    "BinaryAccuracy",
    "Precision",
    "Recall",
    "AUC",
    "ExactAUC",
    "mean",
    "accuracy",
]
