"""TensorFlow 1's losses (``tf.compat.v1.losses``): per-element losses reduced with weights by one
of its reductions (default ``SUM_BY_NONZERO_WEIGHTS``: the weighted sum over the number of
non-zero weights)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from torch_estimator._core.variables import current_store

__all__ = [
    "Reduction",
    "compute_weighted_loss",
    "absolute_difference",
    "mean_squared_error",
    "huber_loss",
    "log_loss",
    "hinge_loss",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
    "cosine_distance",
    "mean_pairwise_squared_error",
    "get_regularization_losses",
    "get_regularization_loss",
]


class Reduction:
    """``tf.compat.v1.losses.Reduction``."""

    NONE = "none"
    SUM = "weighted_sum"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    MEAN = "weighted_mean"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls) -> tuple[str, ...]:
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE, cls.SUM_BY_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, key: Any) -> None:
        if key not in cls.all():
            raise ValueError(f"Invalid Reduction Key {key}.")


def _tensor(value: Any, name: str, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.to(dtype)
    try:
        return torch.as_tensor(value, dtype=dtype)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"{name} must be numbers; got {type(value).__name__} ({error}).") from None


def _same_shape(a: torch.Tensor, b: torch.Tensor, names: tuple[str, str]) -> None:
    if a.shape != b.shape:
        raise ValueError(f"Shapes {tuple(a.shape)} and {tuple(b.shape)} are incompatible ({names[0]} and {names[1]}).")


def compute_weighted_loss(
    losses: Any,
    weights: Any = 1.0,
    scope: Any = None,
    loss_collection: Any = None,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
) -> torch.Tensor:
    """``losses * weights`` (``weights`` broadcast to ``losses``) reduced by ``reduction``."""
    Reduction.validate(reduction)
    losses = _tensor(losses, "losses")
    w = _tensor(weights, "weights")
    try:
        w = torch.broadcast_to(w, losses.shape)
    except RuntimeError:
        raise ValueError(
            "weights can not be broadcast to values. "
            f"values.shape={tuple(losses.shape)}, weights.shape={tuple(w.shape)}"
        ) from None
    weighted = losses * w
    if reduction == Reduction.NONE:
        return weighted
    total = weighted.sum()
    if reduction == Reduction.SUM:
        return total
    if reduction == Reduction.MEAN:
        denominator = w.sum()
    elif reduction == Reduction.SUM_OVER_BATCH_SIZE:
        denominator = torch.tensor(float(losses.numel()))
    else:
        denominator = (w != 0).sum().to(total.dtype)
    return torch.where(denominator > 0, total / torch.where(denominator > 0, denominator, 1.0), 0.0)


def _pair(
    labels: Any, predictions: Any, names: tuple[str, str] = ("labels", "predictions")
) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = _tensor(labels, names[0]), _tensor(predictions, names[1])
    _same_shape(a, b, names)
    return a, b


def absolute_difference(
    labels: Any,
    predictions: Any,
    weights: Any = 1.0,
    scope: Any = None,
    loss_collection: Any = None,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
) -> torch.Tensor:
    """``|predictions - labels|``, reduced."""
    a, b = _pair(labels, predictions)
    return compute_weighted_loss((b - a).abs(), weights, reduction=reduction)


def mean_squared_error(
    labels: Any,
    predictions: Any,
    weights: Any = 1.0,
    scope: Any = None,
    loss_collection: Any = None,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
) -> torch.Tensor:
    """``(predictions - labels)²``, reduced."""
    a, b = _pair(labels, predictions)
    return compute_weighted_loss((b - a) ** 2, weights, reduction=reduction)


def huber_loss(
    labels: Any,
    predictions: Any,
    weights: Any = 1.0,
    delta: float = 1.0,
    scope: Any = None,
    loss_collection: Any = None,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
) -> torch.Tensor:
    """``0.5·q² + delta·(|e| - q)``, ``q = min(|e|, delta)``, ``e = predictions - labels``, reduced."""
    a, b = _pair(labels, predictions)
    error = (b - a).abs()
    quadratic = torch.clamp(error, max=delta)
    return compute_weighted_loss(0.5 * quadratic**2 + delta * (error - quadratic), weights, reduction=reduction)


def log_loss(
    labels: Any,
    predictions: Any,
    weights: Any = 1.0,
    epsilon: float = 1e-7,
    scope: Any = None,
    loss_collection: Any = None,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
) -> torch.Tensor:
    """``-l·log(p + ε) - (1 - l)·log(1 - p + ε)``, reduced."""
    a, b = _pair(labels, predictions)
    losses = -a * torch.log(b + epsilon) - (1 - a) * torch.log(1 - b + epsilon)
    return compute_weighted_loss(losses, weights, reduction=reduction)


def hinge_loss(
    labels: Any,
    logits: Any,
    weights: Any = 1.0,
    scope: Any = None,
    loss_collection: Any = None,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
) -> torch.Tensor:
    """``max(0, 1 - (2l - 1)·logits)`` for labels in {0, 1}, reduced."""
    a, b = _pair(labels, logits, ("labels", "logits"))
    return compute_weighted_loss(F.relu(1 - (2 * a - 1) * b), weights, reduction=reduction)


def sigmoid_cross_entropy(
    multi_class_labels: Any,
    logits: Any,
    weights: Any = 1.0,
    label_smoothing: float = 0,
    scope: Any = None,
    loss_collection: Any = None,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
) -> torch.Tensor:
    """Sigmoid cross-entropy of ``logits`` (labels smoothed towards 1/2), reduced."""
    a, b = _pair(multi_class_labels, logits, ("multi_class_labels", "logits"))
    if label_smoothing > 0:
        a = a * (1 - label_smoothing) + 0.5 * label_smoothing
    losses = F.binary_cross_entropy_with_logits(b, a, reduction="none")
    return compute_weighted_loss(losses, weights, reduction=reduction)


def softmax_cross_entropy(
    onehot_labels: Any,
    logits: Any,
    weights: Any = 1.0,
    label_smoothing: float = 0,
    scope: Any = None,
    loss_collection: Any = None,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
) -> torch.Tensor:
    """Softmax cross-entropy per example (labels smoothed towards uniform), reduced."""
    a, b = _pair(onehot_labels, logits, ("onehot_labels", "logits"))
    if label_smoothing > 0:
        a = a * (1 - label_smoothing) + label_smoothing / a.shape[-1]
    losses = -(a * F.log_softmax(b, dim=-1)).sum(dim=-1)
    return compute_weighted_loss(losses, weights, reduction=reduction)


def sparse_softmax_cross_entropy(
    labels: Any,
    logits: Any,
    weights: Any = 1.0,
    scope: Any = None,
    loss_collection: Any = None,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
) -> torch.Tensor:
    """Softmax cross-entropy of class ids ``labels`` (``[B]`` or ``[B, 1]``), reduced."""
    ids = _tensor(labels, "labels", torch.int64)
    scores = _tensor(logits, "logits")
    if ids.dim() == scores.dim():
        ids = ids.squeeze(-1)
    if ids.shape != scores.shape[:-1]:
        raise ValueError(f"labels of shape {tuple(ids.shape)} do not match logits of shape {tuple(scores.shape)}.")
    losses = F.cross_entropy(scores.reshape(-1, scores.shape[-1]), ids.reshape(-1), reduction="none").reshape(ids.shape)
    return compute_weighted_loss(losses, weights, reduction=reduction)


def cosine_distance(
    labels: Any,
    predictions: Any,
    axis: int | None = None,
    weights: Any = 1.0,
    scope: Any = None,
    loss_collection: Any = None,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
    dim: int | None = None,
) -> torch.Tensor:
    """``1 - Σ_axis labels·predictions`` (inputs unit-normalized along ``axis``), reduced."""
    axis = dim if axis is None else axis
    if axis is None:
        raise ValueError("You must specify 'axis'.")
    a, b = _pair(labels, predictions)
    losses = 1 - (a * b).sum(dim=axis, keepdim=True)
    return compute_weighted_loss(losses, weights, reduction=reduction)


def mean_pairwise_squared_error(
    labels: Any,
    predictions: Any,
    weights: Any = 1.0,
    scope: Any = None,
    loss_collection: Any = None,
) -> torch.Tensor:
    """Per example, the mean over pairs of its elements of ``((p_i - p_j) - (l_i - l_j))²``,
    computed as ``2 Σd² / (n - 1) - 2 (Σd)² / (n (n - 1))`` over its ``n`` elements with non-zero
    weight (``d = p - l``); the weighted sum over examples (``weights``: a scalar or per example).

    TF 2.15, given a scalar weight (its default 1.0), counts ``n`` over the whole batch instead of
    per example; here ``n`` is always per example, as TF computes for per-example weights.
    """
    a, b = _pair(labels, predictions)
    diffs = b - a
    w = _tensor(weights, "weights")
    axes = tuple(range(1, diffs.dim()))
    if w.dim() > 0 and w.dim() < diffs.dim():
        w = w.reshape(tuple(w.shape) + (1,) * (diffs.dim() - w.dim()))
    try:
        present = torch.broadcast_to((w != 0).to(diffs.dtype), diffs.shape)
        torch.broadcast_shapes(w.shape, diffs.shape)
    except RuntimeError:
        raise ValueError(
            f"weights of shape {tuple(w.shape)} cannot be broadcast to labels of shape {tuple(diffs.shape)}."
        ) from None
    n = present.sum(dim=axes, keepdim=True) if axes else present
    sum_sq = diffs.square().sum(dim=axes, keepdim=True) if axes else diffs.square()
    sum_d = diffs.sum(dim=axes, keepdim=True) if axes else diffs

    def div_no_nan(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.where(y > 0, x / torch.where(y > 0, y, 1.0), 0.0)

    term1 = 2.0 * div_no_nan(sum_sq, (n - 1).clamp_min(0))
    term2 = 2.0 * div_no_nan(sum_d.square(), (n * (n - 1)).clamp_min(0))
    loss = ((term1 - term2) * w).sum()
    return torch.where(n.sum() > 0, loss, torch.zeros_like(loss))


def get_regularization_losses(scope: str | None = None) -> list[torch.Tensor]:
    """The regularizers' losses of the current model_fn call (layers' ``kernel_regularizer``, ...,
    ``te.get_variable(regularizer=...)``); ``scope`` is not supported (losses carry no names)."""
    if scope is not None:
        raise ValueError(f"get_regularization_losses(scope={scope!r}): losses are not kept by scope; pass None.")
    return list(current_store().regularization_losses)


def get_regularization_loss(scope: str | None = None, name: str = "total_regularization_loss") -> torch.Tensor:
    """The sum of ``get_regularization_losses()`` (0.0 when there are none)."""
    losses = get_regularization_losses(scope)
    return torch.stack(losses).sum() if losses else torch.tensor(0.0)
