"""Crash safety of checkpoints: a training process killed with SIGKILL at random moments
always leaves a loadable latest checkpoint, and the next run resumes from it.

DESIGN.md "Checkpoints and model_dir"; reference §6.6 (checkpoint layout).

The kills run as two independent sequences in parallel (two model_dirs). Each run is a separate
process forked by ``_crash_worker.py --fork-server`` after the torch import, so a kill costs a
fraction of a second instead of an interpreter start; the final run to completion starts a fresh
interpreter. Instants a random kill rarely hits are covered deterministically further down by
failing each filesystem call of ``Saver.save`` in turn.
"""

from __future__ import annotations

import concurrent.futures
import glob
import importlib.util
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from torch_estimator._core import checkpoint as _checkpoint

WORKER = Path(__file__).with_name("_crash_worker.py")
KILLS_PER_SEQUENCE = 15  # two sequences in parallel: 30 kills in all
SEQUENCES = 2
SEED = 20261123

_INDEX_LINE = re.compile(r'^(model_checkpoint_path|all_model_checkpoint_paths): "([^"]+)"$')
_SAVING = re.compile(r"Saving checkpoints for (\d+) into ")
_RESTORING = re.compile(r"Restoring parameters from (\S+)")
_NAME = re.compile(r"^model\.ckpt-(\d+)\.safetensors$")

skip_no_sigkill = pytest.mark.skipif(
    not hasattr(signal, "SIGKILL") or not hasattr(os, "fork") or not os.path.isdir("/proc"),
    reason="needs POSIX SIGKILL, fork and /proc",
)


def _load_worker():
    spec = importlib.util.spec_from_file_location("_crash_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- inspecting a model_dir independently of the implementation's reader -------------------------
def _parse_index(model_dir: Path) -> tuple[str, list[str]]:
    """``(latest, kept)`` checkpoint names from the ``checkpoint`` file, parsed strictly."""
    text = (model_dir / "checkpoint").read_text(encoding="utf-8")
    assert text.endswith("\n"), f"truncated index: {text!r}"
    latest, kept = None, []
    for line in text.splitlines():
        match = _INDEX_LINE.match(line)
        assert match, f"unparseable line {line!r} in index {text!r}"
        key, value = match.groups()
        assert not os.path.isabs(value), f"index paths are relative (as TF writes them): {value!r}"
        if key == "model_checkpoint_path":
            assert latest is None, f"two model_checkpoint_path lines in {text!r}"
            latest = value
        else:
            kept.append(value)
    assert latest is not None, f"no model_checkpoint_path in {text!r}"
    return latest, kept


def _step_of(name: str) -> int:
    match = re.fullmatch(r"model\.ckpt-(\d+)", name)
    assert match, f"unexpected checkpoint name {name!r}"
    return int(match.group(1))


def _check_checkpoint_file(path: Path) -> int:
    """Loads a checkpoint file with safetensors and checks its global_step against its name."""
    tensors = load_file(str(path))
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
    step = int(_NAME.match(path.name).group(1))
    assert tensors["global_step"].dtype == torch.int64
    assert int(tensors["global_step"].item()) == step, f"{path.name} holds global_step {tensors['global_step'].item()}"
    assert tensors["dense/kernel"].shape == (20, 64)
    assert tensors["dense_2/bias"].shape == (1,)
    assert len(tensors) > 6, f"optimizer slots missing: {sorted(tensors)}"
    assert all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())
    assert metadata.get("format", "").startswith("torch_estimator.checkpoint")
    return step


def _check_model_dir(model_dir: Path, kills_so_far: int) -> int:
    """Asserts the model_dir is consistent and loadable; returns the latest global step."""
    latest, kept = _parse_index(model_dir)
    assert kept, "the index names no kept checkpoints"
    assert kept[-1] == latest, f"latest {latest} is not the newest kept {kept}"
    assert len(kept) <= 3, f"keep_checkpoint_max=3 but index keeps {kept}"
    steps = [_step_of(name) for name in kept]
    assert steps == sorted(set(steps)), f"kept checkpoints not strictly increasing: {kept}"
    for name in kept:
        path = model_dir / (name + ".safetensors")
        assert path.is_file(), f"index names {name} but {path.name} does not exist"
        assert _check_checkpoint_file(path) == _step_of(name)
    # A rename is atomic, so every file under a final checkpoint name is complete (kept or not).
    for path in model_dir.iterdir():
        if _NAME.match(path.name):
            _check_checkpoint_file(path)
    # The implementation's own view agrees with the index.
    assert _checkpoint.latest_checkpoint(str(model_dir)) == str(model_dir / latest)
    # A SIGKILL can leave at most one temporary file behind; they never pile up faster.
    leftovers = [p for p in os.listdir(model_dir) if p.startswith(".tmp-")]
    assert len(leftovers) <= kills_so_far, leftovers
    return _step_of(latest)


