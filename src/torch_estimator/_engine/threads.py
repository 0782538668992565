"""How many threads torch's kernels use while a loop runs: measured, never more than the cores free.

torch's default (one intra-op thread per core) oversubscribes a busy machine and, for the small
per-step kernels of tabular models, loses even on an idle one: two threads at once contend for
two cores with the host work and every other process. So the loop *measures*: after a few
warm-up steps it times a run of steps at each candidate thread count (one, and the cores this
process may use: its CPU affinity and cgroup quota) and keeps the fastest (more threads only by a
clear margin, ``MORE_THREADS_MARGIN``), and measures again every ``REPROBE_STEPS`` steps, since a
machine's load changes.

An explicit choice wins: ``RunConfig(session_config={'intra_op_parallelism_threads': n})``
(TensorFlow's name; 0 means "choose"), or ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` in the
environment. ``inter_op_parallelism_threads`` is applied when torch still allows it (before any
inter-op work in the process). The previous thread count is restored when the loop ends.
"""

from __future__ import annotations

import logging
import math
import os
import statistics
import time
from collections.abc import Mapping
from typing import Any

import torch

__all__ = [
    "available_cores",
    "configured_threads",
    "ThreadPolicy",
    "WARMUP_STEPS",
    "PROBE_STEPS",
    "REPROBE_STEPS",
    "MORE_THREADS_MARGIN",
]

logger = logging.getLogger("torch_estimator")

WARMUP_STEPS = 5
PROBE_STEPS = 12
REPROBE_STEPS = 2000
#: More threads are kept only when their steps take less than this share of the fewer threads'
#: time: a probe of a dozen steps on a noisy machine can favour them by chance, and too many
#: threads under load cost several times over (one thread degrades gracefully).
MORE_THREADS_MARGIN = 0.9
_ENVIRONMENT = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _cgroup_quota() -> float | None:
    """CPUs the cgroup's CFS quota allows (v2 ``cpu.max`` or v1 ``cfs_quota_us``), or None."""
    for path, parse in (
        ("/sys/fs/cgroup/cpu.max", lambda text: text.split()),
        (
            "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
            lambda text: [text.strip(), _read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")],
        ),
    ):
        text = _read(path)
        if text is None:
            continue
        quota, period = (parse(text) + [None, None])[:2]
        try:
            if quota in ("max", "-1") or period is None:
                return None
            return float(quota) / float(period)
        except ValueError:
            return None
    return None


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return None


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity, capped by its cgroup's CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        cores = min(cores, max(1, math.floor(quota)))
    return max(1, cores)


def _option(session_config: Any, name: str) -> int:
    if session_config is None:
        return 0
    value = session_config.get(name, 0) if isinstance(session_config, Mapping) else getattr(session_config, name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"session_config {name} must be a non-negative integer (0: chosen for you); got {value!r}.")
    return value


def configured_threads(session_config: Any) -> tuple[int, int]:
    """``(intra_op, inter_op)`` thread counts the user fixed (0: not fixed). ``OMP_NUM_THREADS`` /
    ``MKL_NUM_THREADS`` fix the intra-op count to torch's current one."""
    intra = _option(session_config, "intra_op_parallelism_threads")
    inter = _option(session_config, "inter_op_parallelism_threads")
    if not intra and any(os.environ.get(name) for name in _ENVIRONMENT):
        intra = torch.get_num_threads()
    return intra, inter


class ThreadPolicy:
    """Sets torch's intra-op threads around one loop: fixed, or probed among candidates.

    ``start()`` before the loop, ``step_done()`` after each step, ``stop()`` at the end (restores
    the thread count the process had). ``processes`` is how many processes of a data-parallel
    job share this machine (each gets its share of the cores and no probing).
    """

    def __init__(self, session_config: Any = None, processes: int = 1) -> None:
        intra, self._inter = configured_threads(session_config)
        cores = max(1, available_cores() // max(1, processes))
        if intra:
            self.candidates = [intra]
        elif processes > 1:
            self.candidates = [cores]
        else:
            self.candidates = sorted({1, cores})
        self.threads = self._best = self.candidates[0]
        self._measured = False
        self._previous = torch.get_num_threads()
        self._steps = 0
        self._probe: list[int] = []
        self._times: dict[int, list[float]] = {}
        self._last = 0.0

    @classmethod
    def keep(cls) -> ThreadPolicy:
        """A policy that leaves the process's thread count as it is."""
        return cls({"intra_op_parallelism_threads": torch.get_num_threads()})

    def start(self) -> None:
        """Before a loop: applies the thread count (the best measured so far; a probe that an
        earlier loop left unfinished starts again at the next due step)."""
        if self._inter:
            try:
                torch.set_num_interop_threads(self._inter)
            except RuntimeError as e:  # inter-op work already ran in this process
                logger.warning("inter_op_parallelism_threads=%d not applied: %s", self._inter, e)
            self._inter = 0
        self._previous = torch.get_num_threads()
        if self._probe:  # an earlier loop ended mid-probe: drop it (the first one starts over)
            self._probe, self._times = [], {}
            self.threads = self._best
            if not self._measured:
                self._steps = 0
        self._set(self.threads)
        self._last = time.perf_counter()

    def resume(self) -> None:
        """The loop takes up again (after its consumer had the last step's output)."""
        self._last = time.perf_counter()

    def step_done(self) -> None:
        """Counts a step; while probing, times it and moves to the next candidate when due."""
        elapsed = time.perf_counter() - self._last
        self._steps += 1
        if len(self.candidates) == 1:
            return
        if self._probe:
            self._times.setdefault(self.threads, []).append(elapsed)
            if len(self._times[self.threads]) >= PROBE_STEPS:
                self._probe.pop(0)
                if self._probe:
                    self._set(self._probe[0])
                else:
                    self._choose()
        elif self._steps == WARMUP_STEPS or self._steps % REPROBE_STEPS == 0:
            self._probe = list(self.candidates)
            self._times = {}
            self._set(self._probe[0])

    def _choose(self) -> None:
        medians = {threads: statistics.median(times) for threads, times in self._times.items()}
        best = min(medians)
        for threads in sorted(medians):  # more threads must win clearly: on a loaded machine they collapse
            if medians[threads] < medians[best] * MORE_THREADS_MARGIN:
                best = threads
        self._best = best
        self._measured = True
        logger.info(
            "Intra-op threads: %d (measured %s)",
            best,
            ", ".join(f"{t}: {m * 1e3:.2f} ms/step" for t, m in sorted(medians.items())),
        )
        self._set(best)

    def _set(self, threads: int) -> None:
        self.threads = threads
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)

    def stop(self) -> None:
        if torch.get_num_threads() != self._previous:
            torch.set_num_threads(self._previous)
