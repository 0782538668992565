"""Canned estimators: Linear*, DNN*, DNNLinearCombined* and Baseline*, with TF 2.15's arguments,
defaults, optimizers and learning rates."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from torch_estimator._core.checks import check_layer_sizes
from torch_estimator._core.layers import get_activation
from torch_estimator._core.losses import Reduction
from torch_estimator._core.mode_keys import ModeKeys
from torch_estimator._core.spec import EstimatorSpec
from torch_estimator._core.train_op import TrainOp
from torch_estimator._core.variables import current_store
from torch_estimator._engine.run_config import RunConfig
from torch_estimator._estimator.estimator import Estimator
from torch_estimator.canned._common import (
    check_features,
    check_head,
    classifier_head,
    get_optimizer_instance,
    regression_head,
)
from torch_estimator.canned._models import baseline_logits, dnn_input_layer, dnn_logits, linear_logits, linear_model
from torch_estimator.feature_column import FeatureColumn
from torch_estimator.head import Head

__all__ = [
    "DNNClassifier",
    "DNNRegressor",
    "DNNEstimator",
    "LinearClassifier",
    "LinearRegressor",
    "LinearEstimator",
    "DNNLinearCombinedClassifier",
    "DNNLinearCombinedRegressor",
    "DNNLinearCombinedEstimator",
    "BaselineClassifier",
    "BaselineRegressor",
    "BaselineEstimator",
]

_SOBS = Reduction.SUM_OVER_BATCH_SIZE
_LINEAR_LEARNING_RATE = 0.2
_BASELINE_LEARNING_RATE = 0.3
_COMBINED_DNN_LEARNING_RATE = 0.001


def _columns(feature_columns: Any, what: str) -> list[FeatureColumn]:
    if isinstance(feature_columns, FeatureColumn):
        feature_columns = [feature_columns]
    columns = list(feature_columns or [])
    for column in columns:
        if not isinstance(column, FeatureColumn):
            raise ValueError(f"{what} must contain feature columns; got {column!r}.")
    return columns


def _combined_linear_learning_rate(num_linear_feature_columns: int) -> float:
    return min(0.005, 1.0 / math.sqrt(num_linear_feature_columns))


def _split_variables() -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Trainable variables of the linear part (``linear/...``) and of everything else."""
    store = current_store()
    linear, other = [], []
    for name, var in store.variables().items():
        if var.requires_grad:
            (linear if name.startswith("linear/") else other).append(var)
    return linear, other


def _dnn_linear_combined_model_fn(
    features: Any,
    labels: Any,
    mode: str,
    head: Head,
    linear: Any,
    linear_optimizer: Any,
    dnn_input: Any,
    dnn_optimizer: Any,
    dnn_hidden_units: Sequence[int] | None,
    dnn_activation_fn: Any,
    dnn_dropout: float | None,
    batch_norm: bool,
    linear_learning_rate: float | None,
    dnn_learning_rate: float | None,
) -> EstimatorSpec:
    """One loss, the logits of both parts summed, each part updated by its own optimizer; the
    DNN optimizer (when there is a DNN part) owns the global step."""
    check_features(features)
    logits = None
    if dnn_input is not None:
        logits = dnn_logits(
            features,
            mode,
            head.logits_dimension,
            dnn_hidden_units or [],
            dnn_input,
            dnn_activation_fn,
            dnn_dropout,
            batch_norm,
        )
    if linear is not None:
        linear_part = linear_logits(features, linear)
        logits = linear_part if logits is None else logits + linear_part
    assert logits is not None

    def train_op_fn(loss: torch.Tensor) -> TrainOp:
        linear_vars, dnn_vars = _split_variables()
        updates = []
        if dnn_input is not None:
            updates.append((get_optimizer_instance(dnn_optimizer, dnn_learning_rate), dnn_vars))
        if linear is not None:
            updates.append((get_optimizer_instance(linear_optimizer, linear_learning_rate), linear_vars))
        return TrainOp(loss, updates)

    return head.create_estimator_spec(
        features=features,
        mode=mode,
        labels=labels,
        logits=logits,
        train_op_fn=train_op_fn if mode == ModeKeys.TRAIN else None,
    )


