"""The Head interface and the mechanism every head shares.

A head turns logits (and labels) into predictions, a loss, eval metrics, export outputs and a
train op. ``Head.create_estimator_spec`` builds the ``EstimatorSpec`` of each mode the same way
for every head. ``BaseHead`` holds what the single heads share: weights, loss reduction and
regularization, metric-name suffixes, predictions and metrics computed from the formulas and
metric declarations a concrete head gives, next to its label processing and unreduced loss.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from torch_estimator._core import optimizers, summary
from torch_estimator._core.batches import numeric_tensor
from torch_estimator._core.checks import as_array
from torch_estimator._core.fn_args import fn_args
from torch_estimator._core.losses import compute_weighted_loss, validate_loss_reduction
from torch_estimator._core.metrics import Mean, Metric
from torch_estimator._core.mode_keys import ModeKeys
from torch_estimator._core.spec import EstimatorSpec, LazyPredictions
from torch_estimator._core.train_op import TrainOp
from torch_estimator._core.variables import current_store
from torch_estimator.head._contrib import ModelFnOps, logits_from_input
from torch_estimator.head._keys import MetricKeys
from torch_estimator.head._labels import check_logits_final_dim, shape_of
from torch_estimator.head._metrics import EvalBatch, HeadMetric
from torch_estimator.head._outputs import Signatures, check_prediction_keys

__all__ = ["Head", "BaseHead", "Labels", "Features", "record_loss_summaries", "sum_regularization"]

Labels = Any
Features = Mapping[str, Any]


class Head(abc.ABC):
    """Interface of a model's top: from logits to predictions, loss, metrics and an EstimatorSpec.

    ``create_estimator_spec`` is the template every head shares; a head supplies the abstract
    methods and the hooks ``_checked_logits``, ``_export_outputs`` and (for its own loss
    summaries) ``_training_loss``. ``create_model_fn_ops`` is the older contrib interface: it
    also accepts ``logits_input``, from which the head builds its own logits layer ``<scope>/logits``.
    """

    _default_scope = "head"
    #: Prediction keys computed in TRAIN and EVAL specs (None: all; PREDICT computes all).
    _tensor_prediction_keys: tuple[str, ...] | None = None

    @property
    @abc.abstractmethod
    def name(self) -> str | None:
        """The head's name (suffixes its metric keys), or None."""

    @property
    @abc.abstractmethod
    def logits_dimension(self) -> int:
        """Size of the last dimension of the logits the head expects."""

    @property
    @abc.abstractmethod
    def loss_reduction(self) -> str:
        """How per-example losses are reduced (a ``te.losses.Reduction`` value)."""

    @abc.abstractmethod
    def loss(
        self,
        labels: Labels,
        logits: Any,
        features: Features | None = None,
        mode: str | None = None,
        regularization_losses: Sequence[Any] | None = None,
    ) -> torch.Tensor:
        """The regularized training loss (a scalar)."""

    @abc.abstractmethod
    def predictions(self, logits: Any, keys: Sequence[Any] | None = None) -> dict[Any, Any]:
        """Predictions computed from ``logits`` (all keys, or only ``keys``)."""

    @abc.abstractmethod
    def metrics(self, regularization_losses: Sequence[Any] | None = None) -> dict[str, Metric]:
        """Fresh metric objects keyed by their (suffixed) names."""

    @abc.abstractmethod
    def update_metrics(
        self,
        eval_metrics: dict[str, Metric],
        features: Features,
        logits: Any,
        labels: Labels,
        mode: str | None = None,
        regularization_losses: Sequence[Any] | None = None,
    ) -> dict[str, Metric]:
        """Updates ``eval_metrics`` with one batch and returns them."""

    # -- the template -------------------------------------------------------------------------
    def _checked_logits(self, logits: Any) -> Any:
        """``logits`` as the other methods take them (checked, converted)."""
        return logits

    def _export_outputs(self, features: Features, logits: Any, predictions: dict[Any, Any]) -> Signatures:
        """The PREDICT spec's export outputs."""
        raise NotImplementedError

    def _summary_key(self, key: str) -> str:
        return f"{key}/{self.name}" if self.name else key

    def _training_loss(
        self, labels: Labels, logits: Any, features: Features, regularization_losses: Sequence[Any] | None
    ) -> torch.Tensor:
        """The TRAIN loss, its ``loss[/name]`` (and ``regularization_loss[/name]``) summaries recorded."""
        loss = self.loss(labels, logits, features, ModeKeys.TRAIN, regularization_losses)
        record_loss_summaries(loss, regularization_losses, self._summary_key)
        return loss

    def create_estimator_spec(
        self,
        features: Features,
        mode: str,
        logits: Any,
        labels: Labels = None,
        optimizer: Any = None,
        trainable_variables: Sequence[torch.Tensor] | None = None,
        train_op_fn: Callable[[torch.Tensor], Any] | None = None,
        update_ops: Sequence[Callable[[], Any]] | None = None,
        regularization_losses: Sequence[Any] | None = None,
    ) -> EstimatorSpec:
        """PREDICT: predictions and export outputs; EVAL: loss and metrics; TRAIN: loss and train op.

        ``optimizer`` is anything ``te.optimizers.get`` resolves (used over
        ``trainable_variables``, default all trainable variables of the model); otherwise
        ``train_op_fn(loss)`` builds the train op. TRAIN also records the ``loss`` summary.
        """
        logits = self._checked_logits(logits)
        if mode == ModeKeys.PREDICT:
            predictions = self.predictions(logits)
            export_outputs = self._export_outputs(features, logits, predictions)
            return EstimatorSpec(mode, predictions=predictions, export_outputs=export_outputs)
        if mode == ModeKeys.TRAIN:
            loss = self._training_loss(labels, logits, features, regularization_losses)
            train_op = create_estimator_spec_train_op(loss, optimizer, trainable_variables, train_op_fn, update_ops)
            return EstimatorSpec(mode, predictions=self._train_predictions(logits), loss=loss, train_op=train_op)
        predictions = self.predictions(logits, self._tensor_prediction_keys)
        if mode == ModeKeys.EVAL:
            loss = self.loss(labels, logits, features, mode, regularization_losses)
            eval_metrics = self.update_metrics(
                self.metrics(regularization_losses), features, logits, labels, mode, regularization_losses
            )
            return EstimatorSpec(mode, predictions=predictions, loss=loss, eval_metric_ops=eval_metrics)
        raise ValueError(f"mode={mode} unrecognized.")

    def _train_predictions(self, logits: Any) -> Mapping[str, Any]:
        """The TRAIN spec's predictions (the tensor ones; single heads compute them when fetched)."""
        return self.predictions(logits, self._tensor_prediction_keys)

    def create_model_fn_ops(
        self,
        features: Features,
        mode: str,
        labels: Labels = None,
        train_op_fn: Callable[[torch.Tensor], Any] | None = None,
        logits: Any = None,
        logits_input: Any = None,
        scope: str | None = None,
    ) -> ModelFnOps:
        """A ``ModelFnOps`` for ``mode`` from ``logits`` or ``logits_input`` (exactly one).

        With ``logits_input`` the logits are a dense layer (no activation) created in
        ``scope`` (default: the head's name, else its family's scope, e.g. ``regression_head``).
        """
        scope = scope or self.name or self._default_scope
        logits = logits_from_input(self.logits_dimension, logits, logits_input, scope)
        if mode == ModeKeys.TRAIN and train_op_fn is None:
            raise ValueError("train_op_fn can not be None in TRAIN mode")
        spec = self.create_estimator_spec(
            features=features or {}, mode=mode, logits=logits, labels=labels, train_op_fn=train_op_fn
        )
        return ModelFnOps.from_estimator_spec(spec)


