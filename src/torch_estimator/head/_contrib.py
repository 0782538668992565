"""The older ``tf.contrib.learn`` head interface: ``create_model_fn_ops`` and ``logits_input``.

A head can build its own logits layer from ``logits_input`` (typically the last hidden layer):
a dense layer without activation named ``<scope>/logits``, created once in the head's scope.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import torch

from torch_estimator._core import layers
from torch_estimator._core.export_output import ExportOutput
from torch_estimator._core.metrics import Metric
from torch_estimator._core.spec import EstimatorSpec, Hooks
from torch_estimator._core.variables import variable_scope

__all__ = ["ModelFnOps", "no_op_train_fn", "logits_from_input"]


class _ModelFnOpsFields(NamedTuple):
    """The fields of ``ModelFnOps``, in ``tf.contrib.learn``'s order."""

    predictions: Any
    loss: torch.Tensor | None
    train_op: Callable[[], Any] | None
    eval_metric_ops: dict[str, Metric]
    output_alternatives: dict[str, ExportOutput] | None
    training_chief_hooks: Hooks
    training_hooks: Hooks
    scaffold: Any
    mode: str


#: The ``EstimatorSpec`` field of each ``ModelFnOps`` field whose name differs.
_SPEC_FIELD = {"output_alternatives": "export_outputs"}


def _as_spec_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``ModelFnOps`` fields named as ``EstimatorSpec`` names them."""
    return {_SPEC_FIELD.get(name, name): value for name, value in fields.items()}


class ModelFnOps(_ModelFnOpsFields):
    """What a contrib-style head returns; ``estimator_spec()`` converts it to an ``EstimatorSpec``.

    ``output_alternatives`` holds the export outputs (signature name -> ExportOutput). An
    Estimator also accepts a ``ModelFnOps`` returned directly by a model_fn. The fields are
    validated as ``EstimatorSpec`` validates them.
    """

    def __new__(
        cls,
        mode: str,
        predictions: Any = None,
        loss: Any = None,
        train_op: Callable[[], Any] | None = None,
        eval_metric_ops: dict[str, Any] | None = None,
        output_alternatives: dict[str, Any] | None = None,
        training_chief_hooks: Any = None,
        training_hooks: Any = None,
        scaffold: Any = None,
    ) -> ModelFnOps:
        fields = (
            predictions,
            loss,
            train_op,
            eval_metric_ops,
            output_alternatives,
            training_chief_hooks,
            training_hooks,
        )
        return cls.from_estimator_spec(EstimatorSpec(mode, *fields, scaffold=scaffold))

    def __getnewargs__(self) -> tuple[Any, ...]:
        """``__new__``'s arguments (``mode`` first), for copy and pickle."""
        return (self.mode, *self[:-1])

    @classmethod
    def from_estimator_spec(cls, spec: EstimatorSpec) -> ModelFnOps:
        """The ``ModelFnOps`` holding ``spec``'s fields (its evaluation and prediction hooks have no place)."""
        return cls._make(getattr(spec, _SPEC_FIELD.get(name, name)) for name in cls._fields)

    def estimator_spec(self) -> EstimatorSpec:
        """The equivalent ``EstimatorSpec``."""
        return EstimatorSpec(**_as_spec_fields(self._asdict()))


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