def _combined_model_fn(head: Head, **kwargs: Any) -> Callable[..., EstimatorSpec]:
    def model_fn(features: Any, labels: Any, mode: str) -> EstimatorSpec:
        return _dnn_linear_combined_model_fn(features, labels, mode, head, **kwargs)

    return model_fn


def _validate_combined(
    linear_feature_columns: list[FeatureColumn], dnn_feature_columns: list[FeatureColumn], dnn_hidden_units: Any
) -> list[int]:
    """The checked ``dnn_hidden_units`` (empty without DNN columns)."""
    if not linear_feature_columns and not dnn_feature_columns:
        raise ValueError("Either linear_feature_columns or dnn_feature_columns must be defined.")
    if not dnn_feature_columns:
        return []
    if dnn_hidden_units is None or (isinstance(dnn_hidden_units, (list, tuple)) and not dnn_hidden_units):
        raise ValueError("dnn_hidden_units must be defined when dnn_feature_columns is specified.")
    return check_layer_sizes("dnn_hidden_units", dnn_hidden_units)


class DNNLinearCombinedEstimator(Estimator):
    """Wide & deep with a given head: a linear model and a DNN whose logits are summed.

    Defaults as TF 2.15: DNN part Adagrad with learning rate 0.001, linear part Ftrl with
    ``min(0.005, 1/sqrt(len(linear_feature_columns)))``.
    """

    def __init__(
        self,
        head: Head,
        model_dir: str | None = None,
        linear_feature_columns: Sequence[FeatureColumn] | None = None,
        linear_optimizer: Any = "Ftrl",
        dnn_feature_columns: Sequence[FeatureColumn] | None = None,
        dnn_optimizer: Any = "Adagrad",
        dnn_hidden_units: Sequence[int] | None = None,
        dnn_activation_fn: Any = torch.relu,
        dnn_dropout: float | None = None,
        config: RunConfig | None = None,
        batch_norm: bool = False,
        linear_sparse_combiner: str = "sum",
    ) -> None:
        self._setup(
            check_head(head),
            model_dir,
            linear_feature_columns,
            linear_optimizer,
            dnn_feature_columns,
            dnn_optimizer,
            dnn_hidden_units,
            dnn_activation_fn,
            dnn_dropout,
            config,
            None,
            batch_norm,
            linear_sparse_combiner,
        )

    def _setup(
        self,
        head: Head,
        model_dir: Any,
        linear_feature_columns: Any,
        linear_optimizer: Any,
        dnn_feature_columns: Any,
        dnn_optimizer: Any,
        dnn_hidden_units: Any,
        dnn_activation_fn: Any,
        dnn_dropout: Any,
        config: Any,
        warm_start_from: Any,
        batch_norm: bool,
        linear_sparse_combiner: str,
    ) -> None:
        linear_columns = _columns(linear_feature_columns, "linear_feature_columns")
        dnn_columns = _columns(dnn_feature_columns, "dnn_feature_columns")
        hidden_units = _validate_combined(linear_columns, dnn_columns, dnn_hidden_units)
        self._head = head
        model_fn = _combined_model_fn(
            head,
            linear=linear_model(head.logits_dimension, linear_columns, linear_sparse_combiner)
            if linear_columns
            else None,
            linear_optimizer=linear_optimizer,
            dnn_input=dnn_input_layer(dnn_columns) if dnn_columns else None,
            dnn_optimizer=dnn_optimizer,
            dnn_hidden_units=hidden_units,
            dnn_activation_fn=get_activation(dnn_activation_fn),
            dnn_dropout=dnn_dropout,
            batch_norm=batch_norm,
            linear_learning_rate=_combined_linear_learning_rate(len(linear_columns)) if linear_columns else None,
            dnn_learning_rate=_COMBINED_DNN_LEARNING_RATE,
        )
        Estimator.__init__(self, model_fn, model_dir, config, warm_start_from=warm_start_from)