# -- what the heads share -------------------------------------------------------------------------


def validate_loss_fn_args(loss_fn: Callable[..., Any]) -> None:
    args = fn_args(loss_fn)
    for required in ("labels", "logits"):
        if required not in args:
            raise ValueError(f"loss_fn must contain argument: {required}. Given arguments: {args}")
    invalid = sorted(set(args) - {"labels", "logits", "features", "loss_reduction"})
    if invalid:
        raise ValueError(f"loss_fn has unexpected args: {invalid}")


def call_loss_fn(
    loss_fn: Callable[..., Any], labels: Any, logits: torch.Tensor, features: Features, expected_loss_dim: int
) -> torch.Tensor:
    kwargs = {"features": features} if "features" in fn_args(loss_fn) else {}
    loss = loss_fn(labels=labels, logits=logits, **kwargs)
    expected = tuple(logits.shape[:-1]) + (expected_loss_dim,)
    if not isinstance(loss, torch.Tensor) or tuple(loss.shape) != expected:
        raise ValueError(
            f"loss_fn must return Tensor of shape [D0, D1, ... DN, {expected_loss_dim}]. "
            f"logits_shape: {tuple(logits.shape)} loss_shape: {shape_of(loss)}"
        )
    return loss


def weight_column_key(weight_column: Any) -> str | None:
    """The feature key of ``weight_column`` (a name or a numeric column), checked."""
    if weight_column is None or isinstance(weight_column, str):
        return weight_column
    if getattr(weight_column, "_is_numeric_column", False):
        return weight_column.key
    raise TypeError(f"Weight column must be either a string or _NumericColumn. Given type: {type(weight_column)}.")


