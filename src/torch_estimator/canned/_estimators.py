"""Canned estimators: Linear*, DNN*, DNNLinearCombined* and Baseline*, with TF 2.15's arguments,
defaults, optimizers and learning rates."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
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
    linear: list[torch.Tensor] = []
    other: list[torch.Tensor] = []
    for name, var in store.variables().items():
        if var.requires_grad:
            (linear if name.startswith("linear/") else other).append(var)
    return linear, other


def _head_spec(
    head: Head, features: Any, labels: Any, mode: str, logits: torch.Tensor, optimizer: Any, learning_rate: Any = None
) -> EstimatorSpec:
    """The head's spec for ``logits``; in TRAIN, ``optimizer`` (resolved with ``learning_rate`` when a name)."""
    opt = get_optimizer_instance(optimizer, learning_rate) if mode == ModeKeys.TRAIN else None
    return head.create_estimator_spec(features=features, mode=mode, labels=labels, logits=logits, optimizer=opt)


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


class _CannedEstimator(Estimator):
    """A canned estimator: a head and the model its family builds from the constructor's arguments."""

    def _setup_canned(self, head: Head, arguments: Mapping[str, Any]) -> None:
        """Builds the estimator from the constructor's ``arguments`` (its ``locals()``, TF's names)."""
        self._head = head
        Estimator.__init__(
            self,
            self._canned_model_fn(head, arguments),
            arguments["model_dir"],
            arguments["config"],
            warm_start_from=arguments.get("warm_start_from"),
        )

    def _canned_model_fn(self, head: Head, arguments: Mapping[str, Any]) -> Callable[..., EstimatorSpec]:
        raise NotImplementedError


class DNNLinearCombinedEstimator(_CannedEstimator):
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
        self._setup_canned(check_head(head), locals())

    def _canned_model_fn(self, head: Head, arguments: Mapping[str, Any]) -> Callable[..., EstimatorSpec]:
        """One loss, the logits of both parts summed, each part updated by its own optimizer; the
        DNN optimizer (when there is a DNN part) owns the global step."""
        linear_columns = _columns(arguments["linear_feature_columns"], "linear_feature_columns")
        dnn_columns = _columns(arguments["dnn_feature_columns"], "dnn_feature_columns")
        hidden_units = _validate_combined(linear_columns, dnn_columns, arguments["dnn_hidden_units"])
        combiner = arguments["linear_sparse_combiner"]
        linear = linear_model(head.logits_dimension, linear_columns, combiner) if linear_columns else None
        dnn_input = dnn_input_layer(dnn_columns) if dnn_columns else None
        activation_fn = get_activation(arguments["dnn_activation_fn"])
        dropout, batch_norm = arguments["dnn_dropout"], arguments["batch_norm"]
        linear_optimizer, dnn_optimizer = arguments["linear_optimizer"], arguments["dnn_optimizer"]

        site = object()  # this model's key in a store's site cache

        def train_op_fn(loss: torch.Tensor) -> TrainOp:
            store = current_store()
            updates = store.site_cache.get(site)  # the optimizers and variable lists, resolved once per store
            if updates is None:
                linear_vars, dnn_vars = _split_variables()
                updates = []
                if dnn_input is not None:
                    updates.append((get_optimizer_instance(dnn_optimizer, _COMBINED_DNN_LEARNING_RATE), dnn_vars))
                if linear is not None:
                    learning_rate = _combined_linear_learning_rate(len(linear_columns))
                    updates.append((get_optimizer_instance(linear_optimizer, learning_rate), linear_vars))
                store.site_cache[site] = updates
            return TrainOp(loss, updates)

        def model_fn(features: Any, labels: Any, mode: str) -> EstimatorSpec:
            check_features(features)
            logits = None
            if dnn_input is not None:
                units = head.logits_dimension
                logits = dnn_logits(features, mode, units, hidden_units, dnn_input, activation_fn, dropout, batch_norm)
            if linear is not None:
                linear_part = linear_logits(features, linear)
                logits = linear_part if logits is None else logits + linear_part
            assert logits is not None
            return head.create_estimator_spec(
                features=features,
                mode=mode,
                labels=labels,
                logits=logits,
                train_op_fn=train_op_fn if mode == ModeKeys.TRAIN else None,
            )

        return model_fn


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
        self._setup_canned(classifier_head(n_classes, weight_column, label_vocabulary, loss_reduction), locals())


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
        self._setup_canned(regression_head(label_dimension, weight_column, loss_reduction), locals())


