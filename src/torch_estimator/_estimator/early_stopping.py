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
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from torch_estimator._engine import events as _events
from torch_estimator._engine import hooks as hooks_lib
from torch_estimator._estimator.estimator import Estimator, evaluate_resident_model

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
    if not isinstance(estimator, Estimator):
        raise TypeError(f"`estimator` must have type `tf.estimator.Estimator`. Got: {type(estimator)}")


class _StopOnPredicateHook(hooks_lib.SessionRunHook):
    """Calls ``should_stop_fn`` on its timer (and when ``watch_dir`` gets new events); stops training
    when it returns True."""

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
    return _stop_hook(should_stop_fn, run_every_secs, run_every_steps, None)


def _stop_hook(
    should_stop_fn: Callable[[], bool],
    run_every_secs: float | None,
    run_every_steps: int | None,
    watch_dir: str | None,
) -> hooks_lib.SessionRunHook:
    if run_every_secs is not None and run_every_steps is not None:
        raise ValueError("Only one of `run_every_secs` and `run_every_steps` must be set.")
    return _StopOnPredicateHook(should_stop_fn, run_every_secs, run_every_steps, watch_dir)


#: ``should_stop(evaluations, eval_dir)``: a stop condition over ``{step: {metric: value}}``.
_Condition = Callable[[dict[int, dict[str, float]], str], bool]


def _metric_stop_hook(
    estimator: Estimator,
    condition: _Condition,
    eval_dir: str | None,
    run_every_secs: float | None,
    run_every_steps: int | None,
) -> hooks_lib.SessionRunHook:
    """A hook stopping training when ``condition`` holds for the evaluations in ``eval_dir``
    (default: the estimator's), checked on the timer and whenever new evaluations appear."""
    _check_estimator(estimator)
    directory = eval_dir or estimator.eval_dir()
    return _stop_hook(
        lambda: condition(read_eval_metrics(directory), directory), run_every_secs, run_every_steps, directory
    )


def _values(
    evaluations: dict[int, dict[str, float]], metric_name: str, min_steps: int, eval_dir: str
) -> Iterator[tuple[int, float]]:
    """``(step, value of metric_name)`` of the evaluations at steps >= ``min_steps``, in step order."""
    for step, metrics in evaluations.items():
        if step >= min_steps:
            if metric_name not in metrics:
                raise ValueError(
                    f"Metric {metric_name!r} is not among the evaluation results in {eval_dir}: {sorted(metrics)}."
                )
            yield step, metrics[metric_name]


def _crossed(metric_name: str, threshold: float, higher_is_better: bool, min_steps: int) -> _Condition:
    """True once an evaluation has ``metric_name`` beyond ``threshold``."""
    is_better = operator.gt if higher_is_better else operator.lt
    greater_or_lesser = "greater than" if higher_is_better else "less than"

    def stop_if_threshold_crossed(evaluations: dict[int, dict[str, float]], eval_dir: str) -> bool:
        for step, value in _values(evaluations, metric_name, min_steps, eval_dir):
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

    return stop_if_threshold_crossed


def _not_improved(metric_name: str, max_steps: int, higher_is_better: bool, min_steps: int) -> _Condition:
    """True once ``metric_name`` has not improved on its best for ``max_steps`` steps of evaluations."""
    is_better = operator.gt if higher_is_better else operator.lt
    increase_or_decrease = "increase" if higher_is_better else "decrease"

    def stop_if_no_metric_improvement(evaluations: dict[int, dict[str, float]], eval_dir: str) -> bool:
        best: tuple[int, float] | None = None
        for step, value in _values(evaluations, metric_name, min_steps, eval_dir):
            if best is None or is_better(value, best[1]):
                best = (step, value)
            if step - best[0] >= max_steps:
                logger.info(
                    'No %s in metric "%s" for %s steps, which is greater than or equal to max steps (%s) '
                    "configured for early stopping.",
                    increase_or_decrease,
                    metric_name,
                    step - best[0],
                    max_steps,
                )
                return True
        return False

    return stop_if_no_metric_improvement


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
    return _metric_stop_hook(
        estimator, _crossed(metric_name, threshold, True, min_steps), eval_dir, run_every_secs, run_every_steps
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
    return _metric_stop_hook(
        estimator, _crossed(metric_name, threshold, False, min_steps), eval_dir, run_every_secs, run_every_steps
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
    condition = _not_improved(metric_name, max_steps_without_increase, True, min_steps)
    return _metric_stop_hook(estimator, condition, eval_dir, run_every_secs, run_every_steps)


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
    condition = _not_improved(metric_name, max_steps_without_decrease, False, min_steps)
    return _metric_stop_hook(estimator, condition, eval_dir, run_every_secs, run_every_steps)


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
        self.eval_result = evaluate_resident_model(
            self._estimator, self._input_fn, self._steps, list(self._hooks), self._name
        )


def make_stop_at_checkpoint_step_hook(
    estimator: Estimator, last_step: int, wait_after_file_check_secs: float = 30
) -> hooks_lib.SessionRunHook:
    """Stops training at ``last_step`` (this process is always the chief: a ``StopAtStepHook``)."""
    _check_estimator(estimator)
    del wait_after_file_check_secs
    return hooks_lib.StopAtStepHook(last_step=last_step)