def get_weights_and_check_match_logits(
    features: Features, weight_column: Any, logits: torch.Tensor, allow_per_logit_weights: bool = False
) -> torch.Tensor | float:
    """Example weights from ``features`` shaped to broadcast against the loss; 1.0 without a column."""
    key = weight_column_key(weight_column)
    if key is None:
        return 1.0
    if features is None or key not in features:
        available = sorted(features) if features is not None else []
        raise ValueError(f"Feature {key} is not in features dictionary. Features given: {available}.")
    value = features[key]
    normalizer = getattr(weight_column, "normalizer_fn", None)
    if not isinstance(value, torch.Tensor):
        array = as_array(
            value, f"Weight feature {key!r}", "a numeric tensor of shape [D0, D1, ... DN] or [D0, D1, ... DN, 1]"
        )
        if array.dtype.kind not in "biuf":
            raise ValueError(f"Weight column should be castable to float. Given dtype: {array.dtype}")
        value = numeric_tensor(array)
    elif value.dtype.is_complex or value.dtype == torch.bool:
        raise ValueError(f"Weight column should be castable to float. Given dtype: {value.dtype}")
    if normalizer is not None:
        value = normalizer(value)
    weights = value.to(device=logits.device, dtype=torch.float32)
    if allow_per_logit_weights:
        err = "weights shape must be [D0, D1, ... DN], [D0, D1, ... DN, 1] or [D0, D1, ... DN, logits_dimension]"
    else:
        err = "weights shape must be [D0, D1, ... DN] or [D0, D1, ... DN, 1]"
    logits_shape = tuple(logits.shape)
    supported = [logits_shape[:-1], logits_shape[:-1] + (1,)] + ([logits_shape] if allow_per_logit_weights else [])
    weights_shape = tuple(weights.shape)
    if weights_shape not in supported:
        raise ValueError(f"{err}, logits_shape: {logits_shape}. weights_shape: {weights_shape}.")
    if weights.dim() == logits.dim() - 1:
        weights = weights.unsqueeze(-1)
    return weights


def validate_update_ops(update_ops: Any) -> None:
    if update_ops is not None and not isinstance(update_ops, (list, tuple)):
        raise ValueError(f"update_ops should be a list or a tuple. Given type: {type(update_ops)}.")


