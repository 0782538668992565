"""TensorFlow's ``SessionRunHook`` protocol: the hook base class, its arguments and values, and
``CheckpointSaverListener``. The built-in hooks live in ``torch_estimator._engine.hooks``.

A hook's ``before_run`` may return ``SessionRunArgs(fetches)``; fetches are names resolved at
the end of the step (``'loss'``, ``'global_step'``, ``'summaries'``, a prediction key or a
variable name), tensors, or zero-argument callables, nested in lists/tuples/dicts.
``'global_step'`` fetched this way is the step's value *before* its update, as in TensorFlow;
``run_context.session.run('global_step')`` afterwards gives the current value.
"""

from __future__ import annotations

import collections
from typing import Any, Protocol

__all__ = [
    "Session",
    "SessionRunHook",
    "SessionRunArgs",
    "SessionRunContext",
    "SessionRunValues",
    "CheckpointSaverListener",
]


class Session(Protocol):
    """What hooks see of a running train/evaluate/predict loop."""

    model_dir: str

    def run(self, fetches: Any) -> Any: ...

    def save(self, checkpoint_dir: str, basename: str) -> str: ...


class SessionRunArgs(collections.namedtuple("SessionRunArgs", ["fetches", "feed_dict", "options"])):
    """What a hook asks to fetch in the coming step (``feed_dict``/``options`` are ignored)."""

    def __new__(cls, fetches: Any, feed_dict: Any = None, options: Any = None) -> SessionRunArgs:
        return super().__new__(cls, fetches, feed_dict, options)


class SessionRunValues(collections.namedtuple("SessionRunValues", ["results", "options", "run_metadata"])):
    """The fetched values, in the structure of the hook's fetches."""


class SessionRunContext:
    """Passed to ``before_run``/``after_run``; a hook calls ``request_stop()`` to end the loop."""

    def __init__(self, original_args: SessionRunArgs, session: Session) -> None:
        self._original_args = original_args
        self._session = session
        self._stop_requested = False

    @property
    def original_args(self) -> SessionRunArgs:
        return self._original_args

    @property
    def session(self) -> Session:
        return self._session

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    def request_stop(self) -> None:
        self._stop_requested = True


class SessionRunHook:
    """Base class of hooks: every method is optional."""

    def begin(self) -> None:
        """Called once before the loop, after the model_fn has run for the first batch."""

    def after_create_session(self, session: Session, coord: Any) -> None:
        """Called once when the model's state is ready (restored or initialised)."""

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs | None:
        """Called before each step; may return what to fetch."""
        return None

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        """Called after each step with the fetched values."""

    def end(self, session: Session) -> None:
        """Called at the end of the loop (not when it ends by an exception)."""


class CheckpointSaverListener:
    """Called around every checkpoint save; ``after_save`` returning True stops training."""

    def begin(self) -> None:
        pass

    def before_save(self, session: Session, global_step_value: int) -> None:
        pass

    def after_save(self, session: Session, global_step_value: int) -> bool | None:
        return None

    def end(self, session: Session, global_step_value: int) -> None:
        pass
