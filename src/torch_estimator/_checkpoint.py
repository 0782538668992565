"""The model_dir checkpoint layout: ``checkpoint`` index + ``model.ckpt-<step>.safetensors``.

Saves are atomic: the data file is written under a temporary name, fsynced and renamed, then
the index is replaced the same way, and only then are checkpoints beyond
``keep_checkpoint_max`` deleted. A crash at any instant leaves the previous checkpoint named by
the index and loadable. Loading uses safetensors (no pickle): tensors plus string metadata.
"""

from __future__ import annotations

import os
import re
import tempfile
import time

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save

__all__ = ["Saver", "latest_checkpoint", "read_index", "load", "list_variables", "resolve"]

INDEX = "checkpoint"
SUFFIX = ".safetensors"
TMP_PREFIX = ".tmp-"
_UMASK = os.umask(0)
os.umask(_UMASK)
_LINE = re.compile(r'^(model_checkpoint_path|all_model_checkpoint_paths):\s*"(.*)"\s*$')


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` so that readers see the old file or the whole new one."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX + os.path.basename(path) + "-", dir=directory)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def read_index(checkpoint_dir: str) -> tuple[str | None, list[str]]:
    """``(latest, all kept)`` checkpoint prefixes (absolute) named by ``checkpoint_dir/checkpoint``."""
    path = os.path.join(checkpoint_dir, INDEX)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return None, []
    latest, kept = None, []
    for line in lines:
        match = _LINE.match(line.strip())
        if not match:
            continue
        value = match.group(2)
        value = value if os.path.isabs(value) else os.path.join(checkpoint_dir, value)
        if match.group(1) == "model_checkpoint_path":
            latest = value
        else:
            kept.append(value)
    return latest, kept


def _write_index(checkpoint_dir: str, latest: str, kept: list[str]) -> None:
    def rel(p: str) -> str:
        return os.path.relpath(p, checkpoint_dir) if os.path.dirname(p) == os.path.abspath(checkpoint_dir) else p

    lines = [f'model_checkpoint_path: "{rel(latest)}"'] + [f'all_model_checkpoint_paths: "{rel(p)}"' for p in kept]
    atomic_write(os.path.join(checkpoint_dir, INDEX), ("\n".join(lines) + "\n").encode())


def exists(prefix: str) -> bool:
    return os.path.isfile(prefix + SUFFIX)


def latest_checkpoint(checkpoint_dir: str | None) -> str | None:
    """The newest checkpoint prefix in ``checkpoint_dir`` whose data file exists, or None."""
    if not checkpoint_dir:
        return None
    latest, _ = read_index(checkpoint_dir)
    if latest is not None and exists(latest):
        return latest
    return None


def resolve(path: str) -> str | None:
    """A checkpoint prefix from a prefix, a ``.safetensors`` file or a directory (its latest)."""
    if path.endswith(SUFFIX):
        path = path[: -len(SUFFIX)]
    if exists(path):
        return path
    if os.path.isdir(path):
        return latest_checkpoint(path)
    return None


def load(prefix: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """All tensors and the metadata of a checkpoint."""
    file = prefix + SUFFIX
    with safe_open(file, framework="pt") as f:
        metadata = dict(f.metadata() or {})
    return load_file(file), metadata


def list_variables(prefix: str) -> list[tuple[str, list[int]]]:
    """``[(name, shape)]`` of a checkpoint, sorted by name."""
    with safe_open(prefix + SUFFIX, framework="pt") as f:
        return sorted((k, list(f.get_slice(k).get_shape())) for k in f.keys())


def load_variable(prefix: str, name: str) -> torch.Tensor:
    with safe_open(prefix + SUFFIX, framework="pt") as f:
        if name not in f.keys():
            raise ValueError(f"Variable {name} not found in checkpoint {prefix}.")
        return f.get_tensor(name)


class Saver:
    """Writes checkpoints into one directory and keeps the newest ``max_to_keep``.

    ``max_to_keep`` of 0 or None keeps every file (the index then names only the latest), as
    TensorFlow's Saver does; ``keep_checkpoint_every_n_hours`` additionally preserves one
    checkpoint per period from deletion.
    """

    def __init__(self, checkpoint_dir: str, max_to_keep: int | None = 5, keep_checkpoint_every_n_hours: float = 10000.0) -> None:
        self.checkpoint_dir = os.path.abspath(checkpoint_dir)
        self.max_to_keep = max_to_keep
        self._preserve_secs = keep_checkpoint_every_n_hours * 3600.0
        self._next_preserve_time = time.time() + self._preserve_secs
        self._remove_stale_temp_files()

    def _remove_stale_temp_files(self) -> None:
        """Deletes temporary files an interrupted save left in the directory."""
        try:
            names = os.listdir(self.checkpoint_dir)
        except OSError:
            return
        for name in names:
            if name.startswith(TMP_PREFIX):
                try:
                    os.unlink(os.path.join(self.checkpoint_dir, name))
                except OSError:
                    pass

    def save(self, basename: str, step: int, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> str:
        """Writes ``<basename>-<step>`` atomically, updates the index and prunes; returns the prefix."""
        os.makedirs(self.checkpoint_dir, exist_ok=True)
        prefix = os.path.join(self.checkpoint_dir, f"{basename}-{int(step)}")
        data = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, metadata=metadata)
        atomic_write(prefix + SUFFIX, data)
        _, kept = read_index(self.checkpoint_dir)
        kept = [p for p in kept if p != prefix and exists(p)] + [prefix]
        removed: list[str] = []
        if self.max_to_keep:
            removed, kept = kept[: -self.max_to_keep], kept[-self.max_to_keep :]
        else:
            kept = [prefix]
        _write_index(self.checkpoint_dir, prefix, kept)
        for old in removed:
            self._delete_or_preserve(old)
        return prefix

    def _delete_or_preserve(self, prefix: str) -> None:
        try:
            mtime = os.path.getmtime(prefix + SUFFIX)
        except OSError:
            return
        if mtime >= self._next_preserve_time:
            self._next_preserve_time = mtime + self._preserve_secs
            return
        try:
            os.unlink(prefix + SUFFIX)
        except OSError:
            pass
