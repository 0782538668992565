"""Heads: from logits to loss, predictions, metrics, export outputs and train op."""

from __future__ import annotations

from torch_estimator.head._base import BaseHead, Head
from torch_estimator.head._binary import BinaryClassHead
from torch_estimator.head._contrib import ModelFnOps, no_op_train_fn
from torch_estimator.head._keys import MetricKeys, PredictionKeys
from torch_estimator.head._multi_class import MultiClassHead
from torch_estimator.head._multi_head import MultiHead
from torch_estimator.head._multi_label import MultiLabelHead
from torch_estimator.head._regression import LogisticRegressionHead, PoissonRegressionHead, RegressionHead

__all__ = [
    "Head",
    "BaseHead",
    "BinaryClassHead",
    "MultiClassHead",
    "MultiLabelHead",
    "RegressionHead",
    "LogisticRegressionHead",
    "PoissonRegressionHead",
    "MultiHead",
    "MetricKeys",
    "PredictionKeys",
    "ModelFnOps",
    "no_op_train_fn",
]
