"""TensorBoard event files: a writer per directory, and a reader for the scalars written."""

from __future__ import annotations

import glob
import os
import struct
import threading
from typing import Any, Iterator

import numpy as np
from tensorboardX import FileWriter
from tensorboardX.proto import event_pb2, summary_pb2
from tensorboardX.summary import histogram

__all__ = ["SummaryWriter", "writer_for", "close_writers", "read_events", "read_scalars"]


class SummaryWriter:
    """Writes scalar and histogram summaries to one ``events.out.tfevents.*`` file."""

    def __init__(self, logdir: str) -> None:
        os.makedirs(logdir, exist_ok=True)
        self.logdir = logdir
        self._writer = FileWriter(logdir, max_queue=100, flush_secs=30)
        self._lock = threading.Lock()

    def add_scalars(self, values: dict[str, float], step: int) -> None:
        """Writes ``{tag: value}`` as simple_value summaries at ``step`` (one event)."""
        summary = summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag=tag, simple_value=float(v)) for tag, v in values.items()]
        )
        with self._lock:
            self._writer.add_summary(summary, int(step))

    def add_histogram(self, tag: str, values: Any, step: int) -> None:
        with self._lock:
            self._writer.add_summary(histogram(tag, np.asarray(values, dtype=np.float64), bins="tensorflow"), int(step))

    def add_text(self, tag: str, text: str, step: int) -> None:
        """Writes a string as a tensor summary (as TF writes ``checkpoint_path``)."""
        from tensorboardX.proto.tensor_pb2 import TensorProto
        from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto

        tensor = TensorProto(dtype="DT_STRING", string_val=[text.encode()], tensor_shape=TensorShapeProto())
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, tensor=tensor)])
        with self._lock:
            self._writer.add_summary(summary, int(step))

    def flush(self) -> None:
        with self._lock:
            self._writer.flush()

    def close(self) -> None:
        with self._lock:
            self._writer.close()


_WRITERS: dict[str, SummaryWriter] = {}
_WRITERS_LOCK = threading.Lock()


def writer_for(logdir: str) -> SummaryWriter:
    """The process-wide writer of ``logdir`` (one event file per directory and process)."""
    key = os.path.abspath(logdir)
    with _WRITERS_LOCK:
        writer = _WRITERS.get(key)
        if writer is None:
            writer = _WRITERS[key] = SummaryWriter(key)
        return writer


def close_writers(logdir: str | None = None) -> None:
    """Flushes and closes the writer of ``logdir`` (or all writers)."""
    with _WRITERS_LOCK:
        keys = [os.path.abspath(logdir)] if logdir else list(_WRITERS)
        for key in keys:
            writer = _WRITERS.pop(key, None)
            if writer is not None:
                writer.close()


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
