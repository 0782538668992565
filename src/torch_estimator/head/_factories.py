"""Functional head factories in the style of ``tf.contrib.estimator`` (``te.heads``).

Each returns the corresponding head object; every head also offers the contrib interface
``create_model_fn_ops(features, mode, labels, train_op_fn, logits=None, logits_input=None)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from torch_estimator._core.losses import Reduction
from torch_estimator.head import (
    BinaryClassHead,
    Head,
    LogisticRegressionHead,
    ModelFnOps,
    MultiClassHead,
    MultiHead,
    MultiLabelHead,
    PoissonRegressionHead,
    RegressionHead,
    no_op_train_fn,
)

__all__ = [
    "binary_classification_head",
    "multi_class_head",
    "multi_label_head",
    "regression_head",
    "logistic_regression_head",
    "poisson_regression_head",
    "multi_head",
    "no_op_train_fn",
    "ModelFnOps",
]

_SOBS = Reduction.SUM_OVER_BATCH_SIZE


def binary_classification_head(
    weight_column: Any = None,
    thresholds: Sequence[float] | None = None,
    label_vocabulary: Sequence[str] | None = None,
    loss_reduction: str = _SOBS,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    name: str | None = None,
) -> BinaryClassHead:
    """A ``BinaryClassHead``."""
    return BinaryClassHead(weight_column, thresholds, label_vocabulary, loss_reduction, loss_fn, name)


def multi_class_head(
    n_classes: int,
    weight_column: Any = None,
    label_vocabulary: Sequence[str] | None = None,
    loss_reduction: str = _SOBS,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    name: str | None = None,
) -> MultiClassHead:
    """A ``MultiClassHead``."""
    return MultiClassHead(n_classes, weight_column, label_vocabulary, loss_reduction, loss_fn, name)


def multi_label_head(
    n_classes: int,
    weight_column: Any = None,
    thresholds: Sequence[float] | None = None,
    label_vocabulary: Sequence[str] | None = None,
    loss_reduction: str = _SOBS,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    classes_for_class_based_metrics: Sequence[int | str] | None = None,
    name: str | None = None,
) -> MultiLabelHead:
    """A ``MultiLabelHead``."""
    return MultiLabelHead(
        n_classes,
        weight_column,
        thresholds,
        label_vocabulary,
        loss_reduction,
        loss_fn,
        classes_for_class_based_metrics,
        name,
    )


def regression_head(
    weight_column: Any = None,
    label_dimension: int = 1,
    loss_reduction: str = _SOBS,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    inverse_link_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
    name: str | None = None,
) -> RegressionHead:
    """A ``RegressionHead``."""
    return RegressionHead(label_dimension, weight_column, loss_reduction, loss_fn, inverse_link_fn, name)


def logistic_regression_head(
    weight_column: Any = None, loss_reduction: str = _SOBS, name: str | None = None
) -> LogisticRegressionHead:
    """A ``LogisticRegressionHead`` (ValueError for an invalid ``loss_reduction``)."""
    return LogisticRegressionHead(weight_column, loss_reduction, name)


def poisson_regression_head(
    weight_column: Any = None,
    label_dimension: int = 1,
    loss_reduction: str = _SOBS,
    compute_full_loss: bool = True,
    name: str | None = None,
) -> PoissonRegressionHead:
    """A ``PoissonRegressionHead``."""
    return PoissonRegressionHead(label_dimension, weight_column, loss_reduction, compute_full_loss, name)


def multi_head(heads: Sequence[Head], head_weights: Sequence[float] | None = None) -> MultiHead:
    """A ``MultiHead``."""
    return MultiHead(heads, head_weights)
