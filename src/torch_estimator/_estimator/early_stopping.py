"""Early stopping (``te.experimental.stop_if_*_hook``, ``make_early_stopping_hook``), in-memory
evaluation during training (``InMemoryEvaluatorHook``) and ``make_stop_at_checkpoint_step_hook``.

The stop hooks read evaluation results from the eval directory's event files, as TensorFlow's do.
Besides their ``run_every_secs`` / ``run_every_steps`` timer they also check as soon as new
evaluation results appear there, so a stop never waits for the timer after the evaluation that
meets the condition (with TensorFlow's 60-second default it could run many steps past it).
"""

from __future__ import annotations

import glob
import logging
import operator
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from torch_estimator._engine import events as _events
from torch_estimator._engine import hooks as hooks_lib

if TYPE_CHECKING:
    from torch_estimator._estimator.estimator import Estimator

__all__ = [
    "make_early_stopping_hook",
    "stop_if_higher_hook",
    "stop_if_lower_hook",
    "stop_if_no_increase_hook",
    "stop_if_no_decrease_hook",
    "read_eval_metrics",
    "InMemoryEvaluatorHook",
    "make_stop_at_checkpoint_step_hook",
]

logger = logging.getLogger("torch_estimator")

read_eval_metrics = _events.read_eval_metrics


def _check_estimator(estimator: Any) -> None:
    from torch_estimator._estimator.estimator import Estimator

    if not isinstance(estimator, Estimator):
        raise TypeError(f"`estimator` must have type `tf.estimator.Estimator`. Got: {type(estimator)}")


class _StopOnPredicateHook(hooks_lib.SessionRunHook):
    """Calls ``should_stop_fn`` on its timer (and when ``watch_dir`` gets new events); stops training when it returns True."""

    def __init__(
        self,
        should_stop_fn: Callable[[], bool],
        run_every_secs: float | None,
        run_every_steps: int | None,
        watch_dir: str | None,
    ) -> None:
        if not callable(should_stop_fn):
            raise TypeError("`should_stop_fn` must be callable.")
        self._should_stop_fn = should_stop_fn
        self._timer = hooks_lib.SecondOrStepTimer(every_secs=run_every_secs, every_steps=run_every_steps)
        self._watch_dir = watch_dir
        self._seen: tuple[tuple[str, int], ...] = ()

    def begin(self) -> None:
        self._timer.reset()
        self._seen = self._event_files()

    def _event_files(self) -> tuple[tuple[str, int], ...]:
        if not self._watch_dir:
            return ()
        paths = sorted(glob.glob(os.path.join(self._watch_dir, "events.out.tfevents.*")))
        return tuple((p, os.path.getsize(p)) for p in paths if os.path.exists(p))

    def before_run(self, run_context: hooks_lib.SessionRunContext) -> hooks_lib.SessionRunArgs:
        return hooks_lib.SessionRunArgs("global_step")

    def after_run(self, run_context: hooks_lib.SessionRunContext, run_values: hooks_lib.SessionRunValues) -> None:
        global_step = run_values.results
        files = self._event_files()
        new_results = files != self._seen
        if new_results or self._timer.should_trigger_for_step(global_step):
            self._seen = files
            self._timer.update_last_triggered_step(global_step)
            if self._should_stop_fn():
                logger.info("Requesting early stopping at global step %d", global_step)
                run_context.request_stop()


def make_early_stopping_hook(
    estimator: Estimator,
    should_stop_fn: Callable[[], bool],
    run_every_secs: float | None = 60,
    run_every_steps: int | None = None,
) -> hooks_lib.SessionRunHook:
    """A training hook that stops when ``should_stop_fn()`` returns True (checked every
    ``run_every_secs`` seconds or ``run_every_steps`` steps, exactly one of them)."""
    _check_estimator(estimator)
    if run_every_secs is not None and run_every_steps is not None:
        raise ValueError("Only one of `run_every_secs` and `run_every_steps` must be set.")
    watch = getattr(should_stop_fn, "_eval_dir", None)
    return _StopOnPredicateHook(should_stop_fn, run_every_secs, run_every_steps, watch)