def validate_trainable_variables(trainable_variables: Any) -> None:
    if trainable_variables is not None and not isinstance(trainable_variables, (list, tuple)):
        raise ValueError(f"trainable_variables should be a list or a tuple. Given type: {type(trainable_variables)}.")


def sum_regularization(regularization_losses: Sequence[Any] | None, device: torch.device) -> torch.Tensor | None:
    if regularization_losses is None:
        return None
    if not regularization_losses:
        return torch.zeros((), device=device)
    return torch.stack(
        [torch.as_tensor(r, dtype=torch.float32, device=device).reshape(()) for r in regularization_losses]
    ).sum()


def create_estimator_spec_train_op(
    loss: torch.Tensor,
    optimizer: Any = None,
    trainable_variables: Sequence[torch.Tensor] | None = None,
    train_op_fn: Callable[[torch.Tensor], Any] | None = None,
    update_ops: Sequence[Callable[[], Any]] | None = None,
) -> Callable[[], Any]:
    """The train op: ``optimizer`` over ``trainable_variables`` (default: all), or ``train_op_fn(loss)``."""
    validate_update_ops(update_ops)
    if optimizer is not None:
        if train_op_fn is not None:
            raise ValueError("train_op_fn and optimizer cannot both be set.")
        validate_trainable_variables(trainable_variables)
        if not isinstance(optimizer, (optimizers.Optimizer, str)) and not callable(optimizer):
            raise ValueError(f"The given optimizer is not a torch_estimator optimizer. Given: {optimizer}")
        return TrainOp(loss, [(optimizers.get(optimizer), trainable_variables)], update_ops or ())
    if train_op_fn is None:
        raise ValueError("train_op_fn and optimizer cannot both be None.")
    train_op = train_op_fn(loss)
    if not update_ops:
        return train_op

    def grouped() -> None:
        train_op()
        for op in update_ops:
            op()

    return grouped


