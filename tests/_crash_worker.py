"""A training process for the crash-safety test.

``python _crash_worker.py MODEL_DIR MAX_STEPS`` trains a small network (two hidden
``te.layers.dense`` layers, Adagrad, ~3.5k parameters) on repeating numpy input with a checkpoint
after every step (keeping 3), logging the Estimator's INFO lines to stderr so the test can see
which step each run restored and saved. The test kills it with SIGKILL.

``python _crash_worker.py --fork-server`` imports everything once and then, for each JSON line
``{"model_dir", "max_steps", "log"}`` read from stdin, forks a fresh training process with its
output in ``log`` and answers ``{"pid": ...}``; ``{"wait": pid}`` answers how that process ended.
It spares the test a ~3 s interpreter and torch start-up per kill; each training run is still a
separate process that dies by SIGKILL.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback

import numpy as np
import torch

import torch_estimator as te

N_FEATURES = 20
KEEP = 3


def model_fn(features, labels, mode):
    hidden = te.layers.dense(features["x"], 64, activation="relu")
    hidden = te.layers.dense(hidden, 32, activation="relu")
    logits = te.layers.dense(hidden, 1)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    train_op = te.optimizers.get("Adagrad", learning_rate=0.05).minimize(loss) if mode == te.ModeKeys.TRAIN else None
    return te.EstimatorSpec(mode, predictions={"logits": logits}, loss=loss, train_op=train_op)


def input_fn_factory():
    rng = np.random.RandomState(0)
    x = rng.randn(512, N_FEATURES).astype(np.float32)
    y = (x[:, :3].sum(axis=1, keepdims=True) > 0).astype(np.float32)
    return te.inputs.numpy_input_fn({"x": x}, y, batch_size=32, num_epochs=None, shuffle=True)


def make_estimator(model_dir: str) -> te.Estimator:
    config = te.RunConfig(
        save_checkpoints_steps=1,
        keep_checkpoint_max=KEEP,
        save_summary_steps=10,
        log_step_count_steps=1000,
        tf_random_seed=7,
    )
    return te.Estimator(model_fn, model_dir=model_dir, config=config)


def main(argv: list[str]) -> None:
    model_dir, max_steps = argv[1], int(argv[2])
    torch.set_num_threads(1)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("torch_estimator")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    make_estimator(model_dir).train(input_fn_factory(), max_steps=max_steps)
    print("TRAINING DONE", flush=True)


def _fork_training(model_dir: str, max_steps: int, log: str) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        main(["worker", model_dir, str(max_steps)])
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _wait(pid: int) -> dict[str, int | None]:
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return {"signal": os.WTERMSIG(status), "exit": None}
    return {"signal": None, "exit": os.WEXITSTATUS(status)}


def serve() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        if "wait" in request:
            reply: dict[str, int | None] = _wait(int(request["wait"]))
        else:
            reply = {"pid": _fork_training(request["model_dir"], int(request["max_steps"]), request["log"])}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    if sys.argv[1:] == ["--fork-server"]:
        serve()
    else:
        main(sys.argv)
