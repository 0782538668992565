"""TensorFlow 1's canned estimators (``tf.compat.v1.estimator``): the same models with TF1's
defaults.

What differs from the v2 classes, as in TF:
* ``loss_reduction`` defaults to ``SUM`` (``te.compat.v1.losses.Reduction.SUM``): the training
  loss, and the Estimator's ``loss`` metric (the mean of the batches' losses), are the weighted
  *sum* over the batch, so a named optimizer's steps are batch-size times larger than in v2;
* a DNN optimizer given by name gets learning rate 0.05 (v2: the optimizer's default, 0.001);
* the extra ``input_layer_partitioner``/``partitioner`` arguments (TF1 variable sharding).
  Variables are never sharded here, so only None is accepted.

``loss_reduction`` takes TF1's names (``Reduction.SUM`` = ``'weighted_sum'``,
``SUM_OVER_BATCH_SIZE``) or v2's; TF1's ``MEAN`` and ``SUM_BY_NONZERO_WEIGHTS`` head reductions
are not provided and are refused by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from torch_estimator._core import v1_losses
from torch_estimator._core.losses import Reduction
from torch_estimator._engine.run_config import RunConfig
from torch_estimator.canned import _estimators as v2
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

_SUM = v1_losses.Reduction.SUM
_DNN_LEARNING_RATE = 0.05
_HEAD_REDUCTIONS = {
    v1_losses.Reduction.SUM: Reduction.SUM,
    v1_losses.Reduction.SUM_OVER_BATCH_SIZE: Reduction.SUM_OVER_BATCH_SIZE,
    Reduction.SUM: Reduction.SUM,
    Reduction.SUM_OVER_BATCH_SIZE: Reduction.SUM_OVER_BATCH_SIZE,
    Reduction.AUTO: Reduction.SUM_OVER_BATCH_SIZE,
}


def _reduction(loss_reduction: Any) -> str:
    """The head reduction for a TF1 (or v2) ``loss_reduction``."""
    if loss_reduction in _HEAD_REDUCTIONS:
        return _HEAD_REDUCTIONS[loss_reduction]
    if loss_reduction in (v1_losses.Reduction.MEAN, v1_losses.Reduction.SUM_BY_NONZERO_WEIGHTS):
        raise ValueError(
            f"loss_reduction {loss_reduction!r} (TF1's MEAN / SUM_BY_NONZERO_WEIGHTS) is not provided for canned "
            "estimators; use Reduction.SUM or Reduction.SUM_OVER_BATCH_SIZE."
        )
    raise ValueError(
        f"Invalid loss_reduction: {loss_reduction}. See `tf.compat.v1.losses.Reduction` for valid options."
    )


def _no_partitioner(value: Any, what: str) -> None:
    if value is not None:
        raise ValueError(
            f"{what}={value!r}: TF1 variable partitioners are not supported (variables are never sharded here); "
            "pass None."
        )


class DNNEstimator(v2.DNNEstimator):
    """TF1's ``DNNEstimator``: a named optimizer gets learning rate 0.05."""

    _dnn_learning_rate = _DNN_LEARNING_RATE

    def __init__(
        self,
        head: Head,
        hidden_units: Sequence[int],
        feature_columns: Sequence[FeatureColumn],
        model_dir: str | None = None,
        optimizer: Any = "Adagrad",
        activation_fn: Any = torch.relu,
        dropout: float | None = None,
        input_layer_partitioner: Any = None,
        config: RunConfig | None = None,
        warm_start_from: Any = None,
        batch_norm: bool = False,
    ) -> None:
        _no_partitioner(input_layer_partitioner, "input_layer_partitioner")
        super().__init__(
            head, hidden_units, feature_columns, model_dir, optimizer, activation_fn, dropout, config,
            warm_start_from, batch_norm,
        )  # fmt: skip


class DNNClassifier(v2.DNNClassifier):
    """TF1's ``DNNClassifier``: SUM loss reduction, a named optimizer gets learning rate 0.05."""

    _dnn_learning_rate = _DNN_LEARNING_RATE

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
        input_layer_partitioner: Any = None,
        config: RunConfig | None = None,
        warm_start_from: Any = None,
        loss_reduction: str = _SUM,
        batch_norm: bool = False,
    ) -> None:
        _no_partitioner(input_layer_partitioner, "input_layer_partitioner")
        super().__init__(
            hidden_units, feature_columns, model_dir, n_classes, weight_column, label_vocabulary, optimizer,
            activation_fn, dropout, config, warm_start_from, _reduction(loss_reduction), batch_norm,
        )  # fmt: skip


class DNNRegressor(v2.DNNRegressor):
    """TF1's ``DNNRegressor``: SUM loss reduction, a named optimizer gets learning rate 0.05."""

    _dnn_learning_rate = _DNN_LEARNING_RATE

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
        input_layer_partitioner: Any = None,
        config: RunConfig | None = None,
        warm_start_from: Any = None,
        loss_reduction: str = _SUM,
        batch_norm: bool = False,
    ) -> None:
        _no_partitioner(input_layer_partitioner, "input_layer_partitioner")
        super().__init__(
            hidden_units, feature_columns, model_dir, label_dimension, weight_column, optimizer, activation_fn,
            dropout, config, warm_start_from, _reduction(loss_reduction), batch_norm,
        )  # fmt: skip


class LinearEstimator(v2.LinearEstimator):
    """TF1's ``LinearEstimator`` (``partitioner`` must be None)."""

    def __init__(
        self,
        head: Head,
        feature_columns: Sequence[FeatureColumn],
        model_dir: str | None = None,
        optimizer: Any = "Ftrl",
        config: RunConfig | None = None,
        partitioner: Any = None,
        sparse_combiner: str = "sum",
        warm_start_from: Any = None,
    ) -> None:
        _no_partitioner(partitioner, "partitioner")
        super().__init__(head, feature_columns, model_dir, optimizer, config, sparse_combiner, warm_start_from)


