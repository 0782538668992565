"""The one loop train, evaluate and predict share (``_engine/run_loop.py``), driven by a toy step:
the order of hook calls, fetches, stop requests, closing the input, and what happens on errors."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
import torch

import torch_estimator as te
from torch_estimator._core.variables import VariableStore
from torch_estimator._engine.hooks import CheckpointSaverHook, CheckpointSaverListener
from torch_estimator._engine.parallel import LocalRun
from torch_estimator._engine.run_loop import Step, run_loop
from torch_estimator._engine.session import LoopSession


class Log(te.SessionRunHook):
    """Records every call, with what it was given."""

    def __init__(self, calls: list[Any], fetches: Any = "loss", stop_after: int | None = None) -> None:
        self.calls = calls
        self.fetches = fetches
        self.stop_after = stop_after
        self.runs = 0

    def begin(self) -> None:
        self.calls.append("begin")

    def after_create_session(self, session: Any, coord: Any) -> None:
        self.calls.append("after_create_session")

    def before_run(self, run_context: te.SessionRunContext) -> te.SessionRunArgs:
        self.calls.append(("before_run", run_context.original_args.fetches))
        return te.SessionRunArgs(self.fetches)

    def after_run(self, run_context: te.SessionRunContext, run_values: te.SessionRunValues) -> None:
        self.calls.append(("after_run", run_values.results))
        self.runs += 1
        if self.stop_after is not None and self.runs >= self.stop_after:
            run_context.request_stop()

    def end(self, session: Any) -> None:
        self.calls.append("end")


class ToyStep(Step[float]):
    """Doubles the batch; its 'loss' is the batch's value."""

    def __init__(self, calls: list[Any], hooks: list[te.SessionRunHook], fail_at: int | None = None) -> None:
        super().__init__(self._model, ["loss"])
        self.calls = calls
        self._hooks = hooks
        self.fail_at = fail_at

    def _model(self, features: Any, labels: Any) -> te.EstimatorSpec:
        self.calls.append(("model_fn", float(features)))
        return te.EstimatorSpec(te.ModeKeys.EVAL, loss=torch.tensor(float(features)), predictions={})

    def first_call(self, features: Any, labels: Any) -> te.EstimatorSpec:
        self.calls.append("first_call")
        return super().first_call(features, labels)

    def hooks(self, spec: te.EstimatorSpec) -> list[te.SessionRunHook]:
        return self._hooks

    def run(self, spec: te.EstimatorSpec) -> tuple[dict[str, Any], float]:
        assert spec.loss is not None
        if self.fail_at is not None and float(spec.loss) == self.fail_at:
            raise RuntimeError("step failed")
        self.calls.append(("run", float(spec.loss)))
        return {"loss": spec.loss, "global_step": 0}, 2 * float(spec.loss)


def _batches(values: list[float], calls: list[Any]) -> Generator[tuple[Any, Any], None, None]:
    try:
        for value in values:
            calls.append(("batch", value))
            yield value, None
    finally:
        calls.append("input closed")


def _session(tmp_path) -> LoopSession:
    return LoopSession(VariableStore(), str(tmp_path), te.RunConfig(model_dir=str(tmp_path)))


def test_the_order_of_a_loop(tmp_path):
    calls: list[Any] = []
    step = ToyStep(calls, [Log(calls)])
    outputs = list(run_loop(step, _batches([1.0, 2.0], calls), _session(tmp_path)))
    assert outputs == [2.0, 4.0]
    assert calls == [
        ("batch", 1.0),
        "first_call",
        ("model_fn", 1.0),
        "begin",
        "after_create_session",
        ("before_run", ["loss"]),
        ("run", 1.0),
        ("after_run", 1.0),
        ("batch", 2.0),
        ("model_fn", 2.0),
        ("before_run", ["loss"]),
        ("run", 2.0),
        ("after_run", 2.0),
        "input closed",
        "end",
    ]


def test_fetches_resolve_against_the_step_just_run(tmp_path):
    calls: list[Any] = []
    hook = Log(calls, fetches={"loss": "loss", "both": ["global_step", "loss"]})
    list(run_loop(ToyStep([], [hook]), _batches([3.0], []), _session(tmp_path)))
    results = [c[1] for c in calls if c[0] == "after_run"]
    assert results == [{"loss": 3.0, "both": [0, 3.0]}]


def test_a_stop_request_ends_the_loop_without_reading_another_batch(tmp_path):
    calls: list[Any] = []
    list(run_loop(ToyStep(calls, [Log(calls, stop_after=2)]), _batches([1.0, 2.0, 3.0], calls), _session(tmp_path)))
    batches = [c for c in calls if isinstance(c, tuple) and c[0] == "batch"]
    assert batches == [("batch", 1.0), ("batch", 2.0)]
    assert calls[-2:] == ["input closed", "end"]


def test_empty_input_starts_no_hook(tmp_path):
    calls: list[Any] = []
    assert list(run_loop(ToyStep(calls, [Log(calls)]), _batches([], calls), _session(tmp_path))) == []
    assert calls == ["input closed"]


def test_an_error_closes_the_input_and_ends_no_hook(tmp_path):
    calls: list[Any] = []
    with pytest.raises(RuntimeError, match="step failed"):
        list(run_loop(ToyStep(calls, [Log(calls)], fail_at=2.0), _batches([1.0, 2.0, 3.0], calls), _session(tmp_path)))
    assert "input closed" in calls and "end" not in calls


def test_a_consumer_that_stops_early_closes_the_input(tmp_path):
    calls: list[Any] = []
    loop = run_loop(ToyStep(calls, [Log(calls)]), _batches([1.0, 2.0, 3.0], calls), _session(tmp_path))
    assert next(loop) == 2.0
    loop.close()
    assert calls[-1] == "input closed" and "end" not in calls


def test_local_run_reads_nothing_once_a_stop_is_requested():
    batches = iter([1, 2])
    run = LocalRun()
    assert run.next_batch(batches, stop_requested=False) == 1
    assert run.next_batch(batches, stop_requested=True) is None
    assert next(batches) == 2
    assert run.next_batch(iter([]), stop_requested=False) is None


def test_checkpoint_saver_hook_add_listeners_checks_and_appends(tmp_path):
    class Listener(CheckpointSaverListener):
        def __init__(self, name: str, seen: list[str]) -> None:
            self.name, self.seen = name, seen

        def begin(self) -> None:
            self.seen.append(self.name)

    seen: list[str] = []
    hook = CheckpointSaverHook(str(tmp_path), save_steps=1, listeners=[Listener("a", seen)])
    hook.add_listeners([Listener("b", seen)])
    hook.begin()
    assert seen == ["a", "b"]
    with pytest.raises(TypeError, match="saving_listeners must be a list of CheckpointSaverListener, given: nope"):
        hook.add_listeners(["nope"])  # type: ignore[list-item]
