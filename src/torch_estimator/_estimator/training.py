"""``train_and_evaluate`` with ``TrainSpec`` and ``EvalSpec``: train, evaluate after every new
checkpoint (throttled), run the exporters after each evaluation, evaluate once more at the end."""

from __future__ import annotations

import collections
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from torch_estimator._engine import hooks as hooks_lib
from torch_estimator._estimator.estimator import Estimator
from torch_estimator._estimator.exporters import Exporter

__all__ = ["TrainSpec", "EvalSpec", "train_and_evaluate"]

logger = logging.getLogger("torch_estimator")


def _check_input_fn(input_fn: Any) -> None:
    if not callable(input_fn):
        raise TypeError(f"`input_fn` must be callable, given: {input_fn}")


def _check_hooks(hooks: Any) -> tuple[hooks_lib.SessionRunHook, ...]:
    return tuple(
        hooks_lib.check_items_type(hooks, hooks_lib.SessionRunHook, "All hooks must be `SessionRunHook` instances")
    )


def _not_exporters(exporters: Any) -> TypeError:
    return TypeError(f"`exporters` must be an Exporter, an iterable of Exporter, or `None`, found {exporters}.")


def _check_exporters(exporters: Any) -> tuple[Exporter, ...]:
    if not exporters:
        return ()
    if isinstance(exporters, Exporter):
        exporters = [exporters]
    try:
        exporters = list(exporters)
    except TypeError:
        raise _not_exporters(exporters) from None
    if not all(isinstance(exporter, Exporter) for exporter in exporters):
        raise _not_exporters(exporters)
    names: list[str] = []
    for exporter in exporters:
        if not exporter.name:
            raise ValueError(
                "An Exporter cannot have a name that is `None` or empty. All exporter names: "
                f"{[e.name for e in exporters]}"
            )
        if not isinstance(exporter.name, str):
            raise ValueError(f"An Exporter must have a string name. Given: {type(exporter.name)}")
        if exporter.name in names:
            raise ValueError(
                "`exporters` must have unique names. Such a name cannot be `None`. All exporter names: "
                f"{[e.name for e in exporters]}"
            )
        names.append(exporter.name)
    return tuple(exporters)


class TrainSpec(collections.namedtuple("TrainSpec", ["input_fn", "max_steps", "hooks", "saving_listeners"])):
    """The training half of ``train_and_evaluate``: ``input_fn``, ``max_steps`` (None: until the
    input ends), training ``hooks`` and checkpoint ``saving_listeners``."""

    def __new__(
        cls,
        input_fn: Callable[..., Any],
        max_steps: int | None = None,
        hooks: Sequence[hooks_lib.SessionRunHook] | None = None,
        saving_listeners: Sequence[hooks_lib.CheckpointSaverListener] | None = None,
    ) -> TrainSpec:
        _check_input_fn(input_fn)
        if max_steps is not None and max_steps <= 0:
            raise ValueError(f"Must specify max_steps > 0, given: {max_steps}")
        listeners = hooks_lib.check_items_type(
            saving_listeners,
            hooks_lib.CheckpointSaverListener,
            "All saving_listeners must be `CheckpointSaverListener` instances",
        )
        return super().__new__(cls, input_fn, max_steps, _check_hooks(hooks), tuple(listeners))


class EvalSpec(
    collections.namedtuple(
        "EvalSpec", ["input_fn", "steps", "name", "hooks", "exporters", "start_delay_secs", "throttle_secs"]
    )
):
    """The evaluation half of ``train_and_evaluate``: ``input_fn``, ``steps`` (None: the whole
    input), the eval ``name``, ``hooks``, ``exporters``, ``start_delay_secs`` (unused when
    training locally, as in TensorFlow) and ``throttle_secs`` (least seconds between evaluations)."""

    def __new__(
        cls,
        input_fn: Callable[..., Any],
        steps: int | None = 100,
        name: str | None = None,
        hooks: Sequence[hooks_lib.SessionRunHook] | None = None,
        exporters: Exporter | Sequence[Exporter] | None = None,
        start_delay_secs: float = 120,
        throttle_secs: float = 600,
    ) -> EvalSpec:
        _check_input_fn(input_fn)
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"`name` must be string, given: {name}")
        if start_delay_secs < 0:
            raise ValueError(f"Must specify start_delay_secs >= 0, given: {start_delay_secs}")
        if throttle_secs < 0:
            raise ValueError(f"Must specify throttle_secs >= 0, given: {throttle_secs}")
        return super().__new__(
            cls,
            input_fn,
            steps,
            name,
            _check_hooks(hooks),
            _check_exporters(exporters),
            start_delay_secs,
            throttle_secs,
        )