def _threshold_hook(
    estimator: Estimator,
    metric_name: str,
    threshold: float,
    higher_is_better: bool,
    eval_dir: str | None,
    min_steps: int,
    run_every_secs: float | None,
    run_every_steps: int | None,
) -> hooks_lib.SessionRunHook:
    _check_estimator(estimator)
    eval_dir = eval_dir or estimator.eval_dir()
    is_better = operator.gt if higher_is_better else operator.lt
    greater_or_lesser = "greater than" if higher_is_better else "less than"

    def stop_if_threshold_crossed_fn() -> bool:
        for step, metrics in read_eval_metrics(eval_dir).items():
            if step < min_steps:
                continue
            value = _metric(metrics, metric_name, eval_dir)
            if is_better(value, threshold):
                logger.info(
                    'At step %s, metric "%s" has value %s which is %s the stopping threshold %s',
                    step,
                    metric_name,
                    value,
                    greater_or_lesser,
                    threshold,
                )
                return True
        return False

    stop_if_threshold_crossed_fn._eval_dir = eval_dir  # type: ignore[attr-defined]
    return make_early_stopping_hook(estimator, stop_if_threshold_crossed_fn, run_every_secs, run_every_steps)


def _no_improvement_hook(
    estimator: Estimator,
    metric_name: str,
    max_steps_without_improvement: int,
    higher_is_better: bool,
    eval_dir: str | None,
    min_steps: int,
    run_every_secs: float | None,
    run_every_steps: int | None,
) -> hooks_lib.SessionRunHook:
    _check_estimator(estimator)
    eval_dir = eval_dir or estimator.eval_dir()
    is_better = operator.gt if higher_is_better else operator.lt
    increase_or_decrease = "increase" if higher_is_better else "decrease"

    def stop_if_no_metric_improvement_fn() -> bool:
        best_value, best_step = None, None
        for step, metrics in read_eval_metrics(eval_dir).items():
            if step < min_steps:
                continue
            value = _metric(metrics, metric_name, eval_dir)
            if best_value is None or is_better(value, best_value):
                best_value, best_step = value, step
            if step - best_step >= max_steps_without_improvement:  # type: ignore[operator]
                logger.info(
                    'No %s in metric "%s" for %s steps, which is greater than or equal to max steps (%s) configured for early stopping.',
                    increase_or_decrease,
                    metric_name,
                    step - best_step,
                    max_steps_without_improvement,  # type: ignore[operator]
                )
                return True
        return False

    stop_if_no_metric_improvement_fn._eval_dir = eval_dir  # type: ignore[attr-defined]
    return make_early_stopping_hook(estimator, stop_if_no_metric_improvement_fn, run_every_secs, run_every_steps)


def _metric(metrics: dict[str, float], name: str, eval_dir: str) -> float:
    if name not in metrics:
        raise ValueError(f"Metric {name!r} is not among the evaluation results in {eval_dir}: {sorted(metrics)}.")
    return metrics[name]


def stop_if_higher_hook(
    estimator: Estimator,
    metric_name: str,
    threshold: float,
    eval_dir: str | None = None,
    min_steps: int = 0,
    run_every_secs: float | None = 60,
    run_every_steps: int | None = None,
) -> hooks_lib.SessionRunHook:
    """Stops training once an evaluation at step >= ``min_steps`` has ``metric_name`` > ``threshold``."""
    return _threshold_hook(
        estimator, metric_name, threshold, True, eval_dir, min_steps, run_every_secs, run_every_steps
    )