class DNNLinearCombinedClassifier(DNNLinearCombinedEstimator):
    """Wide & deep classifier (``n_classes`` 2: binary head, more: multi-class head)."""

    def __init__(
        self,
        model_dir: str | None = None,
        linear_feature_columns: Sequence[FeatureColumn] | None = None,
        linear_optimizer: Any = "Ftrl",
        dnn_feature_columns: Sequence[FeatureColumn] | None = None,
        dnn_optimizer: Any = "Adagrad",
        dnn_hidden_units: Sequence[int] | None = None,
        dnn_activation_fn: Any = torch.relu,
        dnn_dropout: float | None = None,
        n_classes: int = 2,
        weight_column: Any = None,
        label_vocabulary: Sequence[str] | None = None,
        config: RunConfig | None = None,
        warm_start_from: Any = None,
        loss_reduction: str = _SOBS,
        batch_norm: bool = False,
        linear_sparse_combiner: str = "sum",
    ) -> None:
        head = classifier_head(n_classes, weight_column, label_vocabulary, loss_reduction)
        self._setup(
            head,
            model_dir,
            linear_feature_columns,
            linear_optimizer,
            dnn_feature_columns,
            dnn_optimizer,
            dnn_hidden_units,
            dnn_activation_fn,
            dnn_dropout,
            config,
            warm_start_from,
            batch_norm,
            linear_sparse_combiner,
        )


class DNNLinearCombinedRegressor(DNNLinearCombinedEstimator):
    """Wide & deep regressor over ``label_dimension`` outputs."""

    def __init__(
        self,
        model_dir: str | None = None,
        linear_feature_columns: Sequence[FeatureColumn] | None = None,
        linear_optimizer: Any = "Ftrl",
        dnn_feature_columns: Sequence[FeatureColumn] | None = None,
        dnn_optimizer: Any = "Adagrad",
        dnn_hidden_units: Sequence[int] | None = None,
        dnn_activation_fn: Any = torch.relu,
        dnn_dropout: float | None = None,
        label_dimension: int = 1,
        weight_column: Any = None,
        config: RunConfig | None = None,
        warm_start_from: Any = None,
        loss_reduction: str = _SOBS,
        batch_norm: bool = False,
        linear_sparse_combiner: str = "sum",
    ) -> None:
        head = regression_head(label_dimension, weight_column, loss_reduction)
        self._setup(
            head,
            model_dir,
            linear_feature_columns,
            linear_optimizer,
            dnn_feature_columns,
            dnn_optimizer,
            dnn_hidden_units,
            dnn_activation_fn,
            dnn_dropout,
            config,
            warm_start_from,
            batch_norm,
            linear_sparse_combiner,
        )


def _dnn_model_fn(
    head: Head,
    hidden_units: Sequence[int],
    feature_columns: list[FeatureColumn],
    optimizer: Any,
    activation_fn: Any,
    dropout: float | None,
    batch_norm: bool,
) -> Callable[..., EstimatorSpec]:
    if not feature_columns:
        raise ValueError("feature_columns must not be empty.")
    act = get_activation(activation_fn)
    input_layer = dnn_input_layer(feature_columns)

    def model_fn(features: Any, labels: Any, mode: str) -> EstimatorSpec:
        check_features(features)
        logits = dnn_logits(features, mode, head.logits_dimension, hidden_units, input_layer, act, dropout, batch_norm)
        opt = get_optimizer_instance(optimizer) if mode == ModeKeys.TRAIN else None
        return head.create_estimator_spec(features=features, mode=mode, labels=labels, logits=logits, optimizer=opt)

    return model_fn


