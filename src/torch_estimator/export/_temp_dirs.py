"""Temporary export directories (``export_dir_base/temp-<timestamp>``) and removing the ones a
killed export left behind.

A writer holds an exclusive ``fcntl.flock`` on ``temp-<timestamp>/.export.lock`` while it writes,
and records its pid and host in it; the kernel releases the lock when the writer exits, however it
exits. The lock file is removed just before the directory is renamed to its final name. The next
export removes a ``temp-*`` directory only when that proves it abandoned: its lock file names a
writer and the lock is free (the writer is gone), or its lock file is free and has stayed empty for
``LOCK_GRACE_SECONDS`` (the writer died between creating and locking it), or it has no lock file
(or sits on a file system without locks) and nothing in it changed for ``UNLOCKED_MAX_AGE_SECONDS``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import socket
import time
from types import TracebackType

from torch_estimator.export._files import fsync_dir

__all__ = [
    "TempExportDir",
    "remove_abandoned_temp_dirs",
    "TEMP_PREFIX",
    "LOCK_FILE",
    "LOCK_GRACE_SECONDS",
    "UNLOCKED_MAX_AGE_SECONDS",
]

logger = logging.getLogger("torch_estimator")

TEMP_PREFIX = "temp-"
LOCK_FILE = ".export.lock"
LOCK_GRACE_SECONDS = 60.0
UNLOCKED_MAX_AGE_SECONDS = 3600.0


class TempExportDir:
    """``with TempExportDir(path) as temp:`` creates ``path`` holding its lock; ``temp.commit(final)``
    renames it to ``final``. Leaving the block without committing removes the directory.

    Example:
      with TempExportDir(os.path.join(base, "temp-1700000000")) as temp:
          ...  # write files under temp.path
          temp.commit(os.path.join(base, "1700000000"))
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._committed = False

    def __enter__(self) -> TempExportDir:
        os.makedirs(self.path)
        try:
            self._fd = os.open(os.path.join(self.path, LOCK_FILE), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:  # a file system without locks: the age rule protects the directory
                logger.warning(
                    "Cannot lock %s (%s); a temporary export directory here is only removed after %d s unchanged.",
                    self.path,
                    e,
                    UNLOCKED_MAX_AGE_SECONDS,
                )
            os.pwrite(self._fd, f"pid {os.getpid()} on host {socket.gethostname()}\n".encode(), 0)
        except BaseException:
            self._close()
            shutil.rmtree(self.path, ignore_errors=True)
            raise
        return self

    def commit(self, final_path: str) -> None:
        """Removes the lock file and renames the directory to ``final_path`` (durably)."""
        os.unlink(os.path.join(self.path, LOCK_FILE))
        for directory, _, _ in os.walk(self.path, topdown=False):
            fsync_dir(directory)
        os.rename(self.path, final_path)
        fsync_dir(os.path.dirname(os.path.abspath(final_path)))
        self._committed = True

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the lock
            self._fd = None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._committed:
            shutil.rmtree(self.path, ignore_errors=True)
        self._close()


def _newest_change(path: str) -> float:
    """The newest modification time of ``path`` and everything under it."""
    newest = os.stat(path).st_mtime
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
            except FileNotFoundError:
                pass
    return newest


def _unchanged_for(path: str) -> str | None:
    age = time.time() - _newest_change(path)
    return f"nothing in it changed for {age:.0f} s" if age > UNLOCKED_MAX_AGE_SECONDS else None


def _why_abandoned(path: str) -> str | None:
    """Why the temporary directory ``path`` is abandoned, or None when it may be in use."""
    try:
        fd = os.open(os.path.join(path, LOCK_FILE), os.O_RDWR)
    except FileNotFoundError:  # no lock: an older writer, or one just creating or renaming it
        return _unchanged_for(path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # its writer holds the lock
        except OSError:  # no locks on this file system
            return _unchanged_for(path)
        holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
        if holder:
            return f"its writer ({holder}) is gone"
        age = time.time() - os.fstat(fd).st_mtime
        return f"its lock file stayed empty for {age:.0f} s" if age > LOCK_GRACE_SECONDS else None
    finally:
        os.close(fd)


def remove_abandoned_temp_dirs(export_dir_base: str) -> None:
    """Removes the ``temp-*`` directories of ``export_dir_base`` that killed exports left."""
    for entry in os.scandir(export_dir_base):
        if not entry.name.startswith(TEMP_PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            reason = _why_abandoned(entry.path)
        except FileNotFoundError:  # finished or removed meanwhile
            continue
        if reason is not None:
            shutil.rmtree(entry.path, ignore_errors=True)
            logger.warning(
                "Removed the temporary export directory %s left by an interrupted export: %s.", entry.path, reason
            )