class _Evaluator:
    """Evaluates the latest checkpoint (once per checkpoint) and runs the exporters."""

    def __init__(self, estimator: Estimator, eval_spec: EvalSpec, max_training_steps: int | None) -> None:
        self._estimator = estimator
        self._eval_spec = eval_spec
        self._max_training_steps = max_training_steps
        self._previous_checkpoint: str | None = None

    def evaluate_and_export(self) -> tuple[dict[str, Any] | None, list[Any]]:
        checkpoint = self._estimator.latest_checkpoint()
        if not checkpoint:
            logger.warning("Estimator is not trained yet. Will start an evaluation when a checkpoint is ready.")
            return None, []
        if checkpoint == self._previous_checkpoint:
            logger.warning(
                "No new checkpoint ready for evaluation. Skip the current evaluation pass as evaluation results "
                "are expected to be same for the same checkpoint."
            )
            return None, []
        spec = self._eval_spec
        metrics = self._estimator.evaluate(
            spec.input_fn, steps=spec.steps, hooks=list(spec.hooks), checkpoint_path=checkpoint, name=spec.name
        )
        if not metrics:
            raise RuntimeError("Internal error: `Estimator.evaluate` should never return empty metrics.")
        is_final = bool(self._max_training_steps) and metrics["global_step"] >= self._max_training_steps
        export_base = os.path.join(self._estimator.model_dir, "export")
        results = [
            exporter.export(self._estimator, os.path.join(export_base, exporter.name), checkpoint, metrics, is_final)
            for exporter in spec.exporters
        ]
        self._previous_checkpoint = checkpoint
        return metrics, results


class _EvaluateAfterCheckpoint(hooks_lib.CheckpointSaverListener):
    """Evaluates after every checkpoint but the run's first, at most every ``throttle_secs``, and
    once more at the end unless the last checkpoint was just evaluated."""

    def __init__(self, evaluator: _Evaluator, throttle_secs: float) -> None:
        self._evaluator = evaluator
        self._throttle_secs = throttle_secs
        self.eval_result: dict[str, Any] | None = None
        self.export_results: list[Any] = []

    def begin(self) -> None:
        self._timer = hooks_lib.SecondOrStepTimer(every_secs=self._throttle_secs)
        self._first = True

    def after_save(self, session: Any, global_step_value: int) -> bool:
        if self._first:
            self._first = False
            return False
        if self._timer.should_trigger_for_step(global_step_value):
            self._evaluate(global_step_value)
        else:
            logger.info("Skip the current checkpoint eval due to throttle secs (%s secs).", self._throttle_secs)
        return False

    def end(self, session: Any, global_step_value: int) -> None:
        if global_step_value != self._timer.last_triggered_step():
            self._evaluate(global_step_value)

    def _evaluate(self, global_step_value: int) -> None:
        self._timer.update_last_triggered_step(global_step_value)
        result, exports = self._evaluator.evaluate_and_export()
        if result is None:
            raise RuntimeError("There was no new checkpoint after the training. Eval status: no new checkpoint")
        self.eval_result, self.export_results = result, exports


def train_and_evaluate(
    estimator: Estimator, train_spec: TrainSpec, eval_spec: EvalSpec
) -> tuple[dict[str, Any] | None, list[Any]]:
    """Trains ``estimator`` per ``train_spec``, evaluating per ``eval_spec`` after every new
    checkpoint and at the end; returns the last ``(eval_metrics, export_results)``."""
    if not isinstance(estimator, Estimator):
        raise TypeError(f"`estimator` must have type `tf.estimator.Estimator`. Got: {type(estimator)}")
    if not isinstance(train_spec, TrainSpec):
        raise TypeError(f"`train_spec` must have type `tf.estimator.TrainSpec`. Got: {type(train_spec)}")
    if not isinstance(eval_spec, EvalSpec):
        raise TypeError(f"`eval_spec` must have type `tf.estimator.EvalSpec`. Got: {type(eval_spec)}")
    config = estimator.config
    logger.info("Running training and evaluation locally (non-distributed).")
    logger.info(
        "Start train and evaluate loop. The evaluate will happen after every checkpoint. Checkpoint frequency is "
        "determined based on RunConfig arguments: save_checkpoints_steps %s or save_checkpoints_secs %s.",
        config.save_checkpoints_steps,
        config.save_checkpoints_secs,
    )
    listener = _EvaluateAfterCheckpoint(_Evaluator(estimator, eval_spec, train_spec.max_steps), eval_spec.throttle_secs)
    estimator.train(
        train_spec.input_fn,
        hooks=list(train_spec.hooks),
        max_steps=train_spec.max_steps,
        saving_listeners=list(train_spec.saving_listeners) + [listener],
    )
    return listener.eval_result, listener.export_results