class BaseHead(Head):
    """The mechanism shared by the single heads (everything but ``MultiHead``).

    Subclasses implement ``_processed_labels``, ``_default_loss``, ``_prediction_formulas``,
    ``_own_metrics`` and ``_export_outputs``; ``_loss_dim`` is the last dimension of the
    unreduced loss.
    """

    _loss_dim = 1
    _allow_per_logit_weights = False

    def __init__(
        self, weight_column: Any, loss_reduction: str, loss_fn: Callable[..., Any] | None, name: str | None
    ) -> None:
        weight_column_key(weight_column)
        validate_loss_reduction(loss_reduction)
        if loss_fn is not None:
            validate_loss_fn_args(loss_fn)
        self._weight_column = weight_column
        self._loss_reduction = loss_reduction
        self._loss_fn = loss_fn
        self._name = name

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def loss_reduction(self) -> str:
        return self._loss_reduction

    # -- to be defined by subclasses -------------------------------------------------------
    def _processed_labels(self, logits: torch.Tensor, labels: Labels) -> torch.Tensor:
        raise NotImplementedError

    def _default_loss(self, labels: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _prediction_formulas(self, logits: torch.Tensor) -> dict[str, Callable[[], Any]]:
        """Each prediction key (in the order predictions list them) -> its computation from ``logits``."""
        raise NotImplementedError

    def _own_metrics(self) -> dict[str, HeadMetric]:
        """The head's metrics besides the loss means, by unsuffixed key."""
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------
    def _checked_logits(self, logits: Any) -> torch.Tensor:
        return check_logits_final_dim(logits, self.logits_dimension)

    def _unweighted_loss_and_weights(
        self, logits: torch.Tensor, labels: torch.Tensor, features: Features
    ) -> tuple[torch.Tensor, torch.Tensor | float]:
        if self._loss_fn is not None:
            unweighted = call_loss_fn(self._loss_fn, labels, logits, features, self._loss_dim)
        else:
            unweighted = self._default_loss(labels, logits)
        weights = get_weights_and_check_match_logits(
            features, self._weight_column, logits, self._allow_per_logit_weights
        )
        return unweighted, weights

    def predictions(self, logits: Any, keys: Sequence[str] | None = None) -> dict[str, Any]:
        """The predictions named by ``keys`` (default: all), computed from ``logits``."""
        formulas = self._prediction_formulas(self._checked_logits(logits))
        wanted = check_prediction_keys(keys, tuple(formulas))
        return {key: formula() for key, formula in formulas.items() if key in wanted}

    def _train_predictions(self, logits: Any) -> Mapping[str, Any]:
        formulas = self._prediction_formulas(self._checked_logits(logits))
        wanted = check_prediction_keys(self._tensor_prediction_keys, tuple(formulas))
        return LazyPredictions({key: formula for key, formula in formulas.items() if key in wanted})

    def loss(
        self,
        labels: Labels,
        logits: Any,
        features: Features | None = None,
        mode: str | None = None,
        regularization_losses: Sequence[Any] | None = None,
    ) -> torch.Tensor:
        """The training loss: the reduced weighted loss plus the sum of ``regularization_losses``."""
        del mode
        logits = self._checked_logits(logits)
        processed = self._processed_labels(logits, labels)
        unweighted, weights = self._unweighted_loss_and_weights(logits, processed, features or {})
        training_loss = compute_weighted_loss(unweighted, weights, self._loss_reduction)
        regularization = sum_regularization(regularization_losses, logits.device)
        return training_loss + regularization if regularization is not None else training_loss

    def metrics(self, regularization_losses: Sequence[Any] | None = None) -> dict[str, Metric]:
        eval_metrics: dict[str, Metric] = {self._summary_key(MetricKeys.LOSS_MEAN): Mean(name=MetricKeys.LOSS_MEAN)}
        eval_metrics.update({self._summary_key(key): metric.create() for key, metric in self._own_metrics().items()})
        if regularization_losses is not None:
            eval_metrics[self._summary_key(MetricKeys.LOSS_REGULARIZATION)] = Mean(name=MetricKeys.LOSS_REGULARIZATION)
        return eval_metrics

    def update_metrics(
        self,
        eval_metrics: dict[str, Metric],
        features: Features,
        logits: Any,
        labels: Labels,
        mode: str | None = None,
        regularization_losses: Sequence[Any] | None = None,
    ) -> dict[str, Metric]:
        logits = self._checked_logits(logits)
        processed = self._processed_labels(logits, labels)
        unweighted, weights = self._unweighted_loss_and_weights(logits, processed, features or {})
        batch_weights = weights if isinstance(weights, torch.Tensor) else None
        with torch.no_grad():
            eval_metrics[self._summary_key(MetricKeys.LOSS_MEAN)].update_state(unweighted, batch_weights)
            formulas = self._prediction_formulas(logits.detach())
            batch = EvalBatch(processed, batch_weights, functools.cache(lambda key: formulas[key]()))
            for key, metric in self._own_metrics().items():
                eval_metrics[self._summary_key(key)].update_state(*metric.inputs(batch))
            if regularization_losses is not None:
                eval_metrics[self._summary_key(MetricKeys.LOSS_REGULARIZATION)].update_state(
                    sum_regularization(regularization_losses, logits.device)
                )
        return eval_metrics


def record_loss_summaries(
    loss: torch.Tensor, regularization_losses: Sequence[Any] | None, summary_key: Callable[[str], str]
) -> None:
    """Records ``loss[/name]`` (and ``regularization_loss[/name]``) when a model_fn is running."""
    try:
        current_store()
    except RuntimeError:
        return
    summary.scalar(summary_key(MetricKeys.LOSS), loss)
    if regularization_losses is not None:
        summary.scalar(
            summary_key(MetricKeys.LOSS_REGULARIZATION), sum_regularization(regularization_losses, loss.device)
        )