# -- driving the worker -----------------------------------------------------------------------
_ENV = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


def _start(model_dir: Path, max_steps: int, log: Path) -> subprocess.Popen:
    """The worker in a fresh interpreter."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, str(WORKER), str(model_dir), str(max_steps)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_ENV,
        )


class _ForkServer:
    """The worker's ``--fork-server``: each run a new process forked after the imports."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, str(WORKER), "--fork-server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=_ENV,
        )

    def _ask(self, request: dict) -> dict:
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        assert line, f"fork server died (exit {self._proc.poll()})"
        return json.loads(line)

    def start(self, model_dir: Path, max_steps: int, log: Path) -> int:
        return self._ask({"model_dir": str(model_dir), "max_steps": max_steps, "log": str(log)})["pid"]

    def wait(self, pid: int) -> dict:
        return self._ask({"wait": pid})

    def close(self) -> None:
        self._proc.stdin.close()
        self._proc.wait(timeout=30)
        self._proc.stdout.close()


def _wait_for_first_save(is_alive, log: Path, timeout: float = 90.0) -> int:
    """The step of the run's first 'Saving checkpoints for N' line (its restored step)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = _SAVING.search(log.read_text(errors="replace")) if log.exists() else None
        if match:
            return int(match.group(1))
        if not is_alive():
            pytest.fail(f"worker exited before training:\n{log.read_text(errors='replace')}")
        time.sleep(0.005)
    pytest.fail(f"worker did not start training within {timeout}s:\n{log.read_text(errors='replace')}")


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie awaiting the fork server's wait counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _first_save_and_restore(log: Path) -> tuple[int, str | None]:
    text = log.read_text(errors="replace")
    saving = _SAVING.search(text)
    assert saving, text
    restoring = _RESTORING.search(text)
    return int(saving.group(1)), restoring.group(1) if restoring else None


def _kill_sequence(model_dir: Path, log_dir: Path, seed: int, kills: int) -> list[int]:
    """Starts, randomly SIGKILLs and checks the worker ``kills`` times; returns latest steps."""
    rng = random.Random(seed)
    server = _ForkServer()
    latest_steps: list[int] = []
    previous: int | None = None
    try:
        for i in range(kills):
            log = log_dir / f"run-{i:02d}.log"
            pid = server.start(model_dir, 10**9, log)
            try:
                _wait_for_first_save(lambda pid=pid: _alive(pid), log)
                # Mostly anywhere in the next ~half second; sometimes right inside the first save.
                delay = rng.uniform(0.0, 0.02) if rng.random() < 0.25 else rng.uniform(0.0, 0.5)
                time.sleep(delay)
                assert _alive(pid), f"worker died by itself:\n{log.read_text(errors='replace')}"
            finally:
                os.kill(pid, signal.SIGKILL)
                ended = server.wait(pid)
            assert ended == {"signal": signal.SIGKILL, "exit": None}, ended
            first, restored = _first_save_and_restore(log)
            if previous is None:
                assert first == 0 and restored is None, "the first run starts from scratch"
            else:
                # Resumes exactly from the checkpoint the index named after the previous kill.
                assert first == previous, f"run {i} started at {first}, latest checkpoint was {previous}"
                assert restored is not None and os.path.abspath(restored) == str(model_dir / f"model.ckpt-{previous}")
            latest = _check_model_dir(model_dir, kills_so_far=i + 1)
            assert latest >= first, f"latest checkpoint {latest} went back behind the restored step {first}"
            latest_steps.append(latest)
            previous = latest
    finally:
        server.close()
    return latest_steps


@skip_no_sigkill
def test_sigkill_during_training_always_leaves_a_loadable_checkpoint_and_resumes(tmp_path: Path) -> None:
    dirs = []
    for s in range(SEQUENCES):
        model_dir, log_dir = tmp_path / f"model-{s}", tmp_path / f"logs-{s}"
        log_dir.mkdir()
        dirs.append((model_dir, log_dir))
    with concurrent.futures.ThreadPoolExecutor(SEQUENCES) as pool:
        futures = [
            pool.submit(_kill_sequence, model_dir, log_dir, SEED + s, KILLS_PER_SEQUENCE)
            for s, (model_dir, log_dir) in enumerate(dirs)
        ]
        histories = [f.result() for f in futures]

    assert sum(len(h) for h in histories) >= 20
    for history in histories:
        assert history == sorted(history), f"the latest step went backwards across restarts: {history}"
        # Training made real progress across the restarts (not stuck re-saving step 0).
        assert history[-1] >= KILLS_PER_SEQUENCE, history

    # Finally each sequence trains to completion from where it was killed, in a fresh interpreter.
    procs = []
    for (model_dir, log_dir), history in zip(dirs, histories):
        target = history[-1] + 25
        procs.append(
            (model_dir, log_dir / "final.log", history[-1], target, _start(model_dir, target, log_dir / "final.log"))
        )
    worker = _load_worker()
    for model_dir, log, resumed_from, target, proc in procs:
        assert proc.wait(timeout=120) == 0, log.read_text(errors="replace")
        text = log.read_text(errors="replace")
        assert "TRAINING DONE" in text
        first, restored = _first_save_and_restore(log)
        assert first == resumed_from
        assert os.path.abspath(restored) == str(model_dir / f"model.ckpt-{resumed_from}")
        assert f"Saving checkpoints for {target} into" in text
        latest, kept = _parse_index(model_dir)
        assert latest == f"model.ckpt-{target}"
        assert kept == [f"model.ckpt-{s}" for s in (target - 2, target - 1, target)]
        assert _check_model_dir(model_dir, kills_so_far=KILLS_PER_SEQUENCE) == target
        estimator = worker.make_estimator(str(model_dir))
        assert estimator.latest_checkpoint() == str(model_dir / f"model.ckpt-{target}")
        assert int(estimator.get_variable_value("global_step")) == target
        assert estimator.get_variable_value("dense/kernel").shape == (20, 64)
        # Asking for the same max_steps again does nothing (already reached).
        before = sorted(os.listdir(model_dir))
        estimator.train(worker.input_fn_factory(), max_steps=target)
        assert sorted(os.listdir(model_dir)) == before


# -- the atomic-write primitive ---------------------------------------------------------------
def _temp_files(directory: Path) -> list[str]:
    return sorted(p for p in os.listdir(directory) if p.startswith(".tmp-"))


def test_atomic_write_creates_and_replaces_without_leftovers(tmp_path: Path) -> None:
    target = tmp_path / "checkpoint"
    _checkpoint.atomic_write(str(target), b"first\n")
    assert target.read_bytes() == b"first\n"
    _checkpoint.atomic_write(str(target), b"second, longer content\n")
    assert target.read_bytes() == b"second, longer content\n"
    _checkpoint.atomic_write(str(target), b"")
    assert target.read_bytes() == b""
    assert sorted(os.listdir(tmp_path)) == ["checkpoint"]


@pytest.mark.parametrize("exc", [OSError("disk on fire"), KeyboardInterrupt()])
def test_atomic_write_failing_rename_keeps_old_file_and_no_temp(tmp_path: Path, monkeypatch, exc) -> None:
    target = tmp_path / "model.ckpt-1.safetensors"
    _checkpoint.atomic_write(str(target), b"old contents")

    def failing_replace(src, dst, *args, **kwargs):
        assert os.path.exists(src), "the temporary file is written before the rename"
        raise exc

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(type(exc)):
        _checkpoint.atomic_write(str(target), b"new contents that never land")
    monkeypatch.undo()
    assert target.read_bytes() == b"old contents"
    assert _temp_files(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == [target.name]


def test_atomic_write_failing_mid_write_keeps_old_file_and_no_temp(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "checkpoint"
    _checkpoint.atomic_write(str(target), b"old index\n")

    def failing_fsync(fd):
        raise OSError("fsync failed")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="fsync failed"):
        _checkpoint.atomic_write(str(target), b"new index\n")
    monkeypatch.undo()
    assert target.read_bytes() == b"old index\n"
    assert _temp_files(tmp_path) == []


def test_atomic_write_failure_on_a_new_path_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(os, "replace", lambda *a, **k: (_ for _ in ()).throw(OSError("nope")))
    with pytest.raises(OSError):
        _checkpoint.atomic_write(str(tmp_path / "fresh"), b"data")
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


def test_atomic_write_honours_umask_like_a_plain_open(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    atomic = tmp_path / "atomic"
    _checkpoint.atomic_write(str(atomic), b"x")
    assert oct(atomic.stat().st_mode & 0o777) == oct(plain.stat().st_mode & 0o777)


# -- a crash at each instant of Saver.save, simulated in-process ---------------------------------
def _tensors(step: int) -> dict[str, torch.Tensor]:
    return {"w": torch.full((3, 2), float(step)), "global_step": torch.tensor(step, dtype=torch.int64)}


def _saved_steps(model_dir: Path) -> list[int]:
    latest, kept = _parse_index(model_dir)
    for name in kept:
        assert load_file(str(model_dir / (name + ".safetensors")))["global_step"].item() == _step_of(name)
    return [_step_of(n) for n in kept]


class _Crash(BaseException):
    """Stands in for the process dying at that instant."""


@pytest.mark.parametrize("instant", ["writing data", "renaming data", "writing index", "renaming index", "pruning"])
def test_crash_at_any_instant_of_a_save_leaves_a_loadable_latest(tmp_path: Path, monkeypatch, instant: str) -> None:
    saver = _checkpoint.Saver(str(tmp_path), max_to_keep=2)
    for step in (1, 2, 3):
        saver.save("model.ckpt", step, _tensors(step), {})
    assert _saved_steps(tmp_path) == [2, 3]

    real_replace, real_fsync, real_unlink = os.replace, os.fsync, os.unlink
    calls = {"replace": 0, "fsync": 0}

    def replace(src, dst, *a, **k):
        calls["replace"] += 1
        if (instant, calls["replace"]) in {("renaming data", 1), ("renaming index", 2)}:
            raise _Crash
        return real_replace(src, dst, *a, **k)

    def fsync(fd):
        calls["fsync"] += 1
        # fsyncs: data file, data dir, index file, index dir.
        if (instant, calls["fsync"]) in {("writing data", 1), ("writing index", 3)}:
            raise _Crash
        return real_fsync(fd)

    def unlink(path, *a, **k):
        if instant == "pruning" and str(path).endswith(".safetensors"):
            raise _Crash
        return real_unlink(path, *a, **k)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "unlink", unlink)
    with pytest.raises(_Crash):
        saver.save("model.ckpt", 4, _tensors(4), {})
    monkeypatch.undo()

    expected_latest = 4 if instant == "pruning" else 3
    kept = _saved_steps(tmp_path)
    assert kept[-1] == expected_latest
    assert _checkpoint.latest_checkpoint(str(tmp_path)) == str(tmp_path / f"model.ckpt-{expected_latest}")
    tensors, _ = _checkpoint.load(_checkpoint.latest_checkpoint(str(tmp_path)))
    assert torch.equal(tensors["w"], torch.full((3, 2), float(expected_latest)))
    assert _temp_files(tmp_path) == []

    # A new process (a fresh Saver) carries on from there and ends consistent.
    fresh = _checkpoint.Saver(str(tmp_path), max_to_keep=2)
    fresh.save("model.ckpt", expected_latest, _tensors(expected_latest), {})
    fresh.save("model.ckpt", expected_latest + 1, _tensors(expected_latest + 1), {})
    assert _saved_steps(tmp_path) == [expected_latest, expected_latest + 1]
    assert _temp_files(tmp_path) == []
    for path in glob.glob(str(tmp_path / "model.ckpt-*.safetensors")):
        step = int(re.search(r"ckpt-(\d+)", path).group(1))
        assert load_file(path)["global_step"].item() == step
