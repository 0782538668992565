"""TensorBoard event files: a writer per directory, and a reader for the scalars written."""

from __future__ import annotations

import atexit
import glob
import os
import re
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import google_crc32c
import numpy as np
from tensorboardX import record_writer
from tensorboardX.event_file_writer import EventsWriter
from tensorboardX.proto import event_pb2, summary_pb2
from tensorboardX.proto.tensor_pb2 import TensorProto
from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto

__all__ = [
    "SummaryWriter",
    "writer_for",
    "flush_writers",
    "close_writers",
    "read_events",
    "read_scalar_events",
    "read_eval_metrics",
    "read_scalars",
]


# tensorboardX frames each event with a CRC32C, computed in pure Python (about 1 ms per histogram
# event) unless the LGPL ``crc32c`` package is installed: google-crc32c gives the same value in C.
record_writer.crc32c = lambda data: google_crc32c.value(bytes(data))


def _default_bins() -> list[float]:
    """TensorFlow's histogram bucket limits: ±1e-12·1.1^k up to 1e20, and 0."""
    limits, v = [], 1e-12
    while v < 1e20:
        limits.append(v)
        v *= 1.1
    return [-x for x in reversed(limits)] + [0.0] + limits


_DEFAULT_BINS = _default_bins()
_INVALID_TAG_CHARACTERS = re.compile(r"[^-/\w\.]")


def _histogram_tag(tag: str) -> str:
    """A histogram's tag as TensorBoard's node-name rules allow (other characters become ``_``)."""
    return _INVALID_TAG_CHARACTERS.sub("_", tag).lstrip("/")


def histogram_proto(values: Any) -> summary_pb2.HistogramProto:
    """The ``HistogramProto`` of ``values`` over ``_DEFAULT_BINS``: the buckets from the first to
    the last non-empty one, after an empty one on the left (TensorBoard reads right limits).

    Computed without BLAS: numpy's threaded ``dot`` wakes OpenBLAS threads that then spin for
    a while, taking a core from the training step on a busy machine."""
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    if flat.size == 0:
        raise ValueError("A histogram summary needs at least one value; got an empty array.")
    counts, limits = np.histogram(flat, bins=_DEFAULT_BINS)
    filled = np.flatnonzero(counts)
    # No value in any bucket (all NaN or beyond ±1e20): two empty buckets; min, max and sum show it.
    first, last = (int(filled[0]), int(filled[-1])) if filled.size else (0, 0)
    kept = counts[first - 1 : last + 1] if first > 0 else np.concatenate([[0], counts[: last + 1]])
    return summary_pb2.HistogramProto(
        min=float(flat.min()),
        max=float(flat.max()),
        num=flat.size,
        sum=float(flat.sum()),
        sum_squares=float(np.square(flat).sum()),
        bucket_limit=limits[first : last + 2].tolist(),
        bucket=kept.tolist(),
    )


class SummaryWriter:
    """Writes scalar and histogram summaries to one ``events.out.tfevents.*`` file, synchronously.

    Summaries are written every ``save_summary_steps`` steps, so a direct write (buffered by the
    file, flushed at the end of each train/evaluate call) costs less than a writer thread.
    """

    def __init__(self, logdir: str) -> None:
        os.makedirs(logdir, exist_ok=True)
        self.logdir = logdir
        self._writer = EventsWriter(os.path.join(logdir, "events"), f".{os.getpid()}")
        self._lock = threading.Lock()

    def _write(self, summary: summary_pb2.Summary, step: int) -> None:
        with self._lock:
            self._writer.write_event(event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary))

    def add_scalars(self, values: dict[str, float], step: int) -> None:
        """Writes ``{tag: value}`` as simple_value summaries at ``step`` (one event)."""
        summary = summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag=tag, simple_value=float(v)) for tag, v in values.items()]
        )
        self._write(summary, step)

    def add_histogram(self, tag: str, values: Any, step: int) -> None:
        """Writes a histogram of ``values`` (any shape, not empty) over TensorFlow's buckets at ``step``."""
        value = summary_pb2.Summary.Value(tag=_histogram_tag(tag), histo=histogram_proto(values))
        self._write(summary_pb2.Summary(value=[value]), step)

    def add_text(self, tag: str, text: str, step: int) -> None:
        """Writes a string as a tensor summary (as TF writes ``checkpoint_path``)."""
        tensor = TensorProto(dtype="DT_STRING", string_val=[text.encode()], tensor_shape=TensorShapeProto())
        self._write(summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, tensor=tensor)]), step)

    def flush(self) -> None:
        with self._lock:
            self._writer.flush()

    def close(self) -> None:
        with self._lock:
            self._writer.close()


_WRITERS: dict[str, SummaryWriter] = {}
_WRITERS_LOCK = threading.Lock()


def writer_for(logdir: str) -> SummaryWriter:
    """The process-wide writer of ``logdir``: one event file per directory and process, kept
    open (as TensorFlow's SummaryWriterCache does) so later calls append to it."""
    key = os.path.abspath(logdir)
    with _WRITERS_LOCK:
        writer = _WRITERS.get(key)
        if writer is not None and not os.path.isdir(key):
            writer.close()
            writer = None
        if writer is None:
            writer = _WRITERS[key] = SummaryWriter(key)
        return writer


def flush_writers(logdir: str | None = None) -> None:
    """Flushes the writer of ``logdir`` (or all writers) to disk."""
    with _WRITERS_LOCK:
        writers = [_WRITERS.get(os.path.abspath(logdir))] if logdir else list(_WRITERS.values())
    for writer in writers:
        if writer is not None:
            writer.flush()


def close_writers() -> None:
    """Flushes and closes every writer (at interpreter exit)."""
    with _WRITERS_LOCK:
        writers = list(_WRITERS.values())
        _WRITERS.clear()
    for writer in writers:
        writer.close()


atexit.register(close_writers)


def read_events(path: str) -> Iterator[event_pb2.Event]:
    """The events of one event file (a truncated last record is ignored)."""
    with open(path, "rb") as f:
        while True:
            header = f.read(12)
            if len(header) < 12:
                return
            (length,) = struct.unpack("<Q", header[:8])
            data = f.read(length)
            if len(data) < length or len(f.read(4)) < 4:
                return
            event = event_pb2.Event()
            event.ParseFromString(data)
            yield event


def read_scalar_events(path: str) -> Iterator[tuple[int, dict[str, float]]]:
    """``(step, {tag: value})`` for each event of one file that holds scalar summaries."""
    for event in read_events(path):
        if event.HasField("summary"):
            values = {v.tag: v.simple_value for v in event.summary.value if v.HasField("simple_value")}
            if values:
                yield event.step, values


def read_eval_metrics(eval_dir: str) -> dict[int, dict[str, float]]:
    """``{step: {tag: value}}`` of every scalar summary in ``eval_dir``, in step order."""
    metrics: dict[int, dict[str, float]] = {}
    for path in sorted(glob.glob(os.path.join(eval_dir, "events.out.tfevents.*"))):
        for step, values in read_scalar_events(path):
            metrics.setdefault(step, {}).update(values)
    return dict(sorted(metrics.items()))


def read_scalars(logdir: str) -> dict[str, list[tuple[int, float]]]:
    """``{tag: [(step, value), ...]}`` of all scalar summaries in ``logdir``'s event files."""
    out: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))):
        for event in read_events(path):
            if event.HasField("summary"):
                for value in event.summary.value:
                    if value.HasField("simple_value"):
                        out.setdefault(value.tag, []).append((event.step, value.simple_value))
    return out