class LinearClassifier(v2.LinearClassifier):
    """TF1's ``LinearClassifier``: SUM loss reduction."""

    def __init__(
        self,
        feature_columns: Sequence[FeatureColumn],
        model_dir: str | None = None,
        n_classes: int = 2,
        weight_column: Any = None,
        label_vocabulary: Sequence[str] | None = None,
        optimizer: Any = "Ftrl",
        config: RunConfig | None = None,
        partitioner: Any = None,
        warm_start_from: Any = None,
        loss_reduction: str = _SUM,
        sparse_combiner: str = "sum",
    ) -> None:
        _no_partitioner(partitioner, "partitioner")
        super().__init__(
            feature_columns, model_dir, n_classes, weight_column, label_vocabulary, optimizer, config,
            warm_start_from, _reduction(loss_reduction), sparse_combiner,
        )  # fmt: skip


class LinearRegressor(v2.LinearRegressor):
    """TF1's ``LinearRegressor``: SUM loss reduction."""

    def __init__(
        self,
        feature_columns: Sequence[FeatureColumn],
        model_dir: str | None = None,
        label_dimension: int = 1,
        weight_column: Any = None,
        optimizer: Any = "Ftrl",
        config: RunConfig | None = None,
        partitioner: Any = None,
        warm_start_from: Any = None,
        loss_reduction: str = _SUM,
        sparse_combiner: str = "sum",
    ) -> None:
        _no_partitioner(partitioner, "partitioner")
        super().__init__(
            feature_columns, model_dir, label_dimension, weight_column, optimizer, config, warm_start_from,
            _reduction(loss_reduction), sparse_combiner,
        )  # fmt: skip


class DNNLinearCombinedEstimator(v2.DNNLinearCombinedEstimator):
    """TF1's ``DNNLinearCombinedEstimator`` (``input_layer_partitioner`` must be None)."""

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
        input_layer_partitioner: Any = None,
        config: RunConfig | None = None,
        batch_norm: bool = False,
        linear_sparse_combiner: str = "sum",
    ) -> None:
        _no_partitioner(input_layer_partitioner, "input_layer_partitioner")
        super().__init__(
            head, model_dir, linear_feature_columns, linear_optimizer, dnn_feature_columns, dnn_optimizer,
            dnn_hidden_units, dnn_activation_fn, dnn_dropout, config, batch_norm, linear_sparse_combiner,
        )  # fmt: skip


class DNNLinearCombinedClassifier(v2.DNNLinearCombinedClassifier):
    """TF1's ``DNNLinearCombinedClassifier``: SUM loss reduction (learning rates as v2's)."""

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
        input_layer_partitioner: Any = None,
        config: RunConfig | None = None,
        warm_start_from: Any = None,
        loss_reduction: str = _SUM,
        batch_norm: bool = False,
        linear_sparse_combiner: str = "sum",
    ) -> None:
        _no_partitioner(input_layer_partitioner, "input_layer_partitioner")
        super().__init__(
            model_dir, linear_feature_columns, linear_optimizer, dnn_feature_columns, dnn_optimizer,
            dnn_hidden_units, dnn_activation_fn, dnn_dropout, n_classes, weight_column, label_vocabulary, config,
            warm_start_from, _reduction(loss_reduction), batch_norm, linear_sparse_combiner,
        )  # fmt: skip


class DNNLinearCombinedRegressor(v2.DNNLinearCombinedRegressor):
    """TF1's ``DNNLinearCombinedRegressor``: SUM loss reduction (learning rates as v2's)."""

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
        input_layer_partitioner: Any = None,
        config: RunConfig | None = None,
        warm_start_from: Any = None,
        loss_reduction: str = _SUM,
        batch_norm: bool = False,
        linear_sparse_combiner: str = "sum",
    ) -> None:
        _no_partitioner(input_layer_partitioner, "input_layer_partitioner")
        super().__init__(
            model_dir, linear_feature_columns, linear_optimizer, dnn_feature_columns, dnn_optimizer,
            dnn_hidden_units, dnn_activation_fn, dnn_dropout, label_dimension, weight_column, config,
            warm_start_from, _reduction(loss_reduction), batch_norm, linear_sparse_combiner,
        )  # fmt: skip


BaselineEstimator = v2.BaselineEstimator  # TF1's has the same arguments and defaults


class BaselineClassifier(v2.BaselineClassifier):
    """TF1's ``BaselineClassifier``: SUM loss reduction."""

    def __init__(
        self,
        model_dir: str | None = None,
        n_classes: int = 2,
        weight_column: Any = None,
        label_vocabulary: Sequence[str] | None = None,
        optimizer: Any = "Ftrl",
        config: RunConfig | None = None,
        loss_reduction: str = _SUM,
    ) -> None:
        super().__init__(
            model_dir, n_classes, weight_column, label_vocabulary, optimizer, config, _reduction(loss_reduction)
        )


class BaselineRegressor(v2.BaselineRegressor):
    """TF1's ``BaselineRegressor``: SUM loss reduction."""

    def __init__(
        self,
        model_dir: str | None = None,
        label_dimension: int = 1,
        weight_column: Any = None,
        optimizer: Any = "Ftrl",
        config: RunConfig | None = None,
        loss_reduction: str = _SUM,
    ) -> None:
        super().__init__(model_dir, label_dimension, weight_column, optimizer, config, _reduction(loss_reduction))
