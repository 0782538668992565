"""The canned models' logits: DNN tower, linear model, baseline bias, with TensorFlow's
variable names (``dnn/hiddenlayer_0/kernel``, ``linear/linear_model/<column>/weights``,
``baseline/bias``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import torch

from torch_estimator._core import layers
from torch_estimator._core.mode_keys import ModeKeys
from torch_estimator._core.values import batch_size_of
from torch_estimator._core.variables import get_variable, variable_scope
from torch_estimator.canned._common import add_layer_summary
from torch_estimator.feature_column import DenseColumn, DenseFeatures, FeatureColumn, LinearModel

__all__ = ["dnn_input_layer", "dnn_logits", "linear_model", "linear_logits", "baseline_logits"]


def dnn_input_layer(feature_columns: Sequence[FeatureColumn]) -> DenseFeatures:
    """The DNN's input layer (built once per estimator; variables under ``input_layer/``).

    ``DenseFeatures`` refuses a column that is not dense with TensorFlow's message."""
    return DenseFeatures(cast(Sequence[DenseColumn], feature_columns), name="input_layer")


def dnn_logits(
    features: dict[str, Any],
    mode: str,
    units: int,
    hidden_units: Sequence[int],
    input_layer: DenseFeatures,
    activation_fn: Callable[[torch.Tensor], torch.Tensor] | None,
    dropout: float | None,
    batch_norm: bool,
) -> torch.Tensor:
    """Input layer -> [dense + activation -> dropout (TRAIN) -> batch norm] per hidden layer -> logits."""
    training = mode == ModeKeys.TRAIN
    with variable_scope("dnn"):
        with variable_scope("input_from_feature_columns"):
            net = input_layer(features)
        for i, units_i in enumerate(hidden_units):
            scope = f"hiddenlayer_{i}"
            net = layers.dense(net, units_i, activation=activation_fn, name=scope)
            if dropout is not None and training:
                net = layers.dropout(net, rate=dropout, training=True)
            if batch_norm:
                with variable_scope(scope):
                    net = layers.batch_normalization(net, momentum=0.999, training=training, name=f"batchnorm_{i}")
            add_layer_summary(net, f"dnn/{scope}")
        logits = layers.dense(net, units, name="logits")
        add_layer_summary(logits, "dnn/logits")
    return logits


def linear_model(units: int, feature_columns: Sequence[FeatureColumn], sparse_combiner: str) -> LinearModel:
    """The linear part (built once per estimator; variables under ``linear/linear_model/``)."""
    return LinearModel(feature_columns, units=units, sparse_combiner=sparse_combiner, name="linear_model")


def linear_logits(features: dict[str, Any], model: LinearModel) -> torch.Tensor:
    with variable_scope("linear"):
        return model(features)


def baseline_logits(features: dict[str, Any], units: int, weight_column: Any) -> torch.Tensor:
    """A learned bias ``baseline/bias`` broadcast to ``[batch_size, units]``."""
    weight_key = weight_column if isinstance(weight_column, str) else getattr(weight_column, "key", None)
    values = [v for k, v in features.items() if k != weight_key]
    if not values:
        raise ValueError("Baseline needs at least one feature besides the weight column to know the batch size.")
    tensors = [v for v in values if isinstance(v, torch.Tensor) and v.dim() > 0]
    batch = (
        tensors[0].shape[0] if tensors else batch_size_of(values[0])
    )  # a tensor's (possibly symbolic) size when there is one
    with variable_scope("baseline"):
        bias = get_variable("bias", [units], torch.float32, "zeros")
    return bias.expand(batch, units)
