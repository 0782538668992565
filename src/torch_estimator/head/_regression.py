"""RegressionHead and its fixed-loss variants LogisticRegressionHead and PoissonRegressionHead."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from torch_estimator._core.checks import check_int
from torch_estimator._core.export_output import RegressionOutput
from torch_estimator._core.losses import Reduction
from torch_estimator.head._base import BaseHead, Features, Labels
from torch_estimator.head._keys import MetricKeys, PredictionKeys
from torch_estimator.head._labels import (
    check_dense_labels_match_logits_and_reshape,
    check_label_values,
    labels_as_tensor,
)
from torch_estimator.head._metrics import HeadMetric, mean_of
from torch_estimator.head._outputs import REGRESS_SERVING_KEY, Signatures, serving_outputs

__all__ = ["RegressionHead", "LogisticRegressionHead", "PoissonRegressionHead"]


class RegressionHead(BaseHead):
    """Head for regression with mean squared error over ``label_dimension`` outputs.

    ``inverse_link_fn`` maps logits to predictions (e.g. ``torch.exp``); predictions then hold
    both ``predictions`` and ``logits``. Weights may also be per output ``[B, label_dimension]``.
    """

    _allow_per_logit_weights = True
    _default_scope = "regression_head"

    def __init__(
        self,
        label_dimension: int = 1,
        weight_column: Any = None,
        loss_reduction: str = Reduction.SUM_OVER_BATCH_SIZE,
        loss_fn: Callable[..., torch.Tensor] | None = None,
        inverse_link_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
        name: str | None = None,
    ) -> None:
        label_dimension = check_int(
            "label_dimension", label_dimension, 1, range_message=f"Invalid label_dimension {label_dimension}."
        )
        super().__init__(weight_column, loss_reduction, loss_fn, name)
        self._logits_dimension = label_dimension
        self._loss_dim = label_dimension
        self._inverse_link_fn = inverse_link_fn

    @property
    def logits_dimension(self) -> int:
        return self._logits_dimension

    #: ``(low, high, message)`` when labels must lie in ``[low, high]`` (the fixed-loss variants).
    _label_range: tuple[float, float, str] | None = None

    def _processed_labels(self, logits: torch.Tensor, labels: Labels) -> torch.Tensor:
        labels = check_dense_labels_match_logits_and_reshape(labels, logits, self._logits_dimension)
        labels = labels_as_tensor(labels, logits.device).to(torch.float32)
        if self._label_range is None:
            return labels
        low, high, message = self._label_range
        return check_label_values(labels, low, high, message, message)

    def _default_loss(self, labels: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        return (labels - logits) ** 2

    def _prediction_formulas(self, logits: torch.Tensor) -> dict[str, Callable[[], Any]]:
        """``predictions`` (``inverse_link_fn(logits)``, else the logits), and ``logits`` with an inverse link."""
        inverse_link_fn = self._inverse_link_fn
        if inverse_link_fn is None:
            return {PredictionKeys.PREDICTIONS: lambda: logits}
        return {PredictionKeys.PREDICTIONS: lambda: inverse_link_fn(logits), PredictionKeys.LOGITS: lambda: logits}

    def _own_metrics(self) -> dict[str, HeadMetric]:
        k = MetricKeys
        return {
            k.PREDICTION_MEAN: mean_of(k.PREDICTION_MEAN, PredictionKeys.PREDICTIONS),
            k.LABEL_MEAN: mean_of(k.LABEL_MEAN),
        }

    def _export_outputs(self, features: Features, logits: Any, predictions: dict[str, Any]) -> Signatures:
        regression = RegressionOutput(value=predictions[PredictionKeys.PREDICTIONS])
        return serving_outputs(predictions, {REGRESS_SERVING_KEY: regression})


class LogisticRegressionHead(RegressionHead):
    """Regression of a probability: sigmoid cross-entropy loss, predictions ``sigmoid(logits)``.

    Labels must lie in [0, 1]; anything else raises a ValueError naming the range received.
    """

    _default_scope = "logistic_regression_head"
    _label_range = (0.0, 1.0, "Labels must be in range [0, 1] for LogisticRegressionHead")

    def __init__(
        self, weight_column: Any = None, loss_reduction: str = Reduction.SUM_OVER_BATCH_SIZE, name: str | None = None
    ) -> None:
        super().__init__(
            label_dimension=1,
            weight_column=weight_column,
            loss_reduction=loss_reduction,
            inverse_link_fn=torch.sigmoid,
            name=name,
        )

    def _default_loss(self, labels: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, labels, reduction="none")


def log_poisson_loss(targets: torch.Tensor, log_input: torch.Tensor, compute_full_loss: bool = False) -> torch.Tensor:
    """``exp(c) - z·c``, plus Stirling's ``z·ln z - z + ½·ln(2πz)`` for ``z > 1`` when ``compute_full_loss``."""
    loss = torch.exp(log_input) - log_input * targets
    if compute_full_loss:
        safe = torch.where(targets > 0, targets, torch.ones_like(targets))
        stirling = safe * torch.log(safe) - safe + 0.5 * torch.log(2 * math.pi * safe)
        loss = loss + torch.where((targets >= 0) & (targets <= 1), torch.zeros_like(targets), stirling)
    return loss


class PoissonRegressionHead(RegressionHead):
    """Regression of counts: Poisson loss on log-rates, predictions ``exp(logits)``.

    Labels must be >= 0 (TensorFlow's loss is NaN for negative labels); others raise a ValueError.
    """

    _default_scope = "poisson_regression_head"
    _label_range = (0.0, math.inf, "Labels must be >= 0 for PoissonRegressionHead (counts)")

    def __init__(
        self,
        label_dimension: int = 1,
        weight_column: Any = None,
        loss_reduction: str = Reduction.SUM_OVER_BATCH_SIZE,
        compute_full_loss: bool = True,
        name: str | None = None,
    ) -> None:
        super().__init__(label_dimension, weight_column, loss_reduction, inverse_link_fn=torch.exp, name=name)
        self._compute_full_loss = bool(compute_full_loss)

    def _default_loss(self, labels: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        return log_poisson_loss(labels, logits, self._compute_full_loss)
