"""The built-in hooks (TensorFlow's ``tf.estimator`` hooks) and the hook-list checks; the
``SessionRunHook`` protocol itself is ``torch_estimator._core.session_run_hook``."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np
import torch

from torch_estimator._core.session_run_hook import (
    CheckpointSaverListener,
    Session,
    SessionRunArgs,
    SessionRunContext,
    SessionRunHook,
    SessionRunValues,
)
from torch_estimator._core.variables import current_store
from torch_estimator._engine import events as _events

__all__ = [
    "SessionRunHook",
    "SessionRunArgs",
    "SessionRunContext",
    "SessionRunValues",
    "CheckpointSaverListener",
    "SecondOrStepTimer",
    "LoggingTensorHook",
    "StopAtStepHook",
    "StepCounterHook",
    "NanTensorHook",
    "NanLossDuringTrainingError",
    "CheckpointSaverHook",
    "SummarySaverHook",
    "FinalOpsHook",
    "GlobalStepWaiterHook",
    "ProfilerHook",
]

logger = logging.getLogger("torch_estimator")


class SecondOrStepTimer:
    """Triggers every ``every_secs`` seconds or every ``every_steps`` steps."""

    def __init__(self, every_secs: float | None = None, every_steps: int | None = None) -> None:
        self.reset()
        self._every_secs = every_secs
        self._every_steps = every_steps
        if every_secs is None and every_steps is None:
            raise ValueError("Either every_secs or every_steps should be provided.")
        if every_secs is not None and every_steps is not None:
            raise ValueError("Can not provide both every_secs and every_steps.")

    def reset(self) -> None:
        self._last_triggered_step: int | None = None
        self._last_triggered_time: float | None = None

    def should_trigger_for_step(self, step: int) -> bool:
        if self._last_triggered_step is None:
            return True
        if self._last_triggered_step == step:
            return False
        if self._every_secs is not None and time.time() >= self._last_triggered_time + self._every_secs:  # type: ignore[operator]
            return True
        if self._every_steps is not None and step >= self._last_triggered_step + self._every_steps:
            return True
        return False

    def update_last_triggered_step(self, step: int) -> tuple[float | None, int | None]:
        now = time.time()
        if self._last_triggered_time is None:
            elapsed: tuple[float | None, int | None] = (None, None)
        else:
            elapsed = (now - self._last_triggered_time, step - self._last_triggered_step)  # type: ignore[operator]
        self._last_triggered_time = now
        self._last_triggered_step = step
        return elapsed

    def last_triggered_step(self) -> int | None:
        return self._last_triggered_step


def _format_value(value: Any) -> str:
    with np.printoptions(suppress=True):
        return str(value)


def _tag_of(fetch: Any, index: int) -> str:
    """A short, one-line tag for a fetch given without one: a name as it is, a variable by its
    name, another tensor by its position, shape and dtype."""
    if isinstance(fetch, str):
        return fetch
    if isinstance(fetch, torch.Tensor):
        try:
            return current_store().name_of(fetch)
        except (RuntimeError, ValueError):  # no store active, or not one of its variables
            dtype = str(fetch.dtype).removeprefix("torch.")
            return f"tensor_{index}[{', '.join(map(str, fetch.shape))}]:{dtype}"
    return f"{type(fetch).__name__}_{index}"


class LoggingTensorHook(SessionRunHook):
    """Logs ``"tag = value, ..."`` every N steps or seconds, and/or at the end.

    Args:
        tensors: dict ``{tag: fetch}`` (logged in sorted tag order), or a list of fetches (names,
            or tensors: tagged by variable name, else ``tensor_<i>[shape]:dtype``).
        every_n_iter / every_n_secs: exactly one, unless only ``at_end``.
        at_end: also log at the end.
        formatter: callable ``{tag: value} -> str`` replacing the default line.
    """

    def __init__(
        self,
        tensors: dict[str, Any] | Sequence[str],
        every_n_iter: int | None = None,
        every_n_secs: float | None = None,
        at_end: bool = False,
        formatter: Callable[[dict[str, Any]], str] | None = None,
    ) -> None:
        only_log_at_end = at_end and every_n_iter is None and every_n_secs is None
        if not only_log_at_end and (every_n_iter is None) == (every_n_secs is None):
            raise ValueError("either at_end and/or exactly one of every_n_iter and every_n_secs must be provided.")
        if every_n_iter is not None and every_n_iter <= 0:
            raise ValueError(f"invalid every_n_iter={every_n_iter}.")
        if isinstance(tensors, dict):
            self._tag_order = sorted(tensors)
            self._tensors = dict(tensors)
        else:
            tags = [_tag_of(t, i) for i, t in enumerate(tensors)]
            self._tag_order = list(dict.fromkeys(tags))
            self._tensors = dict(zip(tags, tensors))
        self._timer = (
            _NeverTriggerTimer()
            if only_log_at_end
            else SecondOrStepTimer(every_secs=every_n_secs, every_steps=every_n_iter)
        )
        self._log_at_end = at_end
        self._formatter = formatter

    def begin(self) -> None:
        self._timer.reset()
        self._iter_count = 0

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs | None:
        self._should_trigger = self._timer.should_trigger_for_step(self._iter_count)
        return SessionRunArgs(self._tensors) if self._should_trigger else None

    def _log(self, values: dict[str, Any]) -> None:
        elapsed, _ = self._timer.update_last_triggered_step(self._iter_count)
        if self._formatter is not None:
            logger.info(self._formatter(values))
            return
        line = ", ".join(f"{tag} = {_format_value(values[tag])}" for tag in self._tag_order)
        if elapsed is not None:
            logger.info("%s (%.3f sec)", line, elapsed)
        else:
            logger.info("%s", line)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        if self._should_trigger:
            self._log(run_values.results)
        self._iter_count += 1

    def end(self, session: Session) -> None:
        if self._log_at_end:
            self._log(session.run(self._tensors))


class _NeverTriggerTimer(SecondOrStepTimer):
    def __init__(self) -> None:
        self.reset()

    def should_trigger_for_step(self, step: int) -> bool:
        return False


class StopAtStepHook(SessionRunHook):
    """Requests a stop after ``num_steps`` more steps, or once the global step reaches ``last_step``."""

    def __init__(self, num_steps: int | None = None, last_step: int | None = None) -> None:
        if num_steps is None and last_step is None:
            raise ValueError("One of num_steps or last_step must be specified.")
        if num_steps is not None and last_step is not None:
            raise ValueError("Only one of num_steps or last_step can be specified.")
        self._num_steps = num_steps
        self._last_step = last_step

    def after_create_session(self, session: Session, coord: Any) -> None:
        if self._last_step is None:
            self._last_step = int(session.run("global_step")) + int(self._num_steps)  # type: ignore[arg-type]

    @property
    def last_step(self) -> int | None:
        return self._last_step

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs("global_step")

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        if run_values.results + 1 >= self._last_step:
            run_context.request_stop()


class StepCounterHook(SessionRunHook):
    """Logs ``global_step/sec: X`` and writes it as a summary every N steps or seconds."""

    def __init__(
        self,
        every_n_steps: int | None = 100,
        every_n_secs: float | None = None,
        output_dir: str | None = None,
        summary_writer: _events.SummaryWriter | None = None,
    ) -> None:
        if (every_n_steps is None) == (every_n_secs is None):
            raise ValueError("exactly one of every_n_steps and every_n_secs should be provided.")
        self._timer = SecondOrStepTimer(every_steps=every_n_steps, every_secs=every_n_secs)
        self._output_dir = output_dir
        self._summary_writer = summary_writer

    def begin(self) -> None:
        if self._summary_writer is None and self._output_dir:
            self._summary_writer = _events.writer_for(self._output_dir)

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs("global_step")

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        global_step = run_values.results + 1
        if self._timer.should_trigger_for_step(global_step):
            elapsed_time, elapsed_steps = self._timer.update_last_triggered_step(global_step)
            if elapsed_time is not None and elapsed_time > 0:
                steps_per_sec = elapsed_steps / elapsed_time  # type: ignore[operator]
                if self._summary_writer is not None:
                    self._summary_writer.add_scalars({"global_step/sec": steps_per_sec}, global_step)
                logger.info("global_step/sec: %g", steps_per_sec)


class ProfilerHook(SessionRunHook):
    """Profiles one step every ``save_steps`` steps or ``save_secs`` seconds (not the first: the
    timer starts with it) and writes its trace to ``output_dir/timeline-<global step>.json``
    (Chrome trace format, as TensorFlow's timelines; open in chrome://tracing or Perfetto).

    The trace is ``torch.profiler``'s: CPU operators, and CUDA kernels where the model runs on a
    GPU; ``show_memory`` records tensor allocations. ``show_dataflow`` (TF's graph dataflow
    arrows) has no torch counterpart and is accepted for compatibility.
    """

    def __init__(
        self,
        save_steps: int | None = None,
        save_secs: float | None = None,
        output_dir: str = "",
        show_dataflow: bool = True,
        show_memory: bool = False,
    ) -> None:
        self._output_file = os.path.join(output_dir, "timeline-{}.json")
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)
        self._show_memory = show_memory
        self._profiler: Any = None

    def begin(self) -> None:
        self._next_step: int | None = None

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        request = self._next_step is not None and self._timer.should_trigger_for_step(self._next_step)
        if request:
            import torch.profiler as profiler

            activities = [profiler.ProfilerActivity.CPU]
            if torch.cuda.is_available():
                activities.append(profiler.ProfilerActivity.CUDA)
            self._profiler = profiler.profile(activities=activities, profile_memory=self._show_memory)
            self._profiler.__enter__()
        return SessionRunArgs("global_step")

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        stale_global_step = int(run_values.results)
        if self._next_step is None:  # the timer starts here, so the first trace is N steps or seconds later
            self._timer.update_last_triggered_step(stale_global_step)
        global_step = stale_global_step + 1
        if self._profiler is not None:
            profiler, self._profiler = self._profiler, None
            profiler.__exit__(None, None, None)
            self._timer.update_last_triggered_step(global_step)
            self._save(profiler, self._output_file.format(global_step))
        self._next_step = global_step + 1

    def end(self, session: Session) -> None:
        if self._profiler is not None:  # a step that raised: close the profiler, write nothing
            self._profiler.__exit__(None, None, None)
            self._profiler = None

    @staticmethod
    def _save(profiler: Any, path: str) -> None:
        """Writes the trace to ``path`` atomically (a temporary file beside it, then renamed)."""
        directory = os.path.dirname(path) or "."
        os.makedirs(directory, exist_ok=True)
        temporary = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
        profiler.export_chrome_trace(temporary)
        os.replace(temporary, path)
        logger.info("Saved profile trace for step %s to %s", os.path.basename(path)[9:-5], path)


class GlobalStepWaiterHook(SessionRunHook):
    """Holds training back until the global step reaches ``wait_until_step`` (TF uses it to start
    non-chief workers late).

    Here every replica takes each step together, so the global step moves only when this loop
    steps: a step below ``wait_until_step`` can never be reached by waiting, and ``before_run``
    raises instead of waiting forever. At or past it, the hook does nothing.
    """

    def __init__(self, wait_until_step: int) -> None:
        self._wait_until_step = int(wait_until_step)
        self._done = self._wait_until_step <= 0

    def before_run(self, run_context: SessionRunContext) -> None:
        if self._done:
            return None
        step = int(run_context.session.run("global_step"))
        if step < self._wait_until_step:
            raise RuntimeError(
                f"GlobalStepWaiterHook(wait_until_step={self._wait_until_step}): the global step is {step} and only "
                "this training loop advances it, so waiting would never end. Start the hook's training at or "
                "past that step, or drop the hook."
            )
        self._done = True
        return None


class NanLossDuringTrainingError(RuntimeError):
    """Raised by ``NanTensorHook`` when the loss is NaN."""

    def __str__(self) -> str:
        return "NaN loss during training."


class NanTensorHook(SessionRunHook):
    """Checks the loss after every step: NaN raises ``NanLossDuringTrainingError`` (or stops)."""

    def __init__(self, loss_tensor: Any = "loss", fail_on_nan_loss: bool = True) -> None:
        self._loss_tensor = loss_tensor
        self._fail_on_nan_loss = fail_on_nan_loss

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs(self._loss_tensor)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        if np.isnan(run_values.results):
            message = "Model diverged with loss = NaN."
            if self._fail_on_nan_loss:
                logger.error(message)
                raise NanLossDuringTrainingError
            logger.warning(message)
            run_context.request_stop()


class CheckpointSaverHook(SessionRunHook):
    """Saves a checkpoint when the model is ready, every N steps or seconds, and at the end."""

    def __init__(
        self,
        checkpoint_dir: str,
        save_secs: float | None = None,
        save_steps: int | None = None,
        saver: Any = None,
        checkpoint_basename: str = "model.ckpt",
        scaffold: Any = None,
        listeners: Sequence[CheckpointSaverListener] | None = None,
        save_graph_def: bool = True,
    ) -> None:
        logger.info("Create CheckpointSaverHook.")
        if saver is not None and scaffold is not None:
            raise ValueError("You cannot provide both saver and scaffold.")
        self._checkpoint_dir = checkpoint_dir
        self._basename = checkpoint_basename
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)
        self._listeners = check_listeners_type(listeners)

    def add_listeners(self, listeners: Sequence[CheckpointSaverListener]) -> None:
        """Adds ``listeners`` after those given at construction (before the hook's ``begin``):
        how ``train(saving_listeners=...)`` reaches a CheckpointSaverHook the model_fn made."""
        self._listeners += check_listeners_type(listeners)

    def begin(self) -> None:
        for listener in self._listeners:
            listener.begin()

    def after_create_session(self, session: Session, coord: Any) -> None:
        global_step = int(session.run("global_step"))
        self._save(session, global_step)
        self._timer.update_last_triggered_step(global_step)

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs("global_step")

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        global_step = run_values.results + 1
        if self._timer.should_trigger_for_step(global_step):
            self._timer.update_last_triggered_step(global_step)
            if self._save(run_context.session, global_step):
                run_context.request_stop()

    def end(self, session: Session) -> None:
        last_step = int(session.run("global_step"))
        if last_step != self._timer.last_triggered_step():
            self._save(session, last_step)
        for listener in self._listeners:
            listener.end(session, last_step)

    def _save(self, session: Session, step: int) -> bool:
        logger.info("Calling checkpoint listeners before saving checkpoint %d...", step)
        for listener in self._listeners:
            listener.before_save(session, step)
        logger.info("Saving checkpoints for %d into %s.", step, os.path.join(self._checkpoint_dir, self._basename))
        session.save(self._checkpoint_dir, self._basename)
        logger.info("Calling checkpoint listeners after saving checkpoint %d...", step)
        should_stop = False
        for listener in self._listeners:
            if listener.after_save(session, step):
                logger.info("A CheckpointSaverListener requested that training be stopped. listener: %s", listener)
                should_stop = True
        return should_stop


class SummarySaverHook(SessionRunHook):
    """Writes the step's summaries (``te.summary.scalar`` values, the loss) every N steps/seconds.

    Summaries are written at global steps 1, 1+k, 1+2k, ... (k = ``save_steps``), as in
    TensorFlow. ``summary_op`` may name a subset of summary tags to write (default: all).
    """

    def __init__(
        self,
        save_steps: int | None = None,
        save_secs: float | None = None,
        output_dir: str | None = None,
        summary_writer: _events.SummaryWriter | None = None,
        scaffold: Any = None,
        summary_op: Sequence[str] | None = None,
    ) -> None:
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)
        self._output_dir = output_dir
        self._summary_writer = summary_writer
        self._tags = None if summary_op is None else set(summary_op)

    def begin(self) -> None:
        if self._summary_writer is None and self._output_dir:
            self._summary_writer = _events.writer_for(self._output_dir)
        self._next_step: int | None = None

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        self._request_summary = self._next_step is None or self._timer.should_trigger_for_step(self._next_step)
        fetches: dict[str, Any] = {"global_step": "global_step"}
        if self._request_summary:
            fetches["summary"] = "summaries"
        return SessionRunArgs(fetches)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        global_step = run_values.results["global_step"] + 1
        if self._request_summary:
            self._timer.update_last_triggered_step(global_step)
            summaries = run_values.results.get("summary") or {}
            scalars = {}
            for tag, value in summaries.items():
                if self._tags is not None and tag not in self._tags:
                    continue
                array = np.asarray(value)
                if array.size == 1:
                    scalars[tag] = float(array.reshape(()))
                elif self._summary_writer is not None:
                    self._summary_writer.add_histogram(tag, array, global_step)
            if scalars and self._summary_writer is not None:
                self._summary_writer.add_scalars(scalars, global_step)
        self._next_step = global_step + 1

    def end(self, session: Session) -> None:
        if self._summary_writer is not None:
            self._summary_writer.flush()


class FinalOpsHook(SessionRunHook):
    """Fetches ``final_ops`` at the end of the loop; read them from ``final_ops_values``."""

    def __init__(self, final_ops: Any, final_ops_feed_dict: Any = None) -> None:
        self._final_ops = final_ops
        self._final_ops_values: Any = None

    @property
    def final_ops_values(self) -> Any:
        return self._final_ops_values

    def end(self, session: Session) -> None:
        if self._final_ops is not None:
            self._final_ops_values = session.run(self._final_ops)


T = TypeVar("T")


def check_items_type(items: Iterable[Any] | None, kind: type[T], message: str) -> list[T]:
    """``items`` (None: none) as a list, each checked to be a ``kind``: else TypeError
    ``"<message>, given: <item>"``."""
    checked = list(items or [])
    for item in checked:
        if not isinstance(item, kind):
            raise TypeError(f"{message}, given: {item}")
    return checked


def check_hooks_type(hooks: Iterable[Any] | None) -> list[SessionRunHook]:
    """``hooks`` as a list, each checked to be a ``SessionRunHook``."""
    return check_items_type(hooks, SessionRunHook, "Hooks must be a SessionRunHook")


def check_listeners_type(listeners: Iterable[Any] | None) -> list[CheckpointSaverListener]:
    """``listeners`` as a list, each checked to be a ``CheckpointSaverListener``."""
    return check_items_type(
        listeners, CheckpointSaverListener, "saving_listeners must be a list of CheckpointSaverListener"
    )