class DNNEstimator(_CannedEstimator):
    """A feed-forward network with a given head (Adagrad, learning rate 0.001, by default)."""

    #: The learning rate an optimizer given by name gets (None: the optimizer's own default).
    _dnn_learning_rate: float | None = None

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
        self._setup_canned(check_head(head), locals())

    def _canned_model_fn(self, head: Head, arguments: Mapping[str, Any]) -> Callable[..., EstimatorSpec]:
        hidden_units = check_layer_sizes("hidden_units", arguments["hidden_units"])
        feature_columns = _columns(arguments["feature_columns"], "feature_columns")
        if not feature_columns:
            raise ValueError("feature_columns must not be empty.")
        optimizer, dropout, batch_norm = arguments["optimizer"], arguments["dropout"], arguments["batch_norm"]
        activation_fn = get_activation(arguments["activation_fn"])
        input_layer = dnn_input_layer(feature_columns)
        learning_rate = self._dnn_learning_rate

        def model_fn(features: Any, labels: Any, mode: str) -> EstimatorSpec:
            check_features(features)
            units = head.logits_dimension
            logits = dnn_logits(features, mode, units, hidden_units, input_layer, activation_fn, dropout, batch_norm)
            return _head_spec(head, features, labels, mode, logits, optimizer, learning_rate)

        return model_fn


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
        self._setup_canned(classifier_head(n_classes, weight_column, label_vocabulary, loss_reduction), locals())


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
        self._setup_canned(regression_head(label_dimension, weight_column, loss_reduction), locals())


class LinearEstimator(_CannedEstimator):
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
        self._setup_canned(check_head(head), locals())

    def _canned_model_fn(self, head: Head, arguments: Mapping[str, Any]) -> Callable[..., EstimatorSpec]:
        feature_columns = _columns(arguments["feature_columns"], "feature_columns")
        if not feature_columns:
            raise ValueError("feature_columns must not be empty.")
        model = linear_model(head.logits_dimension, feature_columns, arguments["sparse_combiner"])
        optimizer = arguments["optimizer"]

        def model_fn(features: Any, labels: Any, mode: str) -> EstimatorSpec:
            check_features(features)
            logits = linear_logits(features, model)
            return _head_spec(head, features, labels, mode, logits, optimizer, _LINEAR_LEARNING_RATE)

        return model_fn


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
        self._setup_canned(classifier_head(n_classes, weight_column, label_vocabulary, loss_reduction), locals())


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
        self._setup_canned(regression_head(label_dimension, weight_column, loss_reduction), locals())


class _Baseline(_CannedEstimator):
    """The Baseline* estimators' model: a learned bias ``baseline/bias``, ignoring the features."""

    def _canned_model_fn(self, head: Head, arguments: Mapping[str, Any]) -> Callable[..., EstimatorSpec]:
        optimizer, weight_column = arguments["optimizer"], arguments.get("weight_column")

        def model_fn(features: Any, labels: Any, mode: str) -> EstimatorSpec:
            check_features(features)
            logits = baseline_logits(features, head.logits_dimension, weight_column)
            return _head_spec(head, features, labels, mode, logits, optimizer, _BASELINE_LEARNING_RATE)

        return model_fn


class BaselineEstimator(_Baseline):
    """Predicts a learned constant (the bias ``baseline/bias``), with a given head."""

    def __init__(
        self, head: Head, model_dir: str | None = None, optimizer: Any = "Ftrl", config: RunConfig | None = None
    ) -> None:
        self._setup_canned(check_head(head), locals())


class BaselineClassifier(_Baseline):
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
        self._setup_canned(classifier_head(n_classes, weight_column, label_vocabulary, loss_reduction), locals())


class BaselineRegressor(_Baseline):
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
        self._setup_canned(regression_head(label_dimension, weight_column, loss_reduction), locals())