def stop_if_lower_hook(
    estimator: Estimator,
    metric_name: str,
    threshold: float,
    eval_dir: str | None = None,
    min_steps: int = 0,
    run_every_secs: float | None = 60,
    run_every_steps: int | None = None,
) -> hooks_lib.SessionRunHook:
    """Stops training once an evaluation at step >= ``min_steps`` has ``metric_name`` < ``threshold``."""
    return _threshold_hook(
        estimator, metric_name, threshold, False, eval_dir, min_steps, run_every_secs, run_every_steps
    )


def stop_if_no_increase_hook(
    estimator: Estimator,
    metric_name: str,
    max_steps_without_increase: int,
    eval_dir: str | None = None,
    min_steps: int = 0,
    run_every_secs: float | None = 60,
    run_every_steps: int | None = None,
) -> hooks_lib.SessionRunHook:
    """Stops training when ``metric_name`` has not increased for ``max_steps_without_increase`` steps of evaluations."""
    return _no_improvement_hook(
        estimator, metric_name, max_steps_without_increase, True, eval_dir, min_steps, run_every_secs, run_every_steps
    )


def stop_if_no_decrease_hook(
    estimator: Estimator,
    metric_name: str,
    max_steps_without_decrease: int,
    eval_dir: str | None = None,
    min_steps: int = 0,
    run_every_secs: float | None = 60,
    run_every_steps: int | None = None,
) -> hooks_lib.SessionRunHook:
    """Stops training when ``metric_name`` has not decreased for ``max_steps_without_decrease`` steps of evaluations."""
    return _no_improvement_hook(
        estimator, metric_name, max_steps_without_decrease, False, eval_dir, min_steps, run_every_secs, run_every_steps
    )


class InMemoryEvaluatorHook(hooks_lib.SessionRunHook):
    """Evaluates the model being trained every ``every_n_iter`` steps and at the end, in memory
    (no checkpoint written or read), into ``estimator.eval_dir(name)``."""

    def __init__(
        self,
        estimator: Estimator,
        input_fn: Callable[..., Any],
        steps: int | None = None,
        hooks: Sequence[hooks_lib.SessionRunHook] | None = None,
        name: str | None = None,
        every_n_iter: int = 100,
    ) -> None:
        _check_estimator(estimator)
        if every_n_iter is None or every_n_iter <= 0:
            raise ValueError(f"invalid every_n_iter={every_n_iter}.")
        self._estimator = estimator
        self._input_fn = input_fn
        self._steps = steps
        self._hooks = hooks_lib.check_hooks_type(list(hooks or []))
        self._name = name
        self._every_n_iter = every_n_iter
        self.eval_result: dict[str, Any] | None = None

    def begin(self) -> None:
        self._timer = hooks_lib.SecondOrStepTimer(every_steps=self._every_n_iter)
        self._iter_count = 0

    def after_create_session(self, session: Any, coord: Any) -> None:
        self._timer.update_last_triggered_step(0)

    def after_run(self, run_context: hooks_lib.SessionRunContext, run_values: hooks_lib.SessionRunValues) -> None:
        self._iter_count += 1
        if self._timer.should_trigger_for_step(self._iter_count):
            self._timer.update_last_triggered_step(self._iter_count)
            self._evaluate()

    def end(self, session: Any) -> None:
        self._evaluate()

    def _evaluate(self) -> None:
        model = self._estimator._model
        if model is None:
            raise RuntimeError("InMemoryEvaluatorHook runs only inside Estimator.train().")
        self.eval_result = self._estimator._evaluate_model(
            model, self._input_fn, self._steps, list(self._hooks), self._name, None
        )


def make_stop_at_checkpoint_step_hook(
    estimator: Estimator, last_step: int, wait_after_file_check_secs: float = 30
) -> hooks_lib.SessionRunHook:
    """Stops training at ``last_step`` (this process is always the chief: a ``StopAtStepHook``)."""
    _check_estimator(estimator)
    del wait_after_file_check_secs
    return hooks_lib.StopAtStepHook(last_step=last_step)
