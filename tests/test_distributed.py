"""Data-parallel training under torchrun (gloo, 2 processes on localhost): identical weights on
both workers, equal to single-process training on the same global batch; only the chief writes;
a killed worker ends the job quickly and a rerun resumes from the latest checkpoint."""

from __future__ import annotations

import glob
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from safetensors.torch import load_file

import torch_estimator as te

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "_distributed_worker.py")


def _torchrun(out_dir, steps: int, *extra: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        WORKER,
        str(out_dir),
        str(steps),
        *extra,
    ]
    return subprocess.Popen(command, cwd=str(out_dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_two_workers_train_like_one_process_on_the_global_batch(tmp_path):
    parallel, single = tmp_path / "parallel", tmp_path / "single"
    parallel.mkdir()
    single.mkdir()
    run = _torchrun(parallel, 12)
    out, _ = run.communicate(timeout=240)
    assert run.returncode == 0, out
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    alone = subprocess.run(
        [sys.executable, WORKER, str(single), "12"], capture_output=True, text=True, timeout=240, env=env
    )
    assert alone.returncode == 0, alone.stderr

    rank0, rank1 = load_file(str(parallel / "vars-0.safetensors")), load_file(str(parallel / "vars-1.safetensors"))
    reference = load_file(str(single / "vars-0.safetensors"))
    assert sorted(rank0) == sorted(rank1) == sorted(reference)
    for name in rank0:
        assert (rank0[name] == rank1[name]).all(), name
        np.testing.assert_allclose(rank0[name].numpy(), reference[name].numpy(), atol=1e-5, err_msg=name)
    # both workers evaluate the chief's final checkpoint
    assert (
        re.findall(r"rank (\d) global_step (\d+) loss ([0-9.]+)", out)
        and len(set(re.findall(r"global_step (\d+) loss ([0-9.]+)", out))) == 1
    )

    model_dir = parallel / "model"
    chief_pid = (parallel / "pid-0").read_text()
    assert sorted(os.path.basename(p) for p in glob.glob(str(model_dir / "model.ckpt-*"))) == [
        f"model.ckpt-{s}.safetensors" for s in (0, 10, 12, 5)
    ]
    events = glob.glob(str(model_dir / "events.out.tfevents.*")) + glob.glob(
        str(model_dir / "eval" / "events.out.tfevents.*")
    )
    assert events and all(p.endswith("." + chief_pid) for p in events)  # summaries from the chief only
    assert te.Estimator(lambda features: None, model_dir=str(model_dir)).get_variable_value("global_step") == 12


def test_a_killed_worker_ends_the_job_and_a_rerun_resumes(tmp_path):
    run = _torchrun(tmp_path, 2000, "--slow")
    checkpoint = tmp_path / "model" / "model.ckpt-5.safetensors"
    deadline = time.monotonic() + 180
    while not checkpoint.exists():
        assert run.poll() is None, run.stdout.read()
        assert time.monotonic() < deadline, "no checkpoint"
        time.sleep(0.2)
    os.kill(int((tmp_path / "pid-1").read_text()), signal.SIGKILL)
    killed = time.monotonic()
    try:
        run.wait(timeout=60)
    except subprocess.TimeoutExpired:
        run.kill()
        pytest.fail("the job did not end within 60 s of a worker's death")
    assert run.returncode != 0 and time.monotonic() - killed < 60
    latest = te.Estimator(lambda features: None, model_dir=str(tmp_path / "model")).latest_checkpoint()
    saved_step = int(latest.rsplit("-", 1)[1])
    rerun = _torchrun(tmp_path, 3)
    out, _ = rerun.communicate(timeout=240)
    assert rerun.returncode == 0, out
    assert f"Restoring parameters from {latest}" in out
    assert f"global_step {saved_step + 3} " in out
