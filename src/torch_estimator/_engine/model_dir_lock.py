"""One trainer per model_dir: an exclusive OS file lock held for the whole of ``train()``.

The lock is ``fcntl.flock`` on ``model_dir/.train.lock``: the kernel releases it when the
holder exits, however it exits (a SIGKILL included), so a lock is never left stuck. The file
records the holder's pid and host for the error a second trainer gets. Readers (evaluate,
predict, export, serving) never take it.
"""

from __future__ import annotations

import fcntl
import os
import socket
from types import TracebackType

from torch_estimator._core.errors import ModelDirLockedError

__all__ = ["TrainingLock", "LOCK_FILE"]

LOCK_FILE = ".train.lock"


class TrainingLock:
    """``with TrainingLock(model_dir):`` holds the model_dir's training lock or raises
    ``ModelDirLockedError`` at once, naming the process that holds it."""

    def __init__(self, model_dir: str) -> None:
        self.path = os.path.join(model_dir, LOCK_FILE)
        self._fd: int | None = None

    def __enter__(self) -> TrainingLock:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = (
                os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "a process that has not yet written its pid"
            )
            os.close(fd)
            model_dir = os.path.dirname(self.path)
            raise ModelDirLockedError(
                f"model_dir {model_dir} is being trained by another process ({holder}): only one process may "
                "train a model_dir at a time. Wait for it to finish, or train in another model_dir. (Evaluate, "
                "predict and export need no lock and work during training.)"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on host {socket.gethostname()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing releases the lock
            self._fd = None
