"""Streaming, weighted evaluation metrics.

A model_fn runs once per batch, so each call returns metric objects updated with that batch
only; the Estimator merges them into the objects of the first batch (``merge_state``), which is
what makes them stream over a whole evaluation. A metric's state is a dict of tensors that add
up across batches.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

__all__ = [
    "Metric",
    "Mean",
    "Accuracy",
    "BinaryAccuracy",
    "Precision",
    "Recall",
    "AUC",
    "ExactAUC",
]

_STATE_DTYPE = torch.float64


def _snake_case(name: str) -> str:
    """A class name as keras names metrics by default: ``BinaryAccuracy`` -> ``binary_accuracy``,
    ``ExactAUC`` -> ``exact_auc``."""
    words = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", words).lower()


def as_float_tensor(value: Any, what: str) -> torch.Tensor:
    """``value`` as a float64 tensor; raises TypeError naming ``what`` for non-numeric input."""
    if isinstance(value, torch.Tensor):
        tensor = value
    else:
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{what} must be numeric; got dtype {array.dtype}.")
        tensor = torch.from_numpy(array)
    if tensor.dtype.is_complex or not (tensor.is_floating_point() or tensor.dtype in _INT_DTYPES):
        raise TypeError(f"{what} must be numeric; got dtype {tensor.dtype}.")
    return tensor.detach().to(_STATE_DTYPE)


_INT_DTYPES = (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def broadcast_weights(weights: Any, values: torch.Tensor, what: str = "weights") -> torch.Tensor:
    """``weights`` (None means 1) broadcast to the shape of ``values``, as float64."""
    if weights is None:
        return torch.ones_like(values)
    w = as_float_tensor(weights, what).to(values.device)
    if w.dim() < values.dim() and tuple(w.shape) == tuple(values.shape[: w.dim()]):
        w = w.reshape(tuple(w.shape) + (1,) * (values.dim() - w.dim()))
    try:
        return torch.broadcast_to(w, values.shape)
    except RuntimeError:
        raise ValueError(
            f"{what} of shape {tuple(w.shape)} cannot be broadcast to values of shape {tuple(values.shape)}."
        ) from None


class Metric:
    """Base class of streaming metrics.

    Subclasses define ``_zero_state()`` (the state, a dict of tensors that add up across
    batches), ``_batch_state(*args, **kwargs)`` (one batch's contribution) and
    ``_result(state)``.
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name or _snake_case(type(self).__name__)
        self._state: dict[str, torch.Tensor] = self._zero_state()
        self._updates = 0

    # -- to be defined by subclasses -------------------------------------------------------
    def _zero_state(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _batch_state(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _result(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    # -- the streaming mechanism -----------------------------------------------------------
    @property
    def updates(self) -> int:
        """How many times ``update_state`` has been called (0 means never)."""
        return self._updates

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        """Adds one batch to the state."""
        for key, value in self._batch_state(*args, **kwargs).items():
            state = self._state[key]
            if state.device != value.device:
                self._state[key] = state = state.to(value.device)
            state.add_(value)
        self._updates += 1

    def merge_state(self, other: Metric) -> None:
        """Adds the state of ``other`` (a metric of the same type and configuration)."""
        if type(other) is not type(self):
            raise TypeError(f"Cannot merge {type(other).__name__} into {type(self).__name__} metric {self.name!r}.")
        for key, value in other._state.items():
            self._state[key] = self._state[key].to(value.device) + value
        self._updates += other._updates

    def updated(self, *args: Any, **kwargs: Any) -> Metric:
        """``update_state(*args, **kwargs)``, returning the metric (handy in ``eval_metric_ops``)."""
        self.update_state(*args, **kwargs)
        return self

    def reset_state(self) -> None:
        """Clears the state."""
        self._state = self._zero_state()
        self._updates = 0

    def result(self) -> torch.Tensor:
        """The metric's value over everything seen since the last reset."""
        return self._result(self._state)

    # -- TF1's (value, update_op) pair --------------------------------------------------------
    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> torch.Tensor:
        """``metric[0]`` (the value) and ``metric[1]`` (TF1's update_op, which returns the updated
        value): both the current value, as the batch is already added. Either tensor, or the pair,
        stands for the metric in ``eval_metric_ops``."""
        if index not in (0, 1, -1, -2):
            raise IndexError(f"A metric is a (value, update_op) pair; index {index} is out of range.")
        value = self.result()
        value._te_metric = self  # type: ignore[attr-defined]  # eval_metric_ops finds the metric again
        return value

    def __iter__(self) -> Iterator[torch.Tensor]:
        yield self[0]
        yield self[1]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def metric_of(value: Any) -> Metric | None:
    """The metric ``value`` stands for: a metric, its (value, update_op) pair, the value tensor of
    the pair, or ``(metric or value, anything but another metric)``; None for anything else."""
    if isinstance(value, Metric):
        return value
    if isinstance(value, tuple) and len(value) == 2:
        first, second = (metric_of(v) for v in value)
        # the update_op may be anything (None, say), but not another metric
        return first if first is not None and second in (None, first) else None
    found = getattr(value, "_te_metric", None) if isinstance(value, torch.Tensor) else None
    return found if isinstance(found, Metric) else None


def _zeros(*names: str) -> dict[str, torch.Tensor]:
    return {n: torch.zeros((), dtype=_STATE_DTYPE) for n in names}


def _safe_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    return torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)), torch.zeros_like(num))


class Mean(Metric):
    """Weighted mean of all values seen: ``sum(w * v) / sum(w)`` (0 when nothing was seen)."""

    def _zero_state(self) -> dict[str, torch.Tensor]:
        return _zeros("total", "count")

    def _batch_state(self, values: Any, sample_weight: Any = None) -> dict[str, torch.Tensor]:
        v = as_float_tensor(values, f"values of metric {self.name!r}")
        w = broadcast_weights(sample_weight, v, f"sample_weight of metric {self.name!r}")
        return {"total": (v * w).sum(), "count": w.sum()}

    def _result(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        return _safe_div(state["total"], state["count"])


class Accuracy(Mean):
    """Weighted fraction of ``predictions`` equal to ``labels``."""

    def _batch_state(  # type: ignore[override]
        self, labels: Any, predictions: Any, sample_weight: Any = None
    ) -> dict[str, torch.Tensor]:
        lab, pred = _matched(labels, predictions, self.name)
        return super()._batch_state((lab == pred).to(_STATE_DTYPE), sample_weight)


def _matched(labels: Any, predictions: Any, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(labels, predictions)`` as float64 tensors, the labels shaped as the predictions (same
    number of elements required)."""
    pred = as_float_tensor(predictions, f"predictions of metric {name!r}")
    lab = as_float_tensor(labels, f"labels of metric {name!r}").to(pred.device)
    if lab.shape != pred.shape:
        if lab.numel() != pred.numel():
            raise ValueError(
                f"labels shape {tuple(lab.shape)} and predictions shape {tuple(pred.shape)} of metric {name!r} "
                "do not match."
            )
        lab = lab.reshape(pred.shape)
    return lab, pred


def _flat_pairs(
    labels: Any, predictions: Any, sample_weight: Any, name: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Flattened ``(label is positive, prediction, weight)``; labels count as positive when non-zero."""
    lab, pred = _matched(labels, predictions, name)
    w = broadcast_weights(sample_weight, pred, f"sample_weight of metric {name!r}")
    return (lab != 0).reshape(-1), pred.reshape(-1), w.reshape(-1)


class BinaryAccuracy(Mean):
    """Weighted fraction of examples whose ``predictions > threshold`` equals the label.

    As keras' BinaryAccuracy: per example, the mean over the last axis of
    ``labels == (predictions > threshold)`` (soft labels therefore never match).
    """

    def __init__(self, name: str | None = None, threshold: float = 0.5) -> None:
        self.threshold = float(threshold)
        super().__init__(name)

    def _batch_state(  # type: ignore[override]
        self, labels: Any, predictions: Any, sample_weight: Any = None
    ) -> dict[str, torch.Tensor]:
        pred = as_float_tensor(predictions, f"predictions of metric {self.name!r}")
        lab = as_float_tensor(labels, f"labels of metric {self.name!r}").to(pred.device).reshape(pred.shape)
        above = (pred.to(torch.float32) > torch.tensor(self.threshold, dtype=torch.float32)).to(_STATE_DTYPE)
        matches = (lab == above).to(_STATE_DTYPE)
        if matches.dim() > 1:
            matches = matches.mean(dim=-1)
        if sample_weight is not None:
            w = as_float_tensor(sample_weight, f"sample_weight of metric {self.name!r}").to(pred.device)
            if w.dim() == matches.dim() + 1 and w.shape[-1] == 1:
                w = w.squeeze(-1)
            sample_weight = w
        return super()._batch_state(matches, sample_weight)


class _ThresholdConfusion(Metric):
    """Weighted confusion counts at fixed thresholds; a prediction is positive iff ``> t``."""

    def __init__(self, name: str | None = None, thresholds: float | list[float] | tuple[float, ...] = 0.5) -> None:
        values = [thresholds] if isinstance(thresholds, (int, float)) else list(thresholds)
        self.thresholds = torch.tensor(values, dtype=torch.float32)
        super().__init__(name)

    def _zero_state(self) -> dict[str, torch.Tensor]:
        n = len(self.thresholds)
        return {k: torch.zeros(n, dtype=_STATE_DTYPE) for k in ("tp", "fp", "fn")}

    def _batch_state(self, labels: Any, predictions: Any, sample_weight: Any = None) -> dict[str, torch.Tensor]:
        positive, pred, w = _flat_pairs(labels, predictions, sample_weight, self.name)
        above = pred.to(torch.float32)[None, :] > self.thresholds.to(pred.device)[:, None]
        pos = positive[None, :]
        return {
            "tp": ((above & pos).to(_STATE_DTYPE) * w).sum(dim=1),
            "fp": ((above & ~pos).to(_STATE_DTYPE) * w).sum(dim=1),
            "fn": ((~above & pos).to(_STATE_DTYPE) * w).sum(dim=1),
        }

    def _scalar(self, value: torch.Tensor) -> torch.Tensor:
        return value[0] if value.numel() == 1 else value


class Precision(_ThresholdConfusion):
    """Weighted ``tp / (tp + fp)`` at ``thresholds`` (default 0.5), as keras' Precision."""

    def _result(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        return self._scalar(_safe_div(state["tp"], state["tp"] + state["fp"]))


class Recall(_ThresholdConfusion):
    """Weighted ``tp / (tp + fn)`` at ``thresholds`` (default 0.5), as keras' Recall."""

    def _result(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        return self._scalar(_safe_div(state["tp"], state["tp"] + state["fn"]))


class AUC(Metric):
    """Area under the ROC or precision-recall curve, streamed over fixed thresholds (keras' AUC).

    ``num_thresholds`` thresholds evenly spaced in [0, 1] (the ends moved out by 1e-7);
    predictions are clipped to [0, 1] and count as positive at a threshold when strictly
    above it. ROC sums trapezoids; PR uses the interpolation of Davis & Goadrich (2006).
    """

    def __init__(
        self,
        name: str | None = None,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
    ) -> None:
        if num_thresholds <= 1:
            raise ValueError(
                f"Argument `num_thresholds` must be an integer > 1. Received: num_thresholds={num_thresholds}"
            )
        curve = curve.upper()
        if curve not in ("ROC", "PR"):
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["ROC", "PR"]')
        summation_method = summation_method.lower()
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}".')
        self.num_thresholds = int(num_thresholds)
        self.curve = curve
        self.summation_method = summation_method
        super().__init__(name)

    def _zero_state(self) -> dict[str, torch.Tensor]:
        return {k: torch.zeros(self.num_thresholds, dtype=_STATE_DTYPE) for k in ("tp", "fp", "pos", "neg")}

    def _batch_state(self, labels: Any, predictions: Any, sample_weight: Any = None) -> dict[str, torch.Tensor]:
        positive, pred, w = _flat_pairs(labels, predictions, sample_weight, self.name)
        n = self.num_thresholds
        scaled = pred.to(torch.float32).clamp(0.0, 1.0) * torch.tensor(float(n - 1), dtype=torch.float32)
        buckets = (torch.ceil(scaled) - 1).clamp_min(0).long()
        true_w = torch.where(positive, w, torch.zeros_like(w))
        false_w = w - true_w
        tp_bucket = torch.zeros(n, dtype=_STATE_DTYPE, device=pred.device).index_add_(0, buckets, true_w)
        fp_bucket = torch.zeros(n, dtype=_STATE_DTYPE, device=pred.device).index_add_(0, buckets, false_w)
        return {
            "tp": tp_bucket.flip(0).cumsum(0).flip(0),
            "fp": fp_bucket.flip(0).cumsum(0).flip(0),
            "pos": true_w.sum().expand(n).clone(),
            "neg": false_w.sum().expand(n).clone(),
        }

    def _result(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        tp, fp = state["tp"], state["fp"]
        fn, tn = state["pos"] - tp, state["neg"] - fp
        if self.curve == "PR" and self.summation_method == "interpolation":
            return _interpolate_pr_auc(tp, fp, fn)
        recall = _safe_div(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _safe_div(fp, fp + tn), recall
        else:
            x, y = recall, _safe_div(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return ((x[:-1] - x[1:]) * heights).sum()


def _interpolate_pr_auc(tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor) -> torch.Tensor:
    dtp = tp[:-1] - tp[1:]
    p = tp + fp
    dp = p[:-1] - p[1:]
    slope = _safe_div(dtp, dp.clamp_min(0))
    intercept = tp[1:] - slope * p[1:]
    both = (p[:-1] > 0) & (p[1:] > 0)
    ratio = torch.where(both, _safe_div(p[:-1], p[1:].clamp_min(0)), torch.ones_like(p[1:]))
    increment = _safe_div(slope * (dtp + intercept * torch.log(ratio)), (tp[1:] + fn[1:]).clamp_min(0))
    return increment.sum()


class ExactAUC(Metric):
    """Threshold-free ROC AUC (weighted Mann-Whitney statistic, ties counted half).

    Keeps every prediction, so memory grows with the evaluation set; ``AUC`` is the streaming,
    fixed-threshold approximation TensorFlow reports.
    """

    def _zero_state(self) -> dict[str, torch.Tensor]:
        return {}

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def update_state(self, labels: Any, predictions: Any, sample_weight: Any = None) -> None:
        positive, pred, w = _flat_pairs(labels, predictions, sample_weight, self.name)
        self._parts.append((positive.cpu(), pred.cpu(), w.cpu()))
        self._updates += 1

    def merge_state(self, other: Metric) -> None:
        if not isinstance(other, ExactAUC):
            raise TypeError(f"Cannot merge {type(other).__name__} into ExactAUC metric {self.name!r}.")
        self._parts.extend(other._parts)
        self._updates += other._updates

    def reset_state(self) -> None:
        self._parts = []
        self._updates = 0

    def result(self) -> torch.Tensor:
        if not self._parts:
            return torch.zeros((), dtype=_STATE_DTYPE)
        positive = torch.cat([p[0] for p in self._parts])
        pred = torch.cat([p[1] for p in self._parts])
        w = torch.cat([p[2] for p in self._parts])
        order = torch.argsort(pred)
        pred, positive, w = pred[order], positive[order], w[order]
        unique, inverse = torch.unique_consecutive(pred, return_inverse=True)
        pos_w = torch.zeros(len(unique), dtype=_STATE_DTYPE).index_add_(0, inverse, torch.where(positive, w, 0.0))
        neg_w = torch.zeros(len(unique), dtype=_STATE_DTYPE).index_add_(0, inverse, torch.where(positive, 0.0, w))
        neg_below = torch.cumsum(neg_w, 0) - neg_w
        area = (pos_w * (neg_below + 0.5 * neg_w)).sum()
        return _safe_div(area, pos_w.sum() * neg_w.sum())
