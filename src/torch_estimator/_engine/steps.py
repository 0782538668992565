"""The steps the loop runs for ``train()``, ``evaluate()`` and ``predict()``.

* ``TrainStep``: the spec's ``train_op`` (through the ``Run``: gradients averaged across the
  workers of a data-parallel job), then the global step increment; TensorFlow's default training
  hooks around it.
* ``EvalStep``: accumulates the spec's metrics and the mean loss, without gradients.
* ``PredictStep``: the spec's predictions (``predict_keys`` of them) as numpy, without gradients.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from torch_estimator._core.metrics import Metric
from torch_estimator._core.spec import EstimatorSpec
from torch_estimator._core.variables import VariableStore
from torch_estimator._engine import hooks as hooks_lib
from torch_estimator._engine.parallel import Run
from torch_estimator._engine.run_config import RunConfig
from torch_estimator._engine.run_loop import ModelCall, Step
from torch_estimator._engine.session import to_numpy
from torch_estimator._engine.warm_start import WarmStarter

__all__ = ["TrainStep", "EvalStep", "PredictStep", "training_hooks"]

logger = logging.getLogger("torch_estimator")


def training_hooks(
    config: RunConfig,
    user_hooks: Sequence[hooks_lib.SessionRunHook],
    spec: EstimatorSpec,
    listeners: Sequence[hooks_lib.CheckpointSaverListener],
) -> list[hooks_lib.SessionRunHook]:
    """All hooks of a ``train()`` call, in TensorFlow's order: the chief's (step counter,
    summaries, checkpoints; only the chief runs them), then every worker's (the user's, NaN check,
    loss logging, the spec's). ``listeners`` go to the CheckpointSaverHook."""
    model_dir = config.model_dir
    chief: list[hooks_lib.SessionRunHook] = list(spec.training_chief_hooks)
    if config.log_step_count_steps:
        chief.append(hooks_lib.StepCounterHook(every_n_steps=config.log_step_count_steps, output_dir=model_dir))
    if config.save_summary_steps:
        chief.append(hooks_lib.SummarySaverHook(save_steps=config.save_summary_steps, output_dir=model_dir))
    workers: list[hooks_lib.SessionRunHook] = [*user_hooks, hooks_lib.NanTensorHook("loss")]
    if config.log_step_count_steps:
        workers.append(
            hooks_lib.LoggingTensorHook(
                {"loss": "loss", "step": "global_step"}, every_n_iter=config.log_step_count_steps
            )
        )
    workers += list(spec.training_hooks)
    savers = [h for h in chief + workers if isinstance(h, hooks_lib.CheckpointSaverHook)]
    if savers:
        savers[0].add_listeners(listeners)
    elif config.save_checkpoints_secs or config.save_checkpoints_steps:
        chief.append(
            hooks_lib.CheckpointSaverHook(
                model_dir,
                save_secs=config.save_checkpoints_secs,
                save_steps=config.save_checkpoints_steps,
                listeners=listeners,
            )
        )
    elif listeners:
        raise ValueError(
            "There should be a CheckpointSaverHook to use saving_listeners. Please set one of the "
            "RunConfig.save_checkpoints_steps or RunConfig.save_checkpoints_secs."
        )
    return (chief if config.is_chief else []) + workers


class TrainStep(Step[None]):
    """Runs the spec's ``train_op`` and increments the global step.

    Args:
        model_call: the model_fn in TRAIN mode.
        store: the model's variable store.
        run: a ``LocalRun`` or a ``DataParallelRun``.
        config: the Estimator's config (its default hooks).
        user_hooks: the ``train()`` call's hooks.
        listeners: the ``train()`` call's saving listeners.
        warm_starter: the warm starter to finish after the first model_fn call (None: none).
    """

    def __init__(
        self,
        model_call: ModelCall,
        store: VariableStore,
        run: Run,
        config: RunConfig,
        user_hooks: Sequence[hooks_lib.SessionRunHook],
        listeners: Sequence[hooks_lib.CheckpointSaverListener],
        warm_starter: WarmStarter | None,
    ) -> None:
        super().__init__(model_call, ["train_op", "loss"])
        self._store = store
        self._run = run
        self._config = config
        self._user_hooks = user_hooks
        self._listeners = listeners
        self._warm_starter = warm_starter
        #: Steps taken so far, and the loss of the latest one.
        self.steps = 0
        self.last_loss: torch.Tensor | None = None

    def first_call(self, features: Any, labels: Any) -> EstimatorSpec:
        logger.info("Calling model_fn.")
        spec = self.call_model(features, labels)
        logger.info("Done calling model_fn.")
        if self._warm_starter is not None:
            logger.info("Warm-starting with WarmStartSettings: %s", self._warm_starter.settings)
            self._warm_starter.finish()
        return spec

    def hooks(self, spec: EstimatorSpec) -> list[hooks_lib.SessionRunHook]:
        return training_hooks(self._config, self._user_hooks, spec, self._listeners)

    def run(self, spec: EstimatorSpec) -> tuple[dict[str, Any], None]:
        store = self._store
        step = store.global_step
        assert spec.train_op is not None, "an EstimatorSpec for TRAIN has a train_op"
        self._run.apply(spec.train_op)
        if not self.steps:
            self._run.check_same_variables(store)
        store.global_step = step + 1
        self.steps += 1
        self.last_loss = spec.loss
        return {"loss": spec.loss, "global_step": step, "predictions": spec.predictions}, None


