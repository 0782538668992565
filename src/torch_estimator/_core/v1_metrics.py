"""TensorFlow 1's streaming metrics (``tf.compat.v1.metrics``).

Each function takes one batch and returns a metric: TF1's ``(value, update_op)`` pair that
``EstimatorSpec.eval_metric_ops`` accepts. The state is a dict of tensors that add up across
batches (the Estimator merges the batches' metrics), and the value is a function of the state,
with TF1's formulas, epsilons and casts: ``precision``/``recall`` cast predictions to bool (any
non-zero prediction is positive), the threshold metrics count a prediction positive when
strictly above a threshold, ``precision_at_k``/``recall_at_k`` are NaN until something counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from torch_estimator._core.metrics import Metric

__all__ = [
    "accuracy",
    "auc",
    "average_precision_at_k",
    "false_negatives",
    "false_negatives_at_thresholds",
    "false_positives",
    "false_positives_at_thresholds",
    "mean",
    "mean_absolute_error",
    "mean_cosine_distance",
    "mean_iou",
    "mean_per_class_accuracy",
    "mean_relative_error",
    "mean_squared_error",
    "mean_tensor",
    "percentage_below",
    "precision",
    "precision_at_k",
    "precision_at_thresholds",
    "precision_at_top_k",
    "recall",
    "recall_at_k",
    "recall_at_thresholds",
    "recall_at_top_k",
    "root_mean_squared_error",
    "sensitivity_at_specificity",
    "specificity_at_sensitivity",
    "true_negatives",
    "true_negatives_at_thresholds",
    "true_positives",
    "true_positives_at_thresholds",
]

_F64 = torch.float64
State = dict[str, torch.Tensor]


class StreamedMetric(Metric):
    """A TF1 metric: additive state tensors (``zero`` gives their shapes) and ``finish``, the
    value as a function of the state. ``kind`` names the function and its fixed arguments;
    only metrics of the same kind merge."""

    def __init__(
        self,
        name: str,
        kind: tuple[Any, ...],
        zero: dict[str, tuple[int, ...]],
        finish: Callable[[State], torch.Tensor],
    ) -> None:
        self._kind = kind
        self._zero_shapes = zero
        self._finish = finish
        super().__init__(name)

    def _zero_state(self) -> State:
        return {k: torch.zeros(shape, dtype=_F64) for k, shape in self._zero_shapes.items()}

    def _batch_state(self, state: State) -> State:
        return state

    def _result(self, state: State) -> torch.Tensor:
        return self._finish(state)

    def merge_state(self, other: Metric) -> None:
        if not isinstance(other, StreamedMetric) or other._kind != self._kind:
            raise TypeError(f"Cannot merge {other!r} into metric {self.name!r}: they are different metrics.")
        super().merge_state(other)

    def __repr__(self) -> str:
        return f"{self._kind[0]}(name={self.name!r})"


def _streamed(
    name: str, kind: tuple[Any, ...], batch: State, finish: Callable[[State], torch.Tensor]
) -> StreamedMetric:
    metric = StreamedMetric(name, kind, {k: tuple(v.shape) for k, v in batch.items()}, finish)
    metric.update_state({k: v.to(_F64) for k, v in batch.items()})
    return metric


# -- inputs ------------------------------------------------------------------------------------
def _tensor(value: Any, what: str) -> torch.Tensor:
    """``value`` as a tensor of its own dtype (bool, integer or floating); TypeError otherwise."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
    else:
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{what} must be numbers or booleans; got dtype {array.dtype}.")
        tensor = torch.from_numpy(np.array(array, dtype=np.float32 if array.dtype.kind == "f" else None))
    if tensor.dtype.is_complex:
        raise TypeError(f"{what} must be real numbers or booleans; got dtype {tensor.dtype}.")
    return tensor


def _no_collections(metrics_collections: Any, updates_collections: Any, name: str) -> None:
    if metrics_collections or updates_collections:
        raise ValueError(
            f"metric {name!r}: metrics_collections/updates_collections are TF1 graph collections, which "
            "torch_estimator has no use for; pass the returned (value, update_op) pair on instead."
        )


