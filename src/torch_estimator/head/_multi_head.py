"""MultiHead: several named heads trained together on split logits, one weighted loss."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from torch_estimator._core.export_output import ExportOutput, PredictOutput
from torch_estimator._core.metrics import Mean, Metric
from torch_estimator._core.mode_keys import ModeKeys
from torch_estimator._core.spec import EstimatorSpec
from torch_estimator.head._base import (
    DEFAULT_SERVING_KEY,
    PREDICT_SERVING_KEY,
    Features,
    Head,
    create_estimator_spec_train_op,
    logits_tensor,
    record_loss_summaries,
    sum_regularization,
)
from torch_estimator.head._keys import MetricKeys

__all__ = ["MultiHead"]


class MultiHead(Head):
    """Combines named heads: logits split in head order (or a dict by head name), labels a dict.

    The loss is ``Σ head_weight · head.loss`` (each head with its own reduction) plus the
    regularization; predictions are keyed ``(head_name, key)``; metrics are each head's (suffixed
    with its name) plus ``loss/<head>``.
    """

    def __init__(self, heads: Sequence[Head], head_weights: Sequence[float] | None = None) -> None:
        if not heads:
            raise ValueError(f"Must specify heads. Given: {heads}")
        if head_weights and len(head_weights) != len(heads):
            raise ValueError(
                f"heads and head_weights must have the same size. Given len(heads): {len(heads)}. "
                f"Given len(head_weights): {len(head_weights)}."
            )
        for head in heads:
            if head.name is None:
                raise ValueError(f"All given heads must have name specified. Given: {head}")
        self._heads = tuple(heads)
        self._head_weights = tuple(head_weights) if head_weights else None
        self._name = "_".join(h.name for h in heads)  # type: ignore[misc]

    @property
    def name(self) -> str:
        return self._name

    @property
    def logits_dimension(self) -> int:
        return sum(h.logits_dimension for h in self._heads)

    @property
    def loss_reduction(self) -> str:
        reductions = [h.loss_reduction for h in self._heads]
        if len(set(reductions)) > 1:
            raise ValueError(f"The loss_reduction must be the same for different heads. Given: {reductions}")
        return reductions[0]

    def _split_logits(self, logits: Any) -> dict[str, torch.Tensor]:
        if isinstance(logits, Mapping):
            missing = [h.name for h in self._heads if h.name not in logits]
            if missing:
                raise ValueError(f"logits has missing values for head(s): {missing}")
            return {h.name: logits[h.name] for h in self._heads}  # type: ignore[index]
        logits = logits_tensor(logits)
        dims = [h.logits_dimension for h in self._heads]
        shape = list(logits.shape)
        if not shape or shape[-1] != sum(dims):
            raise ValueError(
                f"Could not split logits of shape {shape!r} among the heads with individual logits dimensions: "
                f"{dims!r}. The last dimension of the logits tensor should equal {shape[-1] if shape else 0} but is {sum(dims)}."
            )
        return {h.name: part for h, part in zip(self._heads, torch.split(logits, dims, dim=-1))}  # type: ignore[misc]

    def _check_labels(self, labels: Any) -> Mapping[str, Any]:
        if not isinstance(labels, Mapping):
            raise ValueError(f"labels must be a dict. Given: {labels}")
        missing = [h.name for h in self._heads if h.name not in labels]
        if missing:
            raise ValueError(f"labels has missing values for head(s): {missing}")
        return labels

    def _weight(self, i: int) -> float:
        return self._head_weights[i] if self._head_weights else 1.0

    def _head_losses(self, labels: Any, logits: Any, features: Features | None, mode: str | None) -> list[torch.Tensor]:
        logits_dict = self._split_logits(logits)
        labels = self._check_labels(labels)
        return [h.loss(labels[h.name], logits_dict[h.name], features, mode) for h in self._heads]  # type: ignore[index]

    def loss(
        self,
        labels: Any,
        logits: Any,
        features: Features | None = None,
        mode: str | None = None,
        regularization_losses: Sequence[Any] | None = None,
    ) -> torch.Tensor:
        """``Σ weight_h · loss_h`` plus the sum of ``regularization_losses``."""
        losses = self._head_losses(labels, logits, features, mode)
        total = sum(self._weight(i) * loss for i, loss in enumerate(losses))
        regularization = sum_regularization(regularization_losses, losses[0].device)
        return total + regularization if regularization is not None else total  # type: ignore[return-value]

    def predictions(self, logits: Any, keys: Sequence[Any] | None = None) -> dict[tuple[str, str], Any]:
        """Each head's predictions keyed ``(head_name, key)``; ``keys`` may be such tuples."""
        logits_dict = self._split_logits(logits)
        out: dict[tuple[str, str], Any] = {}
        for head in self._heads:
            wanted = None if not keys else [k[1] for k in keys if isinstance(k, tuple) and k[0] == head.name]
            if keys and not wanted:
                continue
            for key, value in head.predictions(logits_dict[head.name], wanted).items():  # type: ignore[index]
                out[(head.name, key)] = value  # type: ignore[index]
        return out

    def metrics(self, regularization_losses: Sequence[Any] | None = None) -> dict[str, Metric]:
        eval_metrics: dict[str, Metric] = {}
        for head in self._heads:
            eval_metrics.update(head.metrics())
            eval_metrics[f"{MetricKeys.LOSS}/{head.name}"] = Mean(name=MetricKeys.LOSS)
        if regularization_losses is not None:
            eval_metrics[f"{MetricKeys.LOSS_REGULARIZATION}/{self._name}"] = Mean(name=MetricKeys.LOSS_REGULARIZATION)
        return eval_metrics

    def update_metrics(
        self,
        eval_metrics: dict[str, Metric],
        features: Features,
        logits: Any,
        labels: Any,
        mode: str | None = None,
        regularization_losses: Sequence[Any] | None = None,
    ) -> dict[str, Metric]:
        logits_dict = self._split_logits(logits)
        labels = self._check_labels(labels)
        for head in self._heads:
            head.update_metrics(eval_metrics, features, logits_dict[head.name], labels[head.name], mode)  # type: ignore[index]
            with torch.no_grad():
                loss = head.loss(labels[head.name], logits_dict[head.name], features, mode)  # type: ignore[index]
                eval_metrics[f"{MetricKeys.LOSS}/{head.name}"].update_state(loss)
        if regularization_losses is not None:
            eval_metrics[f"{MetricKeys.LOSS_REGULARIZATION}/{self._name}"].update_state(
                sum_regularization(regularization_losses, torch.device("cpu"))
            )
        return eval_metrics

    def _export_outputs(
        self, predictions_by_head: list[dict[str, Any]], specs: list[dict[str, ExportOutput]]
    ) -> dict[str, ExportOutput]:
        outputs: dict[str, ExportOutput] = {DEFAULT_SERVING_KEY: specs[0][DEFAULT_SERVING_KEY]}
        merged: dict[str, Any] = {}
        for head, head_outputs, head_predictions in zip(self._heads, specs, predictions_by_head):
            for key, output in head_outputs.items():
                outputs[head.name if key == DEFAULT_SERVING_KEY else f"{head.name}/{key}"] = output  # type: ignore[operator]
            merged.update({f"{head.name}/{k}": v for k, v in head_predictions.items()})
        outputs[PREDICT_SERVING_KEY] = PredictOutput(merged)
        return outputs

    def create_estimator_spec(
        self,
        features: Features,
        mode: str,
        logits: Any,
        labels: Any = None,
        optimizer: Any = None,
        trainable_variables: Sequence[torch.Tensor] | None = None,
        train_op_fn: Callable[[torch.Tensor], Any] | None = None,
        update_ops: Sequence[Callable[[], Any]] | None = None,
        regularization_losses: Sequence[Any] | None = None,
    ) -> EstimatorSpec:
        logits_dict = self._split_logits(logits)
        predictions = self.predictions(logits_dict)
        if mode == ModeKeys.PREDICT:
            head_specs = [h.create_estimator_spec(features, mode, logits_dict[h.name]) for h in self._heads]  # type: ignore[index]
            export_outputs = self._export_outputs(
                [s.predictions for s in head_specs], [s.export_outputs for s in head_specs]
            )
            return EstimatorSpec(mode, predictions=predictions, export_outputs=export_outputs)
        if mode == ModeKeys.EVAL:
            loss = self.loss(labels, logits_dict, features, mode, regularization_losses)
            eval_metrics = self.update_metrics(
                self.metrics(regularization_losses), features, logits_dict, labels, mode, regularization_losses
            )
            return EstimatorSpec(mode, predictions=predictions, loss=loss, eval_metric_ops=eval_metrics)
        if mode != ModeKeys.TRAIN:
            raise ValueError(f"mode={mode} unrecognized.")
        self.loss_reduction  # the heads must agree on the reduction to train together
        head_losses = self._head_losses(labels, logits_dict, features, mode)
        loss = sum(self._weight(i) * l for i, l in enumerate(head_losses))
        regularization = sum_regularization(regularization_losses, head_losses[0].device)
        if regularization is not None:
            loss = loss + regularization
        train_op = create_estimator_spec_train_op(loss, optimizer, trainable_variables, train_op_fn, update_ops)  # type: ignore[arg-type]
        record_loss_summaries(loss, regularization_losses, lambda key: key)  # type: ignore[arg-type]
        for head, head_loss in zip(self._heads, head_losses):
            record_loss_summaries(head_loss, None, lambda key, n=head.name: f"{key}/{n}")
        return EstimatorSpec(mode, predictions=predictions, loss=loss, train_op=train_op)
