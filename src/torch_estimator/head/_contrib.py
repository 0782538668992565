"""The older ``tf.contrib.learn`` head interface: ``create_model_fn_ops`` and ``logits_input``.

A head can build its own logits layer from ``logits_input`` (typically the last hidden layer):
a dense layer without activation named ``<scope>/logits``, created once in the head's scope.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import torch

from torch_estimator._core import layers
from torch_estimator._core.mode_keys import ModeKeys
from torch_estimator._core.spec import EstimatorSpec
from torch_estimator._core.variables import variable_scope

__all__ = ["ModelFnOps", "no_op_train_fn", "logits_from_input", "create_model_fn_ops"]

_FIELDS = [
    "predictions",
    "loss",
    "train_op",
    "eval_metric_ops",
    "output_alternatives",
    "training_chief_hooks",
    "training_hooks",
    "scaffold",
    "mode",
]


class ModelFnOps(collections.namedtuple("ModelFnOps", _FIELDS)):
    """What a contrib-style head returns; ``estimator_spec()`` converts it to an ``EstimatorSpec``.

    ``output_alternatives`` holds the export outputs (signature name -> ExportOutput). An
    Estimator also accepts a ``ModelFnOps`` returned directly by a model_fn.
    """

    def __new__(
        cls,
        mode: str,
        predictions: Any = None,
        loss: Any = None,
        train_op: Any = None,
        eval_metric_ops: Any = None,
        output_alternatives: Any = None,
        training_chief_hooks: Any = None,
        training_hooks: Any = None,
        scaffold: Any = None,
    ) -> ModelFnOps:
        spec = EstimatorSpec(
            mode,
            predictions=predictions,
            loss=loss,
            train_op=train_op,
            eval_metric_ops=eval_metric_ops,
            export_outputs=output_alternatives,
            training_chief_hooks=training_chief_hooks,
            training_hooks=training_hooks,
            scaffold=scaffold,
        )
        return super().__new__(
            cls,
            predictions=spec.predictions,
            loss=spec.loss,
            train_op=spec.train_op,
            eval_metric_ops=spec.eval_metric_ops,
            output_alternatives=spec.export_outputs,
            training_chief_hooks=spec.training_chief_hooks,
            training_hooks=spec.training_hooks,
            scaffold=scaffold,
            mode=mode,
        )

    def estimator_spec(self) -> EstimatorSpec:
        """The equivalent ``EstimatorSpec``."""
        return EstimatorSpec(
            self.mode,
            predictions=self.predictions,
            loss=self.loss,
            train_op=self.train_op,
            eval_metric_ops=self.eval_metric_ops,
            export_outputs=self.output_alternatives,
            training_chief_hooks=self.training_chief_hooks,
            training_hooks=self.training_hooks,
            scaffold=self.scaffold,
        )


def no_op_train_fn(loss: torch.Tensor) -> Callable[[], None]:
    """A ``train_op_fn`` whose train op updates nothing (for callers that update variables themselves)."""
    del loss
    return lambda: None


def logits_from_input(logits_dimension: int, logits: Any, logits_input: Any, scope: str) -> torch.Tensor:
    """``logits``, or a dense layer ``<scope>/logits`` applied to ``logits_input`` (exactly one given)."""
    if not isinstance(logits_dimension, int) or logits_dimension < 1:
        raise ValueError(f"Invalid logits_dimension {logits_dimension}.")
    if logits is None and logits_input is None:
        raise ValueError("Neither logits nor logits_input supplied.")
    if logits is not None and logits_input is not None:
        raise ValueError("Both logits and logits_input supplied.")
    if logits is not None:
        return logits
    with variable_scope(scope):
        return layers.dense(logits_input, logits_dimension, name="logits")


def create_model_fn_ops(
    head: Any,
    default_scope: str,
    features: Any,
    mode: str,
    labels: Any = None,
    train_op_fn: Callable[[torch.Tensor], Any] | None = None,
    logits: Any = None,
    logits_input: Any = None,
    scope: str | None = None,
) -> ModelFnOps:
    """Shared implementation of ``Head.create_model_fn_ops``."""
    logits = logits_from_input(head.logits_dimension, logits, logits_input, scope or head.name or default_scope)
    if mode == ModeKeys.TRAIN and train_op_fn is None:
        raise ValueError("train_op_fn can not be None in TRAIN mode")
    spec = head.create_estimator_spec(
        features=features or {}, mode=mode, logits=logits, labels=labels, train_op_fn=train_op_fn
    )
    return ModelFnOps(
        mode,
        predictions=spec.predictions,
        loss=spec.loss,
        train_op=spec.train_op,
        eval_metric_ops=spec.eval_metric_ops,
        output_alternatives=spec.export_outputs,
    )
