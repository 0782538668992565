"""MultiHead: several named heads trained together on split logits, one weighted loss."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from torch_estimator._core.export_output import ExportOutput, PredictOutput
from torch_estimator._core.metrics import Mean, Metric
from torch_estimator._core.mode_keys import ModeKeys
from torch_estimator.head._base import Features, Head, record_loss_summaries, sum_regularization
from torch_estimator.head._keys import MetricKeys
from torch_estimator.head._labels import logits_tensor
from torch_estimator.head._outputs import DEFAULT_SERVING_KEY, PREDICT_SERVING_KEY, Signatures

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
        names = []
        for head in heads:
            if head.name is None:
                raise ValueError(f"All given heads must have name specified. Given: {head}")
            names.append(head.name)
        #: ``(name, head)`` in order.
        self._named_heads = tuple(zip(names, heads))
        self._head_weights = tuple(head_weights) if head_weights else None
        self._name = "_".join(names)
        self._regularization_key = f"{MetricKeys.LOSS_REGULARIZATION}/{self._name}"

    @property
    def name(self) -> str:
        return self._name

    @property
    def logits_dimension(self) -> int:
        return sum(h.logits_dimension for _, h in self._named_heads)

    @property
    def loss_reduction(self) -> str:
        reductions = [h.loss_reduction for _, h in self._named_heads]
        if len(set(reductions)) > 1:
            raise ValueError(f"The loss_reduction must be the same for different heads. Given: {reductions}")
        return reductions[0]

    def _checked_logits(self, logits: Any) -> dict[str, Any]:
        """The logits of each head by name: split in head order, or given as a dict."""
        if isinstance(logits, Mapping):
            missing = [name for name, _ in self._named_heads if name not in logits]
            if missing:
                raise ValueError(f"logits has missing values for head(s): {missing}")
            return {name: logits[name] for name, _ in self._named_heads}
        logits = logits_tensor(logits)
        dims = [h.logits_dimension for _, h in self._named_heads]
        shape = list(logits.shape)
        if not shape or shape[-1] != sum(dims):
            raise ValueError(
                f"Could not split logits of shape {shape!r} among the heads with individual logits dimensions: "
                f"{dims!r}. The last dimension of the logits tensor should equal "
                f"{shape[-1] if shape else 0} but is {sum(dims)}."
            )
        return {name: part for (name, _), part in zip(self._named_heads, torch.split(logits, dims, dim=-1))}

    def _checked_labels(self, labels: Any) -> Mapping[str, Any]:
        if not isinstance(labels, Mapping):
            raise ValueError(f"labels must be a dict. Given: {labels}")
        missing = [name for name, _ in self._named_heads if name not in labels]
        if missing:
            raise ValueError(f"labels has missing values for head(s): {missing}")
        return labels

    def _head_losses(self, labels: Any, logits: Any, features: Features | None, mode: str | None) -> list[torch.Tensor]:
        logits_by_head = self._checked_logits(logits)
        labels = self._checked_labels(labels)
        return [h.loss(labels[name], logits_by_head[name], features, mode) for name, h in self._named_heads]

    def _total_loss(self, head_losses: list[torch.Tensor], regularization_losses: Sequence[Any] | None) -> torch.Tensor:
        """``Σ weight_h · loss_h`` plus the sum of ``regularization_losses``."""
        weights = self._head_weights or (1.0,) * len(head_losses)
        weighted = [weight * loss for weight, loss in zip(weights, head_losses)]
        total = sum(weighted[1:], start=weighted[0])
        regularization = sum_regularization(regularization_losses, head_losses[0].device)
        return total + regularization if regularization is not None else total

    def loss(
        self,
        labels: Any,
        logits: Any,
        features: Features | None = None,
        mode: str | None = None,
        regularization_losses: Sequence[Any] | None = None,
    ) -> torch.Tensor:
        """``Σ weight_h · loss_h`` plus the sum of ``regularization_losses``."""
        return self._total_loss(self._head_losses(labels, logits, features, mode), regularization_losses)

    def predictions(self, logits: Any, keys: Sequence[Any] | None = None) -> dict[Any, Any]:
        """Each head's predictions keyed ``(head_name, key)``; ``keys`` may be such tuples."""
        logits_by_head = self._checked_logits(logits)
        out: dict[tuple[str, str], Any] = {}
        for name, head in self._named_heads:
            wanted = None if not keys else [k[1] for k in keys if isinstance(k, tuple) and k[0] == name]
            if keys and not wanted:
                continue
            for key, value in head.predictions(logits_by_head[name], wanted).items():
                out[(name, key)] = value
        return out

    def metrics(self, regularization_losses: Sequence[Any] | None = None) -> dict[str, Metric]:
        eval_metrics: dict[str, Metric] = {}
        for name, head in self._named_heads:
            eval_metrics.update(head.metrics())
            eval_metrics[f"{MetricKeys.LOSS}/{name}"] = Mean(name=MetricKeys.LOSS)
        if regularization_losses is not None:
            eval_metrics[self._regularization_key] = Mean(name=MetricKeys.LOSS_REGULARIZATION)
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
        logits_by_head = self._checked_logits(logits)
        labels = self._checked_labels(labels)
        for name, head in self._named_heads:
            head.update_metrics(eval_metrics, features, logits_by_head[name], labels[name], mode)
            with torch.no_grad():
                loss = head.loss(labels[name], logits_by_head[name], features, mode)
                eval_metrics[f"{MetricKeys.LOSS}/{name}"].update_state(loss)
        if regularization_losses is not None:
            eval_metrics[self._regularization_key].update_state(
                sum_regularization(regularization_losses, torch.device("cpu"))
            )
        return eval_metrics

    def _export_outputs(self, features: Features, logits: Any, predictions: dict[Any, Any]) -> Signatures:
        """Each head's signatures (its default one named after the head, the others ``<head>/<name>``),
        the first head's default as the default, and ``predict`` with every head's predictions."""
        outputs: dict[str, ExportOutput] = {}
        merged: dict[str, Any] = {}
        for name, head in self._named_heads:
            spec = head.create_estimator_spec(features, ModeKeys.PREDICT, logits[name])
            head_outputs = spec.export_outputs or {}
            if not outputs:
                outputs[DEFAULT_SERVING_KEY] = head_outputs[DEFAULT_SERVING_KEY]
            for key, output in head_outputs.items():
                outputs[name if key == DEFAULT_SERVING_KEY else f"{name}/{key}"] = output
            merged.update({f"{name}/{k}": v for k, v in spec.predictions.items()})
        outputs[PREDICT_SERVING_KEY] = PredictOutput(merged)
        return outputs

    def _training_loss(
        self, labels: Any, logits: Any, features: Features, regularization_losses: Sequence[Any] | None
    ) -> torch.Tensor:
        """The weighted loss; summaries ``loss`` (and ``regularization_loss``) and ``loss/<head>``."""
        _ = self.loss_reduction  # raises unless the heads agree on the reduction (they train together)
        head_losses = self._head_losses(labels, logits, features, ModeKeys.TRAIN)
        loss = self._total_loss(head_losses, regularization_losses)
        record_loss_summaries(loss, regularization_losses, lambda key: key)
        for (name, _), head_loss in zip(self._named_heads, head_losses):
            record_loss_summaries(head_loss, None, _suffixed(name))
        return loss


def _suffixed(name: str) -> Callable[[str], str]:
    """``key -> key/name``."""
    return lambda key: f"{key}/{name}"