class DNNEstimator(Estimator):
    """A feed-forward network with a given head (Adagrad, learning rate 0.001, by default)."""

    def __init__(
        self,
        head: Head,
        hidden_units: Sequence[int],
        feature_columns: Sequence[FeatureColumn],
        model_dir: str | None = None,
        optimizer: Any = "Adagrad",
        activation_fn: Any = torch.relu,
        dropout: float | None = None,
        config: RunConfig | None = None,
        warm_start_from: Any = None,
        batch_norm: bool = False,
    ) -> None:
        self._head = check_head(head)
        fn = _dnn_model_fn(
            self._head,
            check_layer_sizes("hidden_units", hidden_units),
            _columns(feature_columns, "feature_columns"),
            optimizer,
            activation_fn,
            dropout,
            batch_norm,
        )
        Estimator.__init__(self, fn, model_dir, config, warm_start_from=warm_start_from)


class DNNClassifier(DNNEstimator):
    """A feed-forward classifier (binary head for 2 classes, multi-class head above)."""

    def __init__(
        self,
        hidden_units: Sequence[int],
        feature_columns: Sequence[FeatureColumn],
        model_dir: str | None = None,
        n_classes: int = 2,
        weight_column: Any = None,
        label_vocabulary: Sequence[str] | None = None,
        optimizer: Any = "Adagrad",
        activation_fn: Any = torch.relu,
        dropout: float | None = None,
        config: RunConfig | None = None,
        warm_start_from: Any = None,
        loss_reduction: str = _SOBS,
        batch_norm: bool = False,
    ) -> None:
        head = classifier_head(n_classes, weight_column, label_vocabulary, loss_reduction)
        DNNEstimator.__init__(
            self,
            head,
            hidden_units,
            feature_columns,
            model_dir,
            optimizer,
            activation_fn,
            dropout,
            config,
            warm_start_from,
            batch_norm,
        )


class DNNRegressor(DNNEstimator):
    """A feed-forward regressor over ``label_dimension`` outputs."""

    def __init__(
        self,
        hidden_units: Sequence[int],
        feature_columns: Sequence[FeatureColumn],
        model_dir: str | None = None,
        label_dimension: int = 1,
        weight_column: Any = None,
        optimizer: Any = "Adagrad",
        activation_fn: Any = torch.relu,
        dropout: float | None = None,
        config: RunConfig | None = None,
        warm_start_from: Any = None,
        loss_reduction: str = _SOBS,
        batch_norm: bool = False,
    ) -> None:
        head = regression_head(label_dimension, weight_column, loss_reduction)
        DNNEstimator.__init__(
            self,
            head,
            hidden_units,
            feature_columns,
            model_dir,
            optimizer,
            activation_fn,
            dropout,
            config,
            warm_start_from,
            batch_norm,
        )


def _linear_model_fn(
    head: Head, feature_columns: list[FeatureColumn], optimizer: Any, sparse_combiner: str
) -> Callable[..., EstimatorSpec]:
    if not feature_columns:
        raise ValueError("feature_columns must not be empty.")
    model = linear_model(head.logits_dimension, feature_columns, sparse_combiner)

    def model_fn(features: Any, labels: Any, mode: str) -> EstimatorSpec:
        check_features(features)
        logits = linear_logits(features, model)
        opt = get_optimizer_instance(optimizer, _LINEAR_LEARNING_RATE) if mode == ModeKeys.TRAIN else None
        return head.create_estimator_spec(features=features, mode=mode, labels=labels, logits=logits, optimizer=opt)

    return model_fn


class LinearEstimator(Estimator):
    """A linear model with a given head (Ftrl, learning rate 0.2, by default)."""

    def __init__(
        self,
        head: Head,
        feature_columns: Sequence[FeatureColumn],
        model_dir: str | None = None,
        optimizer: Any = "Ftrl",
        config: RunConfig | None = None,
        sparse_combiner: str = "sum",
        warm_start_from: Any = None,
    ) -> None:
        self._head = check_head(head)
        Estimator.__init__(
            self,
            _linear_model_fn(self._head, _columns(feature_columns, "feature_columns"), optimizer, sparse_combiner),
            model_dir,
            config,
            warm_start_from=warm_start_from,
        )


