"""Heads: from logits to loss, predictions, metrics, export outputs and train op."""

from __future__ import annotations

from ._base import BaseHead, Head
from ._binary import BinaryClassHead
from ._contrib import ModelFnOps, no_op_train_fn
from ._keys import MetricKeys, PredictionKeys
from ._multi_class import MultiClassHead
from ._multi_head import MultiHead
from ._multi_label import MultiLabelHead
from ._regression import LogisticRegressionHead, PoissonRegressionHead, RegressionHead

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
