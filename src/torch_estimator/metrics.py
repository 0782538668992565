"""Streaming, weighted evaluation metrics.

A model_fn runs once per batch, so each call returns metric objects updated with that batch
only; the Estimator merges them into the objects of the first batch (``merge_state``), which is
what makes them stream over a whole evaluation. A metric's state is a dict of tensors that add
up across batches.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import torch

__all__ = ["Metric", "Mean", "Accuracy", "mean", "accuracy"]

_STATE_DTYPE = torch.float64


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


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
            f"{what} of shape {tuple(w.shape)} cannot be broadcast to values of shape "
            f"{tuple(values.shape)}."
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

    def merge_state(self, other: "Metric") -> None:
        """Adds the state of ``other`` (a metric of the same type and configuration)."""
        if type(other) is not type(self):
            raise TypeError(f"Cannot merge {type(other).__name__} into {type(self).__name__} metric {self.name!r}.")
        for key, value in other._state.items():
            self._state[key] = self._state[key].to(value.device) + value
        self._updates += other._updates

    def reset_state(self) -> None:
        """Clears the state."""
        self._state = self._zero_state()
        self._updates = 0

    def result(self) -> torch.Tensor:
        """The metric's value over everything seen since the last reset."""
        return self._result(self._state)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


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
        lab = as_float_tensor(labels, f"labels of metric {self.name!r}")
        pred = as_float_tensor(predictions, f"predictions of metric {self.name!r}")
        if lab.shape != pred.shape:
            if lab.numel() != pred.numel():
                raise ValueError(
                    f"labels shape {tuple(lab.shape)} and predictions shape {tuple(pred.shape)} "
                    f"of metric {self.name!r} do not match."
                )
            lab = lab.reshape(pred.shape)
        return super()._batch_state((lab == pred).to(_STATE_DTYPE), sample_weight)


def mean(values: Any, weights: Any = None, name: str | None = None) -> Mean:
    """A ``Mean`` metric updated with ``values`` (for ``EstimatorSpec.eval_metric_ops``)."""
    metric = Mean(name=name or "mean")
    metric.update_state(values, weights)
    return metric


def accuracy(labels: Any, predictions: Any, weights: Any = None, name: str | None = None) -> Accuracy:
    """An ``Accuracy`` metric updated with one batch (for ``EstimatorSpec.eval_metric_ops``)."""
    metric = Accuracy(name=name or "accuracy")
    metric.update_state(labels, predictions, weights)
    return metric
