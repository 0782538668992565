"""The thread policy: measured among 1 and the free cores, an explicit choice wins, restored after."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

import torch_estimator as te
from conftest import dense_model_fn, make_binary_data
from torch_estimator._engine import threads as threads_mod
from torch_estimator._engine.threads import (
    MORE_THREADS_MARGIN,
    PROBE_STEPS,
    REPROBE_STEPS,
    WARMUP_STEPS,
    ThreadPolicy,
    available_cores,
)


@pytest.fixture(autouse=True)
def _keep_threads(monkeypatch):
    """Each test starts without a thread count fixed by the environment and leaves torch's as it was."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


class _Clock:
    """A fake ``time.perf_counter``: each step takes what ``cost(threads)`` says."""

    def __init__(self, cost):
        self.now = 0.0
        self.cost = cost

    def perf_counter(self):
        return self.now

    def step(self):
        self.now += self.cost(torch.get_num_threads())


def _run(policy, clock, steps):
    policy.start()
    for _ in range(steps):
        clock.step()
        policy.step_done()
        policy.resume()
    chosen = policy.threads
    policy.stop()
    return chosen


@pytest.mark.parametrize("faster", [1, 4])
def test_the_faster_thread_count_is_kept(monkeypatch, faster):
    monkeypatch.setattr(threads_mod, "available_cores", lambda: 4)
    clock = _Clock(lambda n: 1.0 if n == faster else 3.0)
    monkeypatch.setattr(threads_mod.time, "perf_counter", clock.perf_counter)
    policy = ThreadPolicy()
    assert policy.candidates == [1, 4]
    assert _run(policy, clock, WARMUP_STEPS + 2 * PROBE_STEPS + 5) == faster


@pytest.mark.parametrize("ratio, chosen", [(0.95, 1), (1.0, 1), (0.85, 4)])
def test_more_threads_must_win_clearly(monkeypatch, ratio, chosen):
    monkeypatch.setattr(threads_mod, "available_cores", lambda: 4)
    clock = _Clock(lambda n: ratio if n == 4 else 1.0)
    monkeypatch.setattr(threads_mod.time, "perf_counter", clock.perf_counter)
    assert MORE_THREADS_MARGIN == 0.9
    assert _run(ThreadPolicy(), clock, WARMUP_STEPS + 2 * PROBE_STEPS + 5) == chosen


def test_a_changed_machine_is_measured_again(monkeypatch):
    monkeypatch.setattr(threads_mod, "available_cores", lambda: 2)
    busy = {"value": False}
    clock = _Clock(lambda n: (3.0 if n == 2 else 1.0) if busy["value"] else (1.0 if n == 2 else 3.0))
    monkeypatch.setattr(threads_mod.time, "perf_counter", clock.perf_counter)
    policy = ThreadPolicy()
    assert _run(policy, clock, WARMUP_STEPS + 2 * PROBE_STEPS) == 2
    busy["value"] = True  # another process took a core
    assert _run(policy, clock, REPROBE_STEPS + 2 * PROBE_STEPS) == 1


def test_the_previous_thread_count_is_restored(monkeypatch):
    monkeypatch.setattr(threads_mod, "available_cores", lambda: 2)
    torch.set_num_threads(2)
    policy = ThreadPolicy({"intra_op_parallelism_threads": 1})
    policy.start()
    assert torch.get_num_threads() == 1
    policy.stop()
    assert torch.get_num_threads() == 2


def test_session_config_and_environment_fix_the_count(monkeypatch):
    assert ThreadPolicy({"intra_op_parallelism_threads": 3}).candidates == [3]
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert ThreadPolicy().candidates == [torch.get_num_threads()]


def test_data_parallel_processes_share_the_cores(monkeypatch):
    monkeypatch.setattr(threads_mod, "available_cores", lambda: 8)
    assert ThreadPolicy(processes=4).candidates == [2]


@pytest.mark.parametrize("value", [-1, 1.5, "2", True])
def test_bad_thread_counts_are_refused_by_run_config(value):
    with pytest.raises(ValueError, match="intra_op_parallelism_threads must be a non-negative integer"):
        te.RunConfig(session_config={"intra_op_parallelism_threads": value})


def test_available_cores_honours_affinity_and_quota(monkeypatch):
    monkeypatch.setattr(threads_mod.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(threads_mod, "_cgroup_quota", lambda: None)
    assert available_cores() == 4
    monkeypatch.setattr(threads_mod, "_cgroup_quota", lambda: 1.5)
    assert available_cores() == 1


def test_training_applies_the_configured_count_and_restores(tmp_path, caplog):
    x, y = make_binary_data(64)
    seen = []

    class Record(te.SessionRunHook):
        def after_run(self, context, values):
            seen.append(torch.get_num_threads())

    torch.set_num_threads(2)
    config = te.RunConfig(session_config={"intra_op_parallelism_threads": 1})
    est = te.Estimator(dense_model_fn, model_dir=str(tmp_path), params={}, config=config)
    est.train(te.inputs.numpy_input_fn({"x": x}, y, batch_size=16, num_epochs=1, shuffle=False), hooks=[Record()])
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == 2


def test_predictions_are_the_same_whatever_the_thread_count(tmp_path):
    x, y = make_binary_data(64)
    est = te.Estimator(dense_model_fn, model_dir=str(tmp_path), params={}, config=te.RunConfig(tf_random_seed=1))
    est.train(te.inputs.numpy_input_fn({"x": x}, y, batch_size=16, num_epochs=2, shuffle=False))
    logits = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        fn = te.inputs.numpy_input_fn({"x": x}, batch_size=64, shuffle=False)
        logits.append(np.array([p["logits"] for p in est.predict(fn)]))
    np.testing.assert_allclose(logits[0], logits[1], rtol=1e-6)


def test_the_choice_is_logged(monkeypatch, caplog):
    monkeypatch.setattr(threads_mod, "available_cores", lambda: 2)
    clock = _Clock(lambda n: 1.0)
    monkeypatch.setattr(threads_mod.time, "perf_counter", clock.perf_counter)
    with caplog.at_level(logging.INFO, logger="torch_estimator"):
        _run(ThreadPolicy(), clock, WARMUP_STEPS + 2 * PROBE_STEPS)
    assert "Intra-op threads: 1 (measured 1: 1000.00 ms/step, 2: 1000.00 ms/step)" in caplog.text
