"""``add_metrics``: a copy of an Estimator whose evaluation also reports ``metric_fn``'s metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch_estimator._core.fn_args import call_with_named_args, fn_args
from torch_estimator._core.mode_keys import ModeKeys
from torch_estimator._core.spec import EstimatorSpec
from torch_estimator._estimator.estimator import Estimator, with_model_fn

__all__ = ["add_metrics"]

_METRIC_FN_ARGS = {"features", "labels", "predictions", "config"}


def add_metrics(estimator: Estimator, metric_fn: Callable[..., dict[str, Any]]) -> Estimator:
    """An Estimator like ``estimator`` (same model_dir and config) with extra eval metrics.

    ``metric_fn`` takes any of ``features``, ``labels``, ``predictions``, ``config`` (by name)
    and returns ``{name: te.metrics.Metric}`` updated with the batch, e.g.::

        def exact_auc(labels, predictions):
            return {"auc_exact": te.metrics.ExactAUC().updated(labels, predictions["logistic"])}
    """
    invalid = sorted(set(fn_args(metric_fn)) - _METRIC_FN_ARGS)
    if invalid:
        raise ValueError(f"metric_fn ({metric_fn}) has following not expected args: {invalid}")
    original = estimator.model_fn

    def model_fn(features: Any, labels: Any, mode: str, params: Any, config: Any) -> EstimatorSpec:
        spec = call_with_named_args(
            original, {"features": features}, {"labels": labels, "mode": mode, "params": params, "config": config}
        )
        if not isinstance(spec, EstimatorSpec) and callable(getattr(spec, "estimator_spec", None)):
            spec = spec.estimator_spec()
        if mode != ModeKeys.EVAL:
            return spec
        new = call_with_named_args(
            metric_fn, {}, {"features": features, "labels": labels, "predictions": spec.predictions, "config": config}
        )
        return spec._replace(eval_metric_ops={**spec.eval_metric_ops, **new})

    return with_model_fn(estimator, model_fn)
