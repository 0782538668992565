"""The one loop train, evaluate and predict run: batches -> model_fn -> step, with the hooks around.

The loop owns the order of things, as TensorFlow's ``MonitoredSession`` does: for each batch it
calls the model_fn, starts the hooks after the first call (``begin`` then
``after_create_session``, once the model's variables exist), calls every hook's ``before_run``,
runs the step, resolves each hook's fetches for its ``after_run``, yields the step's output, and
stops when the input ends or a hook requested a stop; the input is closed, then the hooks
``end`` (not when the loop ends by an exception). What a step does is the caller's ``Step``; how
the processes of a data-parallel job agree on going on is the ``Run``'s.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Generator, Iterator
from typing import Any, Generic, TypeVar

from torch_estimator._core.session_run_hook import SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues
from torch_estimator._core.spec import EstimatorSpec
from torch_estimator._engine.parallel import LocalRun, Run
from torch_estimator._engine.session import LoopSession
from torch_estimator._engine.threads import ThreadPolicy

__all__ = ["ModelCall", "Step", "run_loop"]

#: ``call(features, labels)``: the model_fn called on one batch, in the loop's mode.
ModelCall = Callable[[Any, Any], EstimatorSpec]
T = TypeVar("T")
_LOCAL = LocalRun()


class Step(abc.ABC, Generic[T]):
    """What one step of a loop does with the model_fn's ``EstimatorSpec``; the loop does the rest.

    Args:
        model_call: the model_fn called on a batch.
        fetches: what hooks see as ``run_context.original_args.fetches`` (what a step runs).
    """

    def __init__(self, model_call: ModelCall, fetches: list[str]) -> None:
        self._model_call = model_call
        self.run_args = SessionRunArgs(fetches=fetches)

    def call_model(self, features: Any, labels: Any) -> EstimatorSpec:
        """The model_fn's spec for one batch."""
        return self._model_call(features, labels)

    def first_call(self, features: Any, labels: Any) -> EstimatorSpec:
        """The model_fn's spec for the first batch, which creates the model's variables."""
        return self.call_model(features, labels)

    @abc.abstractmethod
    def hooks(self, spec: EstimatorSpec) -> list[SessionRunHook]:
        """All hooks of the loop, given the first batch's spec (which may add some)."""

    @abc.abstractmethod
    def run(self, spec: EstimatorSpec) -> tuple[dict[str, Any], T]:
        """Runs the step; returns the values hooks' fetches resolve against (``'loss'``,
        ``'global_step'`` before the step's update, ``'predictions'``) and the step's output."""


def run_loop(
    step: Step[T],
    batches: Generator[tuple[Any, Any], None, None],
    session: LoopSession,
    run: Run = _LOCAL,
    threads: ThreadPolicy | None = None,
) -> Iterator[T]:
    """Runs ``step`` on each ``(features, labels)`` of ``batches`` with its hooks; yields each
    step's output after the hooks' ``after_run``. ``threads`` sets torch's thread count for the
    loop (timing each step, without the time the consumer of the outputs takes)."""
    hooks: list[SessionRunHook] | None = None
    stop_requested = False
    policy = threads or ThreadPolicy.keep()
    policy.start()
    try:
        while (batch := run.next_batch(batches, stop_requested)) is not None:
            features, labels = batch
            if hooks is None:
                spec = step.first_call(features, labels)
                hooks = step.hooks(spec)
                for hook in hooks:
                    hook.begin()
                for hook in hooks:
                    hook.after_create_session(session, None)
            else:
                spec = step.call_model(features, labels)
            context = SessionRunContext(step.run_args, session)
            requests = [hook.before_run(context) for hook in hooks]
            session.step_values, output = step.run(spec)
            for hook, request in zip(hooks, requests):
                results = None if request is None else session.fetch(request.fetches)
                hook.after_run(context, SessionRunValues(results, None, None))
            policy.step_done()
            yield output
            policy.resume()
            stop_requested = context.stop_requested
    finally:
        policy.stop()
        batches.close()  # stops background input work
    for hook in hooks or ():
        hook.end(session)
