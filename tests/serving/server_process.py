"""``torch-estimator serve`` as a real process on a free loopback port, for the tests that talk to
a running server over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping

import httpx

__all__ = ["start_server", "wait_for", "environment_with"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    model_base_path: str,
    model_name: str,
    *options: str,
    port_flag: str = "--port",
    env: Mapping[str, str] | None = None,
) -> tuple[subprocess.Popen, int]:
    """``(process, port)`` of ``torch-estimator --quiet serve`` for the model, on 127.0.0.1 and a
    free port given by ``port_flag``, with the further command-line ``options``."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "torch_estimator",
        "--quiet",
        "serve",
        "--model_base_path",
        model_base_path,
        "--model_name",
        model_name,
        port_flag,
        str(port),
        "--host",
        "127.0.0.1",
        *options,
    ]
    process = subprocess.Popen(
        command, env=None if env is None else dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    return process, port


def wait_for(predicate: Callable[[], bool], what: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Polls ``predicate`` until it holds; an AssertionError naming ``what`` if the server exits or
    ``timeout`` seconds pass first (a server not yet listening counts as not yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode} before {what}: {process.stderr.read()}")
        try:
            if predicate():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def environment_with(path: str) -> dict[str, str]:
    """This process's environment with ``path`` first on PYTHONPATH (for a ``--loader`` module)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([path, os.environ.get("PYTHONPATH", "")])}
