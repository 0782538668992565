"""EstimatorSpec: what a model_fn returns, validated as TensorFlow validates it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np
import torch

from torch_estimator._core.export_output import ExportOutput, get_export_outputs
from torch_estimator._core.metrics import Metric, metric_of
from torch_estimator._core.mode_keys import ModeKeys
from torch_estimator._core.session_run_hook import SessionRunHook
from torch_estimator._core.trace import StringLookup

__all__ = ["EstimatorSpec", "LazyPredictions"]

Hooks = tuple[SessionRunHook, ...]


class _EstimatorSpecFields(NamedTuple):
    """The fields of ``EstimatorSpec``, in TensorFlow's order, as validation leaves them."""

    mode: str
    #: A tensor, or a dict of tensors / string arrays ({} outside PREDICT when none were given).
    predictions: Any
    #: A scalar tensor (None in PREDICT when none was given).
    loss: torch.Tensor | None
    train_op: Callable[[], Any] | None
    eval_metric_ops: dict[str, Metric]
    #: Signature name -> output; None outside PREDICT.
    export_outputs: dict[str, ExportOutput] | None
    training_chief_hooks: Hooks
    training_hooks: Hooks
    scaffold: Any
    evaluation_hooks: Hooks
    prediction_hooks: Hooks


class EstimatorSpec(_EstimatorSpecFields):
    """Ops and objects returned from a ``model_fn`` and passed to an ``Estimator``.

    Field order and validation follow ``tf.estimator.EstimatorSpec``:

    * TRAIN needs ``loss`` and ``train_op`` (a callable run after the forward pass, typically a
      ``te.optimizers.TrainOp`` built by ``optimizer.minimize(loss)`` or by a head);
    * EVAL needs ``loss``; ``eval_metric_ops`` maps names to updated ``te.metrics.Metric``
      objects (or ``(metric, update_op)`` tuples);
    * PREDICT needs ``predictions`` (a tensor or a dict of tensors / string arrays).

    ``loss`` must hold exactly one element and is reshaped to a scalar. Like TensorFlow's, it
    is a named tuple; ``_replace`` validates the new fields and keeps the mode.
    """

    def __new__(
        cls,
        mode: str,
        predictions: Any = None,
        loss: Any = None,
        train_op: Callable[[], Any] | None = None,
        eval_metric_ops: dict[str, Any] | None = None,
        export_outputs: dict[str, Any] | None = None,
        training_chief_hooks: Any = None,
        training_hooks: Any = None,
        scaffold: Any = None,
        evaluation_hooks: Any = None,
        prediction_hooks: Any = None,
    ) -> EstimatorSpec:
        if mode not in ModeKeys.all():
            raise ValueError(f"mode must be one of {ModeKeys.all()}; got {mode!r}.")
        train_op = _validate_train_op(train_op, mode)
        loss = _validate_loss(loss, mode)
        predictions = _validate_predictions(predictions, mode)
        return super().__new__(
            cls,
            mode=mode,
            predictions=predictions,
            loss=loss,
            train_op=train_op,
            eval_metric_ops=_validate_eval_metric_ops(eval_metric_ops),
            export_outputs=get_export_outputs(export_outputs, predictions) if mode == ModeKeys.PREDICT else None,
            training_chief_hooks=_validate_hooks(training_chief_hooks),
            training_hooks=_validate_hooks(training_hooks),
            scaffold=scaffold,
            evaluation_hooks=_validate_hooks(evaluation_hooks),
            prediction_hooks=_validate_hooks(prediction_hooks),
        )

    def _replace(self, **kwds: Any) -> EstimatorSpec:
        if "mode" in kwds and self.mode != kwds["mode"]:
            raise ValueError("mode of EstimatorSpec cannot be changed.")
        return EstimatorSpec(**{**self._asdict(), **kwds})


def _validate_train_op(train_op: Any, mode: str) -> Callable[[], Any] | None:
    if train_op is None:
        if mode == ModeKeys.TRAIN:
            raise ValueError("Missing train_op.")
        return None
    if not callable(train_op):
        raise TypeError(f"train_op must be a callable (e.g. optimizer.minimize(loss)); given: {train_op!r}")
    return train_op


def _validate_loss(loss: Any, mode: str) -> torch.Tensor | None:
    if loss is None:
        if mode in (ModeKeys.TRAIN, ModeKeys.EVAL):
            raise ValueError("Missing loss.")
        return None
    if not isinstance(loss, torch.Tensor):
        raise TypeError(f"loss must be Tensor, given: {loss}")
    if loss.numel() != 1:
        raise ValueError(f"Loss must be scalar, given: {loss}")
    return loss.reshape(())


def _is_prediction_value(value: Any) -> bool:
    return isinstance(value, (torch.Tensor, StringLookup)) or (isinstance(value, np.ndarray) and value.ndim > 0)


class LazyPredictions(Mapping[str, Any]):
    """Predictions computed on first access, each from a zero-argument formula (a head's TRAIN
    spec: a step computes them only when a hook fetches one, as TensorFlow's graph does)."""

    def __init__(self, formulas: Mapping[str, Callable[[], Any]]) -> None:
        self._formulas = dict(formulas)
        self._values: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        value = self._values.get(key)
        if value is None:
            value = self._values[key] = self._formulas[key]()
            if not _is_prediction_value(value):
                raise TypeError(f"predictions[{key}] must be Tensor, given: {value}")
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._formulas)

    def __len__(self) -> int:
        return len(self._formulas)


def _validate_predictions(predictions: Any, mode: str) -> Any:
    if predictions is None:
        if mode == ModeKeys.PREDICT:
            raise ValueError("Missing predictions.")
        return {}
    if isinstance(predictions, LazyPredictions):
        return predictions  # each value is checked when computed
    if isinstance(predictions, dict):
        for key, value in predictions.items():
            if not _is_prediction_value(value):
                raise TypeError(f"predictions[{key}] must be Tensor, given: {value}")
        return predictions
    if not _is_prediction_value(predictions):
        raise TypeError(f"predictions must be Tensor, given: {predictions}")
    return predictions


def _validate_eval_metric_ops(eval_metric_ops: Any) -> dict[str, Metric]:
    if eval_metric_ops is None:
        return {}
    if not isinstance(eval_metric_ops, dict):
        raise TypeError(f"eval_metric_ops must be a dict, given: {eval_metric_ops}")
    out: dict[str, Metric] = {}
    for key, value in eval_metric_ops.items():
        metric = metric_of(value)
        if metric is None:
            raise TypeError(
                "Values of eval_metric_ops must be (metric_value, update_op) tuples, given: "
                f"{value} for key: {key}. In torch_estimator such a pair is what a te.metrics function "
                "returns (e.g. te.metrics.accuracy(labels, predictions), or its two tensors); a "
                "te.metrics.Metric object updated with the batch is accepted too."
            )
        if not metric.updates:
            raise ValueError(f'Please call update_state(...) on the "{metric.name}" metric')
        out[key] = metric
    return out


def _validate_hooks(hooks: Any) -> Hooks:
    hooks = tuple(hooks or [])
    for hook in hooks:
        if not isinstance(hook, SessionRunHook):
            raise TypeError(f"All hooks must be SessionRunHook instances, given: {hook}")
    return hooks