class _InferenceStep(Step[Any]):
    """A step whose model_fn calls record no gradients."""

    def __init__(
        self,
        model_call: ModelCall,
        fetches: list[str],
        store: VariableStore,
        user_hooks: list[hooks_lib.SessionRunHook],
    ) -> None:
        super().__init__(model_call, fetches)
        self._store = store
        self._user_hooks = user_hooks

    def call_model(self, features: Any, labels: Any) -> EstimatorSpec:
        with torch.no_grad():
            return self._model_call(features, labels)


class EvalStep(_InferenceStep):
    """Merges each batch's metrics into the first batch's and sums the losses.

    ``steps``, when given, is how many batches evaluation runs (for the progress log lines).
    """

    def __init__(
        self,
        model_call: ModelCall,
        store: VariableStore,
        user_hooks: list[hooks_lib.SessionRunHook],
        steps: int | None,
    ) -> None:
        super().__init__(model_call, ["loss"], store, user_hooks)
        self._steps = steps
        self.metrics: dict[str, Metric] = {}
        self._loss_sum = torch.zeros((), dtype=torch.float64)
        self.batches = 0

    def hooks(self, spec: EstimatorSpec) -> list[hooks_lib.SessionRunHook]:
        return self._user_hooks + list(spec.evaluation_hooks)

    def run(self, spec: EstimatorSpec) -> tuple[dict[str, Any], None]:
        _merge_metrics(self.metrics, spec.eval_metric_ops, first=self.batches == 0)
        assert spec.loss is not None, "an EstimatorSpec for EVAL has a loss"
        self._loss_sum = self._loss_sum + spec.loss.detach().to(torch.float64).cpu()
        self.batches += 1
        steps = self._steps
        if steps is not None and (steps < 20 or self.batches % max(1, steps // 10) == 0 or self.batches == steps):
            logger.info("Evaluation [%d/%d]", self.batches, steps)
        return {"loss": spec.loss, "global_step": self._store.global_step, "predictions": spec.predictions}, None

    def results(self) -> dict[str, Any]:
        """The metrics' results, the mean loss (NaN without batches) and the global step."""
        results: dict[str, Any] = {k: np.float32(m.result().item()) for k, m in self.metrics.items()}
        results["loss"] = np.float32(self._loss_sum.item() / self.batches) if self.batches else np.float32("nan")
        results["global_step"] = self._store.global_step
        return results


class PredictStep(_InferenceStep):
    """Yields the predictions of each batch (``predict_keys`` of them) as numpy values."""

    def __init__(
        self,
        model_call: ModelCall,
        store: VariableStore,
        user_hooks: list[hooks_lib.SessionRunHook],
        predict_keys: list[str] | None,
    ) -> None:
        super().__init__(model_call, ["predictions"], store, user_hooks)
        self._predict_keys = predict_keys

    def call_model(self, features: Any, labels: Any) -> EstimatorSpec:
        with torch.no_grad():
            return self._model_call(features, None)  # labels an input_fn returns are not the model's

    def hooks(self, spec: EstimatorSpec) -> list[hooks_lib.SessionRunHook]:
        return self._user_hooks + list(spec.prediction_hooks)

    def run(self, spec: EstimatorSpec) -> tuple[dict[str, Any], Any]:
        predictions = _extract_keys(spec.predictions, self._predict_keys)
        predictions = (
            {k: to_numpy(v) for k, v in predictions.items()} if isinstance(predictions, dict) else to_numpy(predictions)
        )
        return {"global_step": self._store.global_step, "predictions": spec.predictions}, predictions


def _merge_metrics(accumulated: dict[str, Metric], batch: dict[str, Metric], first: bool) -> None:
    if first:
        accumulated.update(batch)
        return
    if set(batch) != set(accumulated):
        raise ValueError(
            f"model_fn returned eval_metric_ops {sorted(batch)} for this batch but {sorted(accumulated)} "
            "for the first batch; every batch must return the same metrics."
        )
    for key, metric in batch.items():
        if metric is not accumulated[key]:
            accumulated[key].merge_state(metric)


def _extract_keys(predictions: Any, predict_keys: list[str] | None) -> Any:
    if not predict_keys:
        return predictions
    if not isinstance(predictions, dict):
        raise ValueError("predict_keys argument is not valid in case of non-dict predictions.")
    existing = list(predictions.keys())
    kept = {k: v for k, v in predictions.items() if k in predict_keys}
    if not kept:
        raise ValueError(f"Expected to run at least one output from {existing}, provided {predict_keys}.")
    return kept