class LinearClassifier(LinearEstimator):
    """A linear classifier (logistic regression for two classes)."""

    def __init__(
        self,
        feature_columns: Sequence[FeatureColumn],
        model_dir: str | None = None,
        n_classes: int = 2,
        weight_column: Any = None,
        label_vocabulary: Sequence[str] | None = None,
        optimizer: Any = "Ftrl",
        config: RunConfig | None = None,
        warm_start_from: Any = None,
        loss_reduction: str = _SOBS,
        sparse_combiner: str = "sum",
    ) -> None:
        head = classifier_head(n_classes, weight_column, label_vocabulary, loss_reduction)
        LinearEstimator.__init__(
            self, head, feature_columns, model_dir, optimizer, config, sparse_combiner, warm_start_from
        )


class LinearRegressor(LinearEstimator):
    """A linear regressor over ``label_dimension`` outputs."""

    def __init__(
        self,
        feature_columns: Sequence[FeatureColumn],
        model_dir: str | None = None,
        label_dimension: int = 1,
        weight_column: Any = None,
        optimizer: Any = "Ftrl",
        config: RunConfig | None = None,
        warm_start_from: Any = None,
        loss_reduction: str = _SOBS,
        sparse_combiner: str = "sum",
    ) -> None:
        head = regression_head(label_dimension, weight_column, loss_reduction)
        LinearEstimator.__init__(
            self, head, feature_columns, model_dir, optimizer, config, sparse_combiner, warm_start_from
        )


def _baseline_model_fn(head: Head, optimizer: Any, weight_column: Any) -> Callable[..., EstimatorSpec]:
    def model_fn(features: Any, labels: Any, mode: str) -> EstimatorSpec:
        check_features(features)
        logits = baseline_logits(features, head.logits_dimension, weight_column)
        opt = get_optimizer_instance(optimizer, _BASELINE_LEARNING_RATE) if mode == ModeKeys.TRAIN else None
        return head.create_estimator_spec(features=features, mode=mode, labels=labels, logits=logits, optimizer=opt)

    return model_fn


class BaselineEstimator(Estimator):
    """Predicts a learned constant (the bias ``baseline/bias``), with a given head."""

    def __init__(
        self, head: Head, model_dir: str | None = None, optimizer: Any = "Ftrl", config: RunConfig | None = None
    ) -> None:
        self._head = check_head(head)
        Estimator.__init__(self, _baseline_model_fn(self._head, optimizer, None), model_dir, config, None)


class BaselineClassifier(Estimator):
    """Predicts the class distribution seen in training, ignoring the features."""

    def __init__(
        self,
        model_dir: str | None = None,
        n_classes: int = 2,
        weight_column: Any = None,
        label_vocabulary: Sequence[str] | None = None,
        optimizer: Any = "Ftrl",
        config: RunConfig | None = None,
        loss_reduction: str = _SOBS,
    ) -> None:
        self._head = classifier_head(n_classes, weight_column, label_vocabulary, loss_reduction)
        Estimator.__init__(self, _baseline_model_fn(self._head, optimizer, weight_column), model_dir, config, None)


class BaselineRegressor(Estimator):
    """Predicts the (weighted) mean label seen in training, ignoring the features."""

    def __init__(
        self,
        model_dir: str | None = None,
        label_dimension: int = 1,
        weight_column: Any = None,
        optimizer: Any = "Ftrl",
        config: RunConfig | None = None,
        loss_reduction: str = _SOBS,
    ) -> None:
        self._head = regression_head(label_dimension, weight_column, loss_reduction)
        Estimator.__init__(self, _baseline_model_fn(self._head, optimizer, weight_column), model_dir, config, None)
