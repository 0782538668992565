"""The progress bar: shown on a terminal (a pseudo-terminal here) when the length is known,
absent when stderr is piped or logging is quiet; TF's log lines remain in every case."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import textwrap

SCRIPT = textwrap.dedent(
    """
    import logging, sys, tempfile
    import numpy as np
    import torch_estimator as te
    logging.basicConfig(level=logging.WARNING if "--quiet" in sys.argv else logging.INFO, stream=sys.stderr)
    x = np.random.rand(200, 2).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    est = te.LinearRegressor([te.feature_column.numeric_column("x", shape=(2,))], model_dir=tempfile.mkdtemp())
    est.train(te.inputs.numpy_input_fn({"x": x}, y, batch_size=10, num_epochs=None, shuffle=True), steps=30)
    est.evaluate(te.inputs.numpy_input_fn({"x": x}, y, batch_size=50, num_epochs=1, shuffle=False))
    list(est.predict(te.inputs.numpy_input_fn({"x": x}, batch_size=50, num_epochs=1, shuffle=False)))
    """
)


def _run_in_pty(*args: str) -> str:
    """Runs the script with stderr on a pseudo-terminal; returns everything written there."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave
    )
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    process.wait(timeout=60)
    os.close(master)
    assert process.returncode == 0
    return b"".join(chunks).decode(errors="replace")


def test_progress_bars_on_a_terminal():
    out = _run_in_pty()
    assert "train: 100%" in out and "30/30" in out
    assert "evaluate: 100%" in out and "4/4" in out
    assert "predict: 100%" in out
    assert "loss = " in out  # TensorFlow's log lines stay


def test_no_progress_bar_when_piped_or_quiet():
    piped = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True
    ).stderr
    assert "loss = " in piped and "%|" not in piped
    assert "%|" not in _run_in_pty("--quiet")