def _squeeze_pair(labels: torch.Tensor, predictions: torch.Tensor, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """TF's remove_squeezable_dimensions: a trailing size-1 dimension is dropped from whichever of
    the two has rank one more; the shapes must then agree."""
    if labels.dim() == predictions.dim() + 1 and labels.shape[-1] == 1:
        labels = labels.squeeze(-1)
    elif predictions.dim() == labels.dim() + 1 and predictions.shape[-1] == 1:
        predictions = predictions.squeeze(-1)
    if labels.shape != predictions.shape:
        raise ValueError(
            f"metric {name!r}: labels of shape {tuple(labels.shape)} and predictions of shape "
            f"{tuple(predictions.shape)} are incompatible."
        )
    return labels, predictions.to(labels.device)


def _weights(weights: Any, values: torch.Tensor, name: str) -> torch.Tensor | None:
    """TF's weight rule: a scalar stays; a rank one more (trailing 1) or one less than ``values``
    is squeezed or expanded at the end; the result must broadcast to ``values``."""
    if weights is None:
        return None
    w = _tensor(weights, f"weights of metric {name!r}").to(device=values.device, dtype=_F64)
    if w.dim() == 0:
        return torch.broadcast_to(w, values.shape)
    if w.dim() == values.dim() + 1 and w.shape[-1] == 1:
        w = w.squeeze(-1)
    elif w.dim() == values.dim() - 1:
        w = w.unsqueeze(-1)
    if w.dim() != values.dim() or any(a not in (1, b) for a, b in zip(w.shape, values.shape, strict=True)):
        raise ValueError(
            f"metric {name!r}: weights of shape {tuple(np.shape(weights))} cannot be broadcast to values of shape "
            f"{tuple(values.shape)} (expected a scalar or a shape of 1s and the values' sizes)."
        )
    return torch.broadcast_to(w, values.shape)


def _in_unit_interval(predictions: torch.Tensor, name: str) -> torch.Tensor:
    p = predictions.to(torch.float32)
    if p.numel() and (bool((p < 0).any()) or bool((p > 1).any()) or bool(p.isnan().any())):
        raise ValueError(
            f"metric {name!r}: predictions must be in [0, 1]; got values from {float(p.min())} to {float(p.max())}."
        )
    return p


def _div_no_nan(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    return torch.where(den != 0, num / torch.where(den != 0, den, torch.ones_like(den)), torch.zeros_like(num))


# -- means ---------------------------------------------------------------------------------------
def _mean_state(values: torch.Tensor, weights: Any, name: str) -> State:
    v = values.to(torch.float32).to(_F64)
    w = _weights(weights, v, name)
    if w is None:
        return {"total": v.sum(), "count": torch.tensor(float(v.numel()), dtype=_F64)}
    return {"total": (v * w).sum(), "count": w.sum()}


def _finish_mean(state: State) -> torch.Tensor:
    return _div_no_nan(state["total"], state["count"].clamp_min(0))


def _mean_metric(
    values: torch.Tensor, weights: Any, name: str, kind: str, then: Callable[[torch.Tensor], torch.Tensor] | None = None
) -> StreamedMetric:
    finish = _finish_mean if then is None else (lambda s: then(_finish_mean(s)))
    return _streamed(name, (kind,), _mean_state(values, weights, name), finish)


def mean(
    values: Any,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """Weighted mean of ``values``: ``sum(w * v) / sum(w)``, 0 when nothing has weight."""
    name = name or "mean"
    _no_collections(metrics_collections, updates_collections, name)
    return _mean_metric(_tensor(values, f"values of metric {name!r}"), weights, name, "mean")


def mean_tensor(
    values: Any,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """Element-wise weighted mean of ``values`` over batches (the value has the values' shape)."""
    name = name or "mean"
    _no_collections(metrics_collections, updates_collections, name)
    v = _tensor(values, f"values of metric {name!r}").to(torch.float32).to(_F64)
    w = _weights(weights, v, name)
    batch = {"total": v.clone(), "count": torch.ones_like(v)} if w is None else {"total": v * w, "count": w.clone()}
    return _streamed(name, ("mean_tensor", tuple(v.shape)), batch, _finish_mean)


def accuracy(
    labels: Any,
    predictions: Any,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """Weighted fraction of ``predictions == labels``; predictions of another dtype are cast to the
    labels' dtype first (as TF1: float predictions against integer labels are truncated)."""
    name = name or "accuracy"
    _no_collections(metrics_collections, updates_collections, name)
    lab, pred = _squeeze_pair(
        _tensor(labels, f"labels of metric {name!r}"), _tensor(predictions, f"predictions of metric {name!r}"), name
    )
    if pred.dtype != lab.dtype:
        pred = pred.to(lab.dtype)
    return _mean_metric((pred == lab).to(torch.float32), weights, name, "accuracy")


def _regression_pair(labels: Any, predictions: Any, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    lab, pred = _squeeze_pair(
        _tensor(labels, f"labels of metric {name!r}"), _tensor(predictions, f"predictions of metric {name!r}"), name
    )
    return lab.to(torch.float32), pred.to(torch.float32)


def mean_absolute_error(
    labels: Any,
    predictions: Any,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """Weighted mean of ``|predictions - labels|``."""
    name = name or "mean_absolute_error"
    _no_collections(metrics_collections, updates_collections, name)
    lab, pred = _regression_pair(labels, predictions, name)
    return _mean_metric((pred - lab).abs(), weights, name, "mean_absolute_error")


def mean_squared_error(
    labels: Any,
    predictions: Any,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """Weighted mean of ``(predictions - labels) ** 2``."""
    name = name or "mean_squared_error"
    _no_collections(metrics_collections, updates_collections, name)
    lab, pred = _regression_pair(labels, predictions, name)
    return _mean_metric((pred - lab).square(), weights, name, "mean_squared_error")


def root_mean_squared_error(
    labels: Any,
    predictions: Any,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """Square root of the weighted mean squared error (over everything seen, not per batch)."""
    name = name or "root_mean_squared_error"
    _no_collections(metrics_collections, updates_collections, name)
    lab, pred = _regression_pair(labels, predictions, name)
    return _mean_metric((pred - lab).square(), weights, name, "root_mean_squared_error", torch.sqrt)


def mean_relative_error(
    labels: Any,
    predictions: Any,
    normalizer: Any,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """Weighted mean of ``|labels - predictions| / normalizer`` (0 where the normalizer is 0)."""
    name = name or "mean_relative_error"
    _no_collections(metrics_collections, updates_collections, name)
    lab, pred = _regression_pair(labels, predictions, name)
    norm, pred = _squeeze_pair(_tensor(normalizer, f"normalizer of metric {name!r}").to(torch.float32), pred, name)
    relative = torch.where(norm == 0, torch.zeros_like(lab), (lab - pred).abs() / norm)
    return _mean_metric(relative, weights, name, "mean_relative_error")


def percentage_below(
    values: Any,
    threshold: float,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """Weighted fraction of ``values < threshold``."""
    name = name or "percentage_below_threshold"
    _no_collections(metrics_collections, updates_collections, name)
    v = _tensor(values, f"values of metric {name!r}")
    below = (v < torch.tensor(threshold, dtype=v.dtype if v.is_floating_point() else torch.float32)).to(torch.float32)
    return _mean_metric(below, weights, name, "percentage_below")


def mean_cosine_distance(
    labels: Any,
    predictions: Any,
    dim: int,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """``1 - `` the weighted mean over examples of ``sum(labels * predictions, dim)`` (unit-normalised
    inputs expected, as TF1)."""
    name = name or "mean_cosine_distance"
    _no_collections(metrics_collections, updates_collections, name)
    lab, pred = _regression_pair(labels, predictions, name)
    radial = (pred * lab).sum(dim=dim, keepdim=True)
    return _mean_metric(radial, weights, name, "mean_cosine_distance", lambda m: 1.0 - m)


# -- counts of boolean predictions -----------------------------------------------------------
def _bool_pair(labels: Any, predictions: Any, weights: Any, name: str) -> tuple[torch.Tensor, torch.Tensor, Any]:
    lab, pred = _squeeze_pair(
        _tensor(labels, f"labels of metric {name!r}").to(torch.bool),
        _tensor(predictions, f"predictions of metric {name!r}").to(torch.bool),
        name,
    )
    return lab, pred, weights


def _count(condition: torch.Tensor, weights: Any, name: str) -> torch.Tensor:
    c = condition.to(_F64)
    if weights is None:
        return c.sum()
    w = _tensor(weights, f"weights of metric {name!r}").to(device=c.device, dtype=_F64)
    if w.dim() not in (0, c.dim()):
        raise ValueError(
            f"metric {name!r}: weights of shape {tuple(w.shape)} must be a scalar or have the rank of the "
            f"predictions (shape {tuple(c.shape)})."
        )
    try:
        return (c * w).sum()
    except RuntimeError:
        raise ValueError(
            f"metric {name!r}: weights of shape {tuple(w.shape)} cannot be broadcast to predictions of shape "
            f"{tuple(c.shape)}."
        ) from None


_CONDITIONS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "tp": lambda lab, pred: lab & pred,
    "fp": lambda lab, pred: ~lab & pred,
    "tn": lambda lab, pred: ~lab & ~pred,
    "fn": lambda lab, pred: lab & ~pred,
}


def _counts(labels: Any, predictions: Any, weights: Any, name: str, keys: Sequence[str]) -> State:
    lab, pred, w = _bool_pair(labels, predictions, weights, name)
    if w is not None:
        w_t = _tensor(w, f"weights of metric {name!r}")
        if w_t.dim() == lab.dim() + 1 and w_t.shape[-1] == 1:
            w = w_t.squeeze(-1)
        elif w_t.dim() == lab.dim() - 1 and w_t.dim() > 0:
            w = w_t.unsqueeze(-1)
    return {k: _count(_CONDITIONS[k](lab, pred), w, name) for k in keys}


def _count_metric(key: str, default: str) -> Callable[..., StreamedMetric]:
    def count(
        labels: Any,
        predictions: Any,
        weights: Any = None,
        metrics_collections: Any = None,
        updates_collections: Any = None,
        name: str | None = None,
    ) -> StreamedMetric:
        name = name or default
        _no_collections(metrics_collections, updates_collections, name)
        return _streamed(name, (default,), _counts(labels, predictions, weights, name, (key,)), lambda s: s[key])

    count.__name__ = count.__qualname__ = default
    count.__doc__ = f"Weighted count of {default.replace('_', ' ')} (predictions cast to bool)."
    return count


true_positives = _count_metric("tp", "true_positives")
false_positives = _count_metric("fp", "false_positives")
true_negatives = _count_metric("tn", "true_negatives")
false_negatives = _count_metric("fn", "false_negatives")


def _ratio_where_positive(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    return torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)), torch.zeros_like(num))


def precision(
    labels: Any,
    predictions: Any,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """``tp / (tp + fp)`` (0 with no positive prediction); predictions are cast to bool, so any
    non-zero prediction (a probability of 0.3, say) counts as positive, as in TF1."""
    name = name or "precision"
    _no_collections(metrics_collections, updates_collections, name)
    state = _counts(labels, predictions, weights, name, ("tp", "fp"))
    return _streamed(name, ("precision",), state, lambda s: _ratio_where_positive(s["tp"], s["tp"] + s["fp"]))


def recall(
    labels: Any,
    predictions: Any,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """``tp / (tp + fn)`` (0 with no positive label); predictions are cast to bool, as in TF1."""
    name = name or "recall"
    _no_collections(metrics_collections, updates_collections, name)
    state = _counts(labels, predictions, weights, name, ("tp", "fn"))
    return _streamed(name, ("recall",), state, lambda s: _ratio_where_positive(s["tp"], s["tp"] + s["fn"]))


# -- confusion counts at thresholds ------------------------------------------------------------
_KEPSILON = 1e-7


def _at_thresholds(labels: Any, predictions: Any, thresholds: Sequence[float], weights: Any, name: str) -> State:
    """Weighted tp/fn/tn/fp per threshold; a prediction (in [0, 1]) is positive when above it."""
    lab = _tensor(labels, f"labels of metric {name!r}").to(torch.bool)
    pred = _in_unit_interval(_tensor(predictions, f"predictions of metric {name!r}"), name)
    lab, pred = _squeeze_pair(lab, pred, name)
    w = _weights(weights, pred.to(_F64), name)
    flat_w = torch.ones(pred.numel(), dtype=_F64, device=pred.device) if w is None else w.reshape(-1)
    t = torch.tensor([float(x) for x in thresholds], dtype=torch.float32, device=pred.device)
    above = pred.reshape(1, -1) > t.reshape(-1, 1)
    pos = lab.reshape(1, -1)
    return {
        "tp": ((above & pos).to(_F64) * flat_w).sum(1),
        "fn": ((~above & pos).to(_F64) * flat_w).sum(1),
        "tn": ((~above & ~pos).to(_F64) * flat_w).sum(1),
        "fp": ((above & ~pos).to(_F64) * flat_w).sum(1),
    }


def _threshold_list(thresholds: Any, name: str) -> list[float]:
    values = [thresholds] if isinstance(thresholds, (int, float)) else list(thresholds)
    if not values:
        raise ValueError(f"metric {name!r}: thresholds must not be empty.")
    return [float(t) for t in values]


def _count_at_thresholds_metric(key: str, default: str) -> Callable[..., StreamedMetric]:
    def count(
        labels: Any,
        predictions: Any,
        thresholds: Sequence[float],
        weights: Any = None,
        metrics_collections: Any = None,
        updates_collections: Any = None,
        name: str | None = None,
    ) -> StreamedMetric:
        name = name or default.replace("_at_thresholds", "")
        _no_collections(metrics_collections, updates_collections, name)
        ts = _threshold_list(thresholds, name)
        state = _at_thresholds(labels, predictions, ts, weights, name)
        return _streamed(name, (default, tuple(ts)), {key: state[key]}, lambda s: s[key])

    count.__name__ = count.__qualname__ = default
    count.__doc__ = (
        f"Weighted {default.split('_at_')[0].replace('_', ' ')} per threshold (positive: prediction > threshold)."
    )
    return count


true_positives_at_thresholds = _count_at_thresholds_metric("tp", "true_positives_at_thresholds")
false_positives_at_thresholds = _count_at_thresholds_metric("fp", "false_positives_at_thresholds")
true_negatives_at_thresholds = _count_at_thresholds_metric("tn", "true_negatives_at_thresholds")
false_negatives_at_thresholds = _count_at_thresholds_metric("fn", "false_negatives_at_thresholds")


def precision_at_thresholds(
    labels: Any,
    predictions: Any,
    thresholds: Sequence[float],
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """``tp / (tp + fp + 1e-7)`` per threshold."""
    name = name or "precision_at_thresholds"
    _no_collections(metrics_collections, updates_collections, name)
    ts = _threshold_list(thresholds, name)
    s = _at_thresholds(labels, predictions, ts, weights, name)
    return _streamed(
        name,
        ("precision_at_thresholds", tuple(ts)),
        {"tp": s["tp"], "fp": s["fp"]},
        lambda s: s["tp"] / (_KEPSILON + s["tp"] + s["fp"]),
    )


def recall_at_thresholds(
    labels: Any,
    predictions: Any,
    thresholds: Sequence[float],
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """``tp / (tp + fn + 1e-7)`` per threshold."""
    name = name or "recall_at_thresholds"
    _no_collections(metrics_collections, updates_collections, name)
    ts = _threshold_list(thresholds, name)
    s = _at_thresholds(labels, predictions, ts, weights, name)
    return _streamed(
        name,
        ("recall_at_thresholds", tuple(ts)),
        {"tp": s["tp"], "fn": s["fn"]},
        lambda s: s["tp"] / (_KEPSILON + s["tp"] + s["fn"]),
    )


def _even_thresholds(num_thresholds: int, high: float = 1.0 + _KEPSILON) -> list[float]:
    inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    return [0.0 - _KEPSILON, *inner, high]


def _interpolate_pr_auc(tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor) -> torch.Tensor:
    """PR AUC by Davis & Goadrich's interpolation (``summation_method='careful_interpolation'``)."""
    dtp = tp[:-1] - tp[1:]
    p = tp + fp
    slope = _div_no_nan(dtp, (p[:-1] - p[1:]).clamp_min(0))
    intercept = tp[1:] - slope * p[1:]
    both = (p[:-1] > 0) & (p[1:] > 0)
    ratio = torch.where(both, _div_no_nan(p[:-1], p[1:].clamp_min(0)), torch.ones_like(p[1:]))
    return _div_no_nan(slope * (dtp + intercept * torch.log(ratio)), (tp[1:] + fn[1:]).clamp_min(0)).sum()


_SUMMATIONS = ("trapezoidal", "careful_interpolation", "minoring", "majoring")


def _auc_of(curve: str, summation_method: str) -> Callable[[State], torch.Tensor]:
    epsilon = 1e-6

    def finish(s: State) -> torch.Tensor:
        tp, fn, tn, fp = s["tp"], s["fn"], s["tn"], s["fp"]
        if curve == "PR" and summation_method == "careful_interpolation":
            return _interpolate_pr_auc(tp, fp, fn)
        rec = (tp + epsilon) / (tp + fn + epsilon)
        if curve == "ROC":
            x, y = fp / (fp + tn + epsilon), rec
        else:
            x, y = rec, (tp + epsilon) / (tp + fp + epsilon)
        if summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        elif summation_method == "majoring":
            heights = torch.maximum(y[:-1], y[1:])
        else:
            heights = (y[:-1] + y[1:]) / 2.0
        return ((x[:-1] - x[1:]) * heights).sum()

    return finish


def auc(
    labels: Any,
    predictions: Any,
    weights: Any = None,
    num_thresholds: int = 200,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    curve: str = "ROC",
    name: str | None = None,
    summation_method: str = "trapezoidal",
    thresholds: Sequence[float] | None = None,
) -> StreamedMetric:
    """Area under the ROC (``curve='ROC'``) or precision-recall (``'PR'``) curve, from confusion
    counts at ``num_thresholds`` thresholds evenly spaced over [0, 1] (or ``thresholds`` plus the two
    ends); TF1's default summation is the trapezoidal rule. Predictions must be in [0, 1]."""
    name = name or "auc"
    _no_collections(metrics_collections, updates_collections, name)
    if curve not in ("ROC", "PR"):
        raise ValueError(f"metric {name!r}: curve must be either ROC or PR; got {curve!r}.")
    if summation_method not in _SUMMATIONS:
        raise ValueError(f"metric {name!r}: summation_method must be one of {_SUMMATIONS}; got {summation_method!r}.")
    if thresholds is not None:
        ts = [0.0 - _KEPSILON, *sorted(float(t) for t in thresholds), 1.0 + _KEPSILON]
    else:
        if int(num_thresholds) < 2:
            raise ValueError(f"metric {name!r}: num_thresholds must be at least 2; got {num_thresholds}.")
        ts = _even_thresholds(int(num_thresholds))
    state = _at_thresholds(labels, predictions, ts, weights, name)
    return _streamed(name, ("auc", tuple(ts), curve, summation_method), state, _auc_of(curve, summation_method))


def sensitivity_at_specificity(
    labels: Any,
    predictions: Any,
    specificity: float,
    weights: Any = None,
    num_thresholds: int = 200,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """Sensitivity (recall) at the threshold whose specificity is closest to ``specificity``."""
    name = name or "sensitivity_at_specificity"
    _no_collections(metrics_collections, updates_collections, name)
    if not 0 <= specificity <= 1:
        raise ValueError(f"metric {name!r}: specificity must be in [0, 1]; got {specificity}.")
    ts = _even_thresholds(int(num_thresholds))

    def finish(s: State) -> torch.Tensor:
        specificities = s["tn"] / (s["tn"] + s["fp"] + _KEPSILON)
        i = int(torch.argmin((specificities.to(torch.float32) - specificity).abs()))
        return s["tp"][i] / (s["tp"][i] + s["fn"][i] + _KEPSILON)

    state = _at_thresholds(labels, predictions, ts, weights, name)
    return _streamed(name, ("sensitivity_at_specificity", tuple(ts), specificity), state, finish)


def specificity_at_sensitivity(
    labels: Any,
    predictions: Any,
    sensitivity: float,
    weights: Any = None,
    num_thresholds: int = 200,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """Specificity at the (last) threshold whose sensitivity is closest to ``sensitivity``."""
    name = name or "specificity_at_sensitivity"
    _no_collections(metrics_collections, updates_collections, name)
    if not 0 <= sensitivity <= 1:
        raise ValueError(f"metric {name!r}: sensitivity must be in [0, 1]; got {sensitivity}.")
    ts = _even_thresholds(int(num_thresholds), high=1.0 - _KEPSILON)

    def finish(s: State) -> torch.Tensor:
        distance = (s["tp"] / (s["tp"] + s["fn"] + _KEPSILON) - sensitivity).to(torch.float32).abs()
        i = int(torch.nonzero(distance == distance.min()).max())
        return s["tn"][i] / (s["tn"][i] + s["fp"][i] + _KEPSILON)

    state = _at_thresholds(labels, predictions, ts, weights, name)
    return _streamed(name, ("specificity_at_sensitivity", tuple(ts), sensitivity), state, finish)


# -- top-k --------------------------------------------------------------------------------------
def _top_k(predictions: Any, k: int, name: str) -> torch.Tensor:
    pred = _tensor(predictions, f"predictions of metric {name!r}")
    if int(k) < 1 or pred.dim() < 1 or int(k) > pred.shape[-1]:
        raise ValueError(
            f"metric {name!r}: k must be in [1, {pred.shape[-1] if pred.dim() else 0}] (the number of classes); "
            f"got {k}."
        )
    # ties go to the lower class id, as TF's top_k
    return torch.argsort(-pred.to(_F64), dim=-1, stable=True)[..., : int(k)]


def _label_sets(labels: Any, predictions_idx: torch.Tensor, name: str) -> torch.Tensor:
    lab = _tensor(labels, f"labels of metric {name!r}")
    if lab.is_floating_point() or lab.dtype == torch.bool:
        raise TypeError(f"metric {name!r}: labels must be integer class ids; got dtype {lab.dtype}.")
    lab = lab.to(torch.int64).to(predictions_idx.device)
    if lab.dim() == predictions_idx.dim() - 1:
        lab = lab.unsqueeze(-1)
    if lab.dim() != predictions_idx.dim() or lab.shape[:-1] != predictions_idx.shape[:-1]:
        raise ValueError(
            f"metric {name!r}: labels of shape {tuple(lab.shape)} do not match predictions with shape "
            f"{tuple(predictions_idx.shape[:-1])} + (k,)."
        )
    return lab


def _distinct(values: torch.Tensor) -> torch.Tensor:
    """True at each value of the last axis that did not occur earlier in its row."""
    same = values.unsqueeze(-1) == values.unsqueeze(-2)  # [..., n, n]
    earlier = torch.ones(same.shape[-2:], dtype=torch.bool, device=values.device).tril(-1)
    return ~(same & earlier).any(-1)


def _set_counts(lab: torch.Tensor, idx: torch.Tensor, class_id: int | None) -> dict[str, torch.Tensor]:
    """Per row: |pred ∩ labels|, |pred \\ labels|, |labels \\ pred| (sets of ids, optionally cut to
    ``{class_id}``)."""
    lab_keep = _distinct(lab)
    idx_keep = _distinct(idx)
    if class_id is not None:
        lab_keep = lab_keep & (lab == class_id)
        idx_keep = idx_keep & (idx == class_id)
    in_labels = ((idx.unsqueeze(-1) == lab.unsqueeze(-2)) & lab_keep.unsqueeze(-2)).any(-1)
    in_pred = ((lab.unsqueeze(-1) == idx.unsqueeze(-2)) & idx_keep.unsqueeze(-2)).any(-1)
    return {
        "tp": (idx_keep & in_labels).sum(-1).to(_F64),
        "fp": (idx_keep & ~in_labels).sum(-1).to(_F64),
        "fn": (lab_keep & ~in_pred).sum(-1).to(_F64),
    }


def _weighted_sum(per_row: torch.Tensor, weights: Any, name: str) -> torch.Tensor:
    if weights is None:
        return per_row.sum()
    w = _tensor(weights, f"weights of metric {name!r}").to(device=per_row.device, dtype=_F64)
    if w.dim() not in (0, per_row.dim()) or any(a not in (1, b) for a, b in zip(w.shape, per_row.shape)):
        raise ValueError(
            f"metric {name!r}: weights of shape {tuple(w.shape)} must be a scalar or broadcast to the examples' "
            f"shape {tuple(per_row.shape)}."
        )
    return (per_row * w).sum()


def _at_k_name(kind: str, k: int | None, class_id: int | None) -> str:
    name = f"{kind}_at_{k}" if k is not None else kind
    return f"{name}_class{class_id}" if class_id is not None else name


def _top_k_metric(
    kind: str,
    other: str,
    labels: Any,
    predictions_idx: torch.Tensor,
    k: int | None,
    class_id: int | None,
    weights: Any,
    name: str,
) -> StreamedMetric:
    counts = _set_counts(_label_sets(labels, predictions_idx, name), predictions_idx, class_id)
    state = {"tp": _weighted_sum(counts["tp"], weights, name), other: _weighted_sum(counts[other], weights, name)}
    return _streamed(name, (kind, k, class_id), state, lambda s: s["tp"] / (s["tp"] + s[other]))


def precision_at_top_k(
    labels: Any,
    predictions_idx: Any,
    k: int | None = None,
    class_id: int | None = None,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """``precision_at_k`` from the top-k class ids already chosen (``predictions_idx``)."""
    name = name or _at_k_name("precision", k, class_id)
    _no_collections(metrics_collections, updates_collections, name)
    idx = _tensor(predictions_idx, f"predictions_idx of metric {name!r}").to(torch.int64)
    return _top_k_metric("precision_at_k", "fp", labels, idx, k, class_id, weights, name)


def recall_at_top_k(
    labels: Any,
    predictions_idx: Any,
    k: int | None = None,
    class_id: int | None = None,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """``recall_at_k`` from the top-k class ids already chosen (``predictions_idx``)."""
    name = name or _at_k_name("recall", k, class_id)
    _no_collections(metrics_collections, updates_collections, name)
    idx = _tensor(predictions_idx, f"predictions_idx of metric {name!r}").to(torch.int64)
    return _top_k_metric("recall_at_k", "fn", labels, idx, k, class_id, weights, name)


def precision_at_k(
    labels: Any,
    predictions: Any,
    k: int,
    class_id: int | None = None,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """Of the top ``k`` predicted classes per example, the weighted fraction that are among its
    labels (class ids, ``[batch]`` or ``[batch, n]``); with ``class_id``, only that class counts.
    NaN until some top-k prediction counts, as in TF1."""
    name = name or _at_k_name("precision", k, class_id)
    _no_collections(metrics_collections, updates_collections, name)
    return _top_k_metric("precision_at_k", "fp", labels, _top_k(predictions, k, name), k, class_id, weights, name)


def recall_at_k(
    labels: Any,
    predictions: Any,
    k: int,
    class_id: int | None = None,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """Of each example's labels (class ids; out-of-range ids such as -1 count as missed), the
    weighted fraction found in its top ``k`` predicted classes; with ``class_id``, only that class
    counts. NaN until some label counts, as in TF1."""
    name = name or _at_k_name("recall", k, class_id)
    _no_collections(metrics_collections, updates_collections, name)
    return _top_k_metric("recall_at_k", "fn", labels, _top_k(predictions, k, name), k, class_id, weights, name)


def average_precision_at_k(
    labels: Any,
    predictions: Any,
    k: int,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """Mean over examples of the average precision of the top ``k`` predicted classes: the sum of
    precision@i at each relevant rank i, over ``min(#labels, k)`` (labels >= the number of
    classes never count; negative ones are padding)."""
    name = name or _at_k_name("average_precision", k, None)
    _no_collections(metrics_collections, updates_collections, name)
    if int(k) < 1:
        raise ValueError(f"metric {name!r}: k must be >= 1; got {k}.")
    idx = _top_k(predictions, k, name)
    num_classes = _tensor(predictions, "predictions").shape[-1]
    lab = _label_sets(labels, idx, name)
    if bool((lab >= num_classes).any()):
        lab = torch.where(lab >= num_classes, torch.full_like(lab, -1), lab)
    lab_keep = _distinct(lab)
    relevant = ((idx.unsqueeze(-1) == lab.unsqueeze(-2)) & lab_keep.unsqueeze(-2)).any(-1).to(_F64)
    ranks = torch.arange(1, idx.shape[-1] + 1, dtype=_F64, device=idx.device)
    precision_sum = (relevant.cumsum(-1) / ranks * relevant).sum(-1)
    num_relevant = torch.clamp((lab >= 0).sum(-1), max=int(k)).to(_F64)
    average = precision_sum / num_relevant
    if weights is None:
        state = {"total": average.sum(), "max": torch.tensor(float(average.numel()), dtype=_F64)}
    else:
        w = _weights(weights, average, name)
        assert w is not None
        state = {"total": (average * w).sum(), "max": w.sum()}
    return _streamed(name, ("average_precision_at_k", int(k)), state, lambda s: _div_no_nan(s["total"], s["max"]))


# -- per class -----------------------------------------------------------------------------------
def _class_pair(labels: Any, predictions: Any, weights: Any, num_classes: int, name: str) -> tuple[torch.Tensor, ...]:
    lab = _tensor(labels, f"labels of metric {name!r}").reshape(-1)
    pred = _tensor(predictions, f"predictions of metric {name!r}").reshape(-1).to(lab.device)
    if lab.shape != pred.shape:
        raise ValueError(
            f"metric {name!r}: labels ({lab.numel()} values) and predictions ({pred.numel()} values) do not match."
        )
    lab64, pred64 = lab.to(torch.int64), pred.to(lab.dtype).to(torch.int64)
    for what, ids in (("labels", lab64), ("predictions", pred64)):
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= num_classes):
            raise ValueError(
                f"metric {name!r}: {what} must be class ids in [0, {num_classes}); "
                f"got values from {int(ids.min())} to {int(ids.max())}."
            )
    w = torch.ones(lab.numel(), dtype=_F64) if weights is None else _tensor(weights, "weights").to(_F64).reshape(-1)
    if w.numel() == 1:
        w = w.expand(lab.numel())
    if w.numel() != lab.numel():
        raise ValueError(f"metric {name!r}: {w.numel()} weights for {lab.numel()} labels.")
    return lab64, pred64, w.to(lab.device)


def mean_per_class_accuracy(
    labels: Any,
    predictions: Any,
    num_classes: int,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """Mean over the ``num_classes`` classes of each class's weighted accuracy (0 for a class never
    seen)."""
    name = name or "mean_accuracy"
    _no_collections(metrics_collections, updates_collections, name)
    lab, pred, w = _class_pair(labels, predictions, weights, int(num_classes), name)
    zeros = torch.zeros(int(num_classes), dtype=_F64, device=lab.device)
    state = {
        "total": zeros.index_add(0, lab, w),
        "count": zeros.index_add(0, lab, (pred == lab).to(_F64) * w),
    }
    return _streamed(
        name,
        ("mean_per_class_accuracy", int(num_classes)),
        state,
        lambda s: _div_no_nan(s["count"], s["total"].clamp_min(0)).mean(),
    )


def _mean_iou(s: State) -> torch.Tensor:
    cm = s["confusion"]
    diag = cm.diagonal()
    denominator = cm.sum(0) + cm.sum(1) - diag
    valid = (denominator != 0).sum().to(_F64)
    iou = diag / torch.where(denominator > 0, denominator, torch.ones_like(denominator))
    return torch.where(valid > 0, iou.sum() / valid.clamp_min(1), torch.zeros_like(valid))


def mean_iou(
    labels: Any,
    predictions: Any,
    num_classes: int,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> StreamedMetric:
    """Mean intersection-over-union over the classes that occur (in labels or predictions), from the
    streamed ``num_classes x num_classes`` confusion matrix (rows: labels)."""
    name = name or "mean_iou"
    _no_collections(metrics_collections, updates_collections, name)
    n = int(num_classes)
    lab, pred, w = _class_pair(labels, predictions, weights, n, name)
    confusion = torch.zeros(n * n, dtype=_F64, device=lab.device).index_add(0, lab * n + pred, w).reshape(n, n)
    return _streamed(name, ("mean_iou", n), {"confusion": confusion}, _mean_iou)
