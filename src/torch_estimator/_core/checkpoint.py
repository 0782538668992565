"""The model_dir checkpoint layout: ``checkpoint`` index + ``model.ckpt-<step>.safetensors``.

Checkpoints TensorFlow wrote (``model.ckpt-<step>.index`` + ``.data-*`` shards, named by the same
``checkpoint`` index) are read too (``_core.tf_checkpoint``), never written or deleted: a
model_dir tf.estimator trained continues here, with its newer checkpoints in this format.

Saves are atomic: the data file is written under a temporary name, fsynced and renamed, then
the index is replaced the same way, and only then are checkpoints beyond
``keep_checkpoint_max`` deleted. A crash at any instant leaves the previous checkpoint named by
the index and loadable. Every tensor carries a CRC32C (``_tensor_file``), verified on load.

Reading never restarts silently: a damaged index (empty, cut, garbage, naming a file that is
gone) is replaced by the newest checkpoint file on disk, and a damaged latest checkpoint by the
newest intact older one, each with a WARNING naming what was wrong; with nothing intact left,
loading raises.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import tempfile
import time

import numpy as np
import torch

from torch_estimator._core import tensor_file as _tensor_file
from torch_estimator._core.errors import DataLossError, NotFoundError
from torch_estimator._core.tf_checkpoint import INDEX_SUFFIX, TfCheckpoint, is_checkpoint

__all__ = [
    "Saver",
    "Index",
    "latest_checkpoint",
    "read_index",
    "load",
    "load_newest_intact",
    "list_variables",
    "load_variable",
    "resolve",
    "is_tensorflow",
    "file_of",
    "describe",
    "read_array",
]

logger = logging.getLogger("torch_estimator")

INDEX = "checkpoint"
SUFFIX = ".safetensors"
TMP_PREFIX = ".tmp-"
FORMAT = "torch_estimator.checkpoint/2"
_UMASK = os.umask(0)
os.umask(_UMASK)
_PATH_LINE = re.compile(r'^(model_checkpoint_path|all_model_checkpoint_paths):\s*"([^"]*)"$')
_NUMBER_LINE = re.compile(r"^(all_model_checkpoint_timestamps|last_preserved_timestamp):\s*([-+0-9.eE]+|inf|nan)$")
_CHECKPOINT_FILE = re.compile(r"^(.+)-(\d+)(" + re.escape(SUFFIX) + "|" + re.escape(INDEX_SUFFIX) + ")$")
_warned: set[tuple[str, str]] = set()


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


def step_of(prefix: str) -> int | None:
    """The step in a checkpoint prefix (``.../model.ckpt-120`` -> 120), or None."""
    match = _CHECKPOINT_FILE.match(os.path.basename(prefix) + SUFFIX)
    return int(match.group(2)) if match else None


def is_tensorflow(prefix: str) -> bool:
    """Whether ``prefix`` is a checkpoint TensorFlow wrote (and none of ours has that name)."""
    return not os.path.isfile(prefix + SUFFIX) and is_checkpoint(prefix)


def file_of(prefix: str) -> str:
    """The file that names checkpoint ``prefix`` (its ``.safetensors``, or TensorFlow's ``.index``)."""
    return prefix + (INDEX_SUFFIX if is_tensorflow(prefix) else SUFFIX)


def on_disk(checkpoint_dir: str) -> list[str]:
    """Prefixes of the checkpoints in ``checkpoint_dir`` (either format), newest step first."""
    try:
        names = os.listdir(checkpoint_dir)
    except OSError:
        return []
    found = {
        (int(m.group(2)), os.path.join(checkpoint_dir, m.group(1) + "-" + m.group(2)))
        for m in map(_CHECKPOINT_FILE.match, names)
        if m
    }
    return [prefix for _, prefix in sorted(found, reverse=True)]


@dataclasses.dataclass
class Index:
    """What ``checkpoint_dir/checkpoint`` says, and why it cannot be trusted (``problem``)."""

    latest: str | None
    kept: list[str]
    last_preserved: float = 0.0
    problem: str | None = None


def read_index(checkpoint_dir: str) -> Index:
    """Parses ``checkpoint_dir/checkpoint`` (prefixes made absolute); never raises on damage.

    ``problem`` is None for a sound index, or for no index in a directory without checkpoints.
    """
    path = os.path.join(checkpoint_dir, INDEX)
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except FileNotFoundError:
        return Index(None, [], problem="is missing" if on_disk(checkpoint_dir) else None)
    except (OSError, UnicodeDecodeError) as e:
        return Index(None, [], problem=f"is unreadable ({e})")
    index = Index(None, [])
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        path_match, number_match = _PATH_LINE.match(line), _NUMBER_LINE.match(line)
        if path_match:
            value = path_match.group(2)
            value = value if os.path.isabs(value) else os.path.join(os.path.abspath(checkpoint_dir), value)
            if path_match.group(1) == "model_checkpoint_path":
                index.latest = value
            else:
                index.kept.append(value)
        elif number_match:
            if number_match.group(1) == "last_preserved_timestamp":
                index.last_preserved = float(number_match.group(2))
        else:
            index.problem = f"is damaged (line {number} is not a checkpoint state entry: {line[:80]!r})"
            return index
    if not text.strip():
        index.problem = "is empty"
    elif not text.endswith("\n"):
        index.problem = "is cut short (no final newline)"
    elif index.latest is None:
        index.problem = "names no model_checkpoint_path"
    elif not exists(index.latest):
        index.problem = (
            f"names {os.path.basename(index.latest)}, whose file {index.latest + SUFFIX} (or TensorFlow's "
            f"{index.latest + INDEX_SUFFIX}) does not exist"
        )
    return index


def _write_index(checkpoint_dir: str, latest: str, kept: list[str], last_preserved: float) -> None:
    def rel(p: str) -> str:
        return os.path.relpath(p, checkpoint_dir) if os.path.dirname(p) == os.path.abspath(checkpoint_dir) else p

    lines = [f'model_checkpoint_path: "{rel(latest)}"'] + [f'all_model_checkpoint_paths: "{rel(p)}"' for p in kept]
    if last_preserved:
        lines.append(f"last_preserved_timestamp: {last_preserved!r}")
    atomic_write(os.path.join(checkpoint_dir, INDEX), ("\n".join(lines) + "\n").encode())


def exists(prefix: str) -> bool:
    """Whether checkpoint ``prefix`` exists (in either format)."""
    return os.path.isfile(prefix + SUFFIX) or is_checkpoint(prefix)


def _warn_once(checkpoint_dir: str, message: str) -> None:
    key = (os.path.abspath(checkpoint_dir), message)
    if key not in _warned:
        _warned.add(key)
        logger.warning("%s", message)


def latest_checkpoint(checkpoint_dir: str | None) -> str | None:
    """The newest checkpoint prefix in ``checkpoint_dir``, or None when it holds none.

    A damaged or missing index gives the newest checkpoint file on disk, with a WARNING; a
    damaged index with no checkpoint file left raises ``NotFoundError`` (training would
    otherwise restart from step 0 over a model_dir that had checkpoints).
    """
    if not checkpoint_dir:
        return None
    index = read_index(checkpoint_dir)
    if index.problem is None:
        return index.latest
    files = on_disk(checkpoint_dir)
    path = os.path.join(checkpoint_dir, INDEX)
    if not files:
        raise NotFoundError(
            f"The checkpoint index {path} {index.problem}, and {checkpoint_dir} holds no checkpoint file to recover "
            "from. Delete the index to start from scratch."
        )
    _warn_once(
        checkpoint_dir,
        f"The checkpoint index {path} {index.problem}; using the newest checkpoint file on disk, {file_of(files[0])}.",
    )
    return files[0]


def resolve(path: str) -> str | None:
    """A checkpoint prefix from a prefix, a ``.safetensors`` file (or TensorFlow's ``.index``) or a
    directory (its latest)."""
    for suffix in (SUFFIX, INDEX_SUFFIX):
        if path.endswith(suffix) and exists(path[: -len(suffix)]):
            return path[: -len(suffix)]
    if exists(path):
        return path
    if os.path.isdir(path):
        return latest_checkpoint(path)
    return None


def _tensor(value: np.ndarray, name: str, prefix: str) -> torch.Tensor:
    if value.dtype == object:
        raise ValueError(
            f"TensorFlow checkpoint {prefix} holds {name!r}, a string tensor: torch_estimator variables hold numbers "
            "only. Warm-start from the checkpoint with vars_to_warm_start leaving it out."
        )
    return torch.from_numpy(value)


_READERS: dict[str, tuple[tuple[int, int], TfCheckpoint]] = {}


def _tf(prefix: str) -> TfCheckpoint:
    """The reader of TensorFlow checkpoint ``prefix`` (its index parsed once while unchanged)."""
    try:
        stat = os.stat(prefix + INDEX_SUFFIX)
    except OSError:
        return TfCheckpoint(prefix)  # raises NotFoundError naming the file
    key = (stat.st_mtime_ns, stat.st_size)
    cached = _READERS.get(prefix)
    if cached is None or cached[0] != key:
        cached = _READERS[prefix] = (key, TfCheckpoint(prefix))
    return cached[1]


def load(prefix: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """All tensors (checksums verified) and the metadata of a checkpoint (none for TensorFlow's)."""
    if is_tensorflow(prefix):
        tf = _tf(prefix)
        return {name: _tensor(tf.read(name), name, prefix) for name in tf.names()}, {}
    return _tensor_file.read(prefix + SUFFIX, "checkpoint")


def load_newest_intact(checkpoint_dir: str, first: str) -> tuple[str, dict[str, torch.Tensor], dict[str, str]]:
    """Loads ``first`` (the latest checkpoint of ``checkpoint_dir``) or, when it is damaged, the
    newest intact older one, with a WARNING; raises ``DataLossError`` when none is intact."""
    first_step = step_of(first)
    older = [
        p for p in on_disk(checkpoint_dir) if p != first and first_step is not None and (step_of(p) or 0) < first_step
    ]
    failures: list[str] = []
    for prefix in [first] + older:
        try:
            tensors, metadata = load(prefix)
        except (DataLossError, NotFoundError) as e:
            failures.append(str(e))
            continue
        if failures:
            logger.warning(
                "The latest checkpoint is damaged (%s); restoring the newest intact checkpoint, %s.",
                "; ".join(failures),
                prefix,
            )
        return prefix, tensors, metadata
    raise DataLossError(f"No intact checkpoint in {checkpoint_dir}: " + "; ".join(failures))


def list_variables(prefix: str) -> list[tuple[str, list[int]]]:
    """``[(name, shape)]`` of a checkpoint, sorted by name."""
    if is_tensorflow(prefix):
        return sorted(_tf(prefix).shapes().items())
    return sorted(_tensor_file.read_shapes(prefix + SUFFIX, "checkpoint").items())


def load_variable(prefix: str, name: str) -> torch.Tensor:
    """One tensor of a checkpoint, checksum verified."""
    if is_tensorflow(prefix):
        return _tensor(_tf(prefix).read(name), name, prefix)
    return _tensor_file.read_tensor(prefix + SUFFIX, name, "checkpoint")


def describe(prefix: str) -> list[tuple[str, str, list[int]]]:
    """``[(name, dtype, shape)]`` of a checkpoint of either format, sorted by name (dtypes as
    TensorFlow names them: 'float32', 'int64', 'string', ...)."""
    if is_tensorflow(prefix):
        tf = _tf(prefix)
        return [(name, tf.dtype_name(name), shape) for name, shape in tf.shapes().items()]
    specs = _tensor_file.read_specs(prefix + SUFFIX, "checkpoint")
    return [(name, dtype, shape) for name, (dtype, shape) in sorted(specs.items())]


def read_array(prefix: str, name: str) -> np.ndarray:
    """One tensor of a checkpoint of either format as a numpy array (a TensorFlow string tensor
    as an object array of bytes)."""
    if is_tensorflow(prefix):
        return _tf(prefix).read(name)
    return load_variable(prefix, name).numpy()


class Saver:
    """Writes checkpoints into one directory and keeps the newest ``max_to_keep``.

    ``max_to_keep`` of 0 or None keeps every file (the index then names only the latest), as
    TensorFlow's Saver does; ``keep_checkpoint_every_n_hours`` additionally preserves one
    checkpoint per period from deletion. ``start_step`` is the step training resumed from:
    checkpoint files of later steps that this saver did not write belong to an abandoned run
    (a crash between a save and its index update, or a damaged checkpoint skipped at restore)
    and are deleted at the next save, as are files a crash left between an index update and
    the pruning that follows it. The caller must be the directory's only writer (training holds
    the model_dir lock).
    """

    def __init__(
        self,
        checkpoint_dir: str,
        max_to_keep: int | None = 5,
        keep_checkpoint_every_n_hours: float = 10000.0,
        start_step: int | None = None,
    ) -> None:
        self.checkpoint_dir = os.path.abspath(checkpoint_dir)
        self.max_to_keep = max_to_keep
        self._preserve_secs = keep_checkpoint_every_n_hours * 3600.0
        self._next_preserve_time = time.time() + self._preserve_secs
        self._start_step = start_step
        self._written: set[str] = set()
        self._remove_stale_temp_files()

    def _remove_stale_temp_files(self) -> None:
        """Deletes temporary files an interrupted save left in the directory."""
        try:
            names = os.listdir(self.checkpoint_dir)
        except OSError:
            return
        for name in names:
            if name.startswith(TMP_PREFIX):
                _unlink(os.path.join(self.checkpoint_dir, name))

    def save(self, basename: str, step: int, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> str:
        """Writes ``<basename>-<step>`` atomically, updates the index and prunes; returns the prefix."""
        os.makedirs(self.checkpoint_dir, exist_ok=True)
        step = int(step)
        prefix = os.path.join(self.checkpoint_dir, f"{basename}-{step}")
        atomic_write(prefix + SUFFIX, _tensor_file.serialize(tensors, {**metadata, "format": FORMAT}))
        self._written.add(prefix)
        index = read_index(self.checkpoint_dir)
        previous = (
            index.kept if index.problem is None else sorted(on_disk(self.checkpoint_dir), key=lambda p: step_of(p) or 0)
        )
        kept = [p for p in previous if p != prefix and exists(p) and (step_of(p) or 0) < step] + [prefix]
        removed: list[str] = []
        if self.max_to_keep:
            removed, kept = kept[: -self.max_to_keep], kept[-self.max_to_keep :]
        else:
            kept = [prefix]
        last_preserved = index.last_preserved
        deleted = []
        for old in removed:
            if self._preserve(old):
                last_preserved = max(last_preserved, _file_mtime(old))
            else:
                deleted.append(old)
        _write_index(self.checkpoint_dir, prefix, kept, last_preserved)
        for old in deleted + self._abandoned(kept, index.latest if index.problem is None else None, last_preserved):
            _unlink(old + SUFFIX)
        return prefix

    def _preserve(self, prefix: str) -> bool:
        """Whether ``keep_checkpoint_every_n_hours`` keeps this checkpoint leaving the window."""
        mtime = _file_mtime(prefix)
        if mtime >= self._next_preserve_time:
            self._next_preserve_time = mtime + self._preserve_secs
            return True
        return False

    def _abandoned(self, kept: list[str], previous_latest: str | None, last_preserved: float) -> list[str]:
        """Checkpoint files no index will name again (see the class docstring)."""
        if self._start_step is None:
            return []
        referenced = set(kept) | self._written
        latest_step = step_of(kept[-1]) or 0
        out = []
        for prefix in on_disk(self.checkpoint_dir):
            if prefix in referenced:
                continue
            step = step_of(prefix) or 0
            if step > self._start_step:
                out.append(prefix)  # a later step of a run that did not finish
            elif (
                self.max_to_keep
                and step < latest_step
                and _file_mtime(prefix) > last_preserved
                and previous_latest is not None
            ):
                out.append(prefix)  # fell out of the window just before a crash (not a preserved one)
        return out


def _file_mtime(prefix: str) -> float:
    try:
        return os.path.getmtime(file_of(prefix))
    except OSError:
        return 0.0


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
