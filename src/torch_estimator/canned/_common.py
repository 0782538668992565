"""What the canned estimators share: head selection, optimizer resolution, summaries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from torch_estimator._core import optimizers, summary
from torch_estimator.head import BinaryClassHead, Head, MultiClassHead, RegressionHead

__all__ = [
    "classifier_head",
    "regression_head",
    "get_optimizer_instance",
    "add_layer_summary",
    "check_features",
    "check_head",
]


def classifier_head(
    n_classes: int, weight_column: Any, label_vocabulary: Sequence[str] | None, loss_reduction: str
) -> Head:
    """``BinaryClassHead`` for two classes, else ``MultiClassHead`` (which rejects n_classes < 3)."""
    if n_classes == 2:
        return BinaryClassHead(
            weight_column=weight_column, label_vocabulary=label_vocabulary, loss_reduction=loss_reduction
        )
    return MultiClassHead(
        n_classes, weight_column=weight_column, label_vocabulary=label_vocabulary, loss_reduction=loss_reduction
    )


def regression_head(label_dimension: int, weight_column: Any, loss_reduction: str) -> Head:
    return RegressionHead(label_dimension=label_dimension, weight_column=weight_column, loss_reduction=loss_reduction)


def check_head(head: Any) -> Head:
    if not isinstance(head, Head):
        raise TypeError(f"head must be a torch_estimator Head; got {type(head).__name__}.")
    return head


def get_optimizer_instance(opt: Any, learning_rate: float | None = None) -> optimizers.Optimizer:
    """TF's ``get_optimizer_instance_v2``: a name gets ``learning_rate`` (or the optimizer's own
    default), a callable is called, an instance is used as is."""
    if isinstance(opt, str):
        return optimizers.get(opt, learning_rate=learning_rate)
    if callable(opt) and not isinstance(opt, (optimizers.Optimizer, type)):
        opt = opt()
    resolved = optimizers.get(opt)
    if not isinstance(resolved, optimizers.Optimizer):
        raise ValueError(f"The given object is not a torch_estimator optimizer. Given: {opt}")
    return resolved


def check_features(features: Any) -> dict[str, Any]:
    if not isinstance(features, dict):
        raise ValueError(f"features should be a dictionary of `Tensor`s. Given type: {type(features)}")
    return features


def add_layer_summary(value: torch.Tensor, tag: str) -> None:
    """``<tag>/fraction_of_zero_values`` and ``<tag>/activation``, computed only when written."""
    detached = value.detach()
    summary.record_lazy(
        {
            f"{tag}/fraction_of_zero_values": lambda: (detached == 0).float().mean(),
            f"{tag}/activation": lambda: detached,
        }
    )
