"""Server-side batching (TF Serving's ``--enable_batching``): concurrent calls of one signature are
merged into one ``run`` over the concatenated inputs, and the outputs are split back per call.

A batch thread takes whatever calls are queued when it is free (and, with ``batch_timeout_micros``,
waits up to that long for the batch to fill), so an idle server adds no latency and a busy one runs
fewer, larger batches. Calls whose inputs cannot be stacked with the others (different trailing
shapes or dtypes) go to a later batch; a call larger than ``max_batch_size`` runs on its own."""

from __future__ import annotations

import collections
import dataclasses
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future

import numpy as np

__all__ = ["BatchingParameters", "read_batching_parameters", "SignatureBatcher"]

logger = logging.getLogger(__name__)

RunFn = Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]


@dataclasses.dataclass(frozen=True)
class BatchingParameters:
    """How calls are merged (the fields of TF Serving's ``BatchingParameters`` this server uses).

    Args:
      max_batch_size: most rows (instances) in one merged ``run``.
      batch_timeout_micros: how long a batch may wait to fill once its first call arrived; 0 runs
        whatever is queued as soon as a batch thread is free.
      num_batch_threads: merged batches of one signature that may run at the same time.
    """

    max_batch_size: int = 1000
    batch_timeout_micros: int = 0
    num_batch_threads: int = 1

    def __post_init__(self) -> None:
        for field in ("max_batch_size", "num_batch_threads"):
            if getattr(self, field) < 1:
                raise ValueError(f"BatchingParameters.{field} must be >= 1; got {getattr(self, field)}.")
        if self.batch_timeout_micros < 0:
            raise ValueError(f"BatchingParameters.batch_timeout_micros must be >= 0; got {self.batch_timeout_micros}.")


# Fields of TF Serving's BatchingParameters that have no effect here (calls are bounded by the
# request thread pool, and inputs are never padded).
_IGNORED_FIELDS = {
    "max_enqueued_batches",
    "thread_pool_name",
    "allowed_batch_sizes",
    "pad_variable_length_inputs",
    "enable_large_batch_splitting",
    "max_execution_batch_size",
}
_FIELD = re.compile(r"(\w+)\s*(?:\{\s*value\s*:\s*([^\s}]+)\s*\}|:\s*([^\s{}]+))")


def read_batching_parameters(path: str) -> BatchingParameters:
    """Reads a ``--batching_parameters_file`` (protobuf text format, as TF Serving's), e.g.
    ``max_batch_size { value: 128 } batch_timeout_micros { value: 2000 }``."""
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"#[^\n]*", "", f.read())
    values: dict[str, int] = {}
    for match in _FIELD.finditer(text):
        name, value = match.group(1), match.group(2) or match.group(3)
        if name in _IGNORED_FIELDS:
            logger.warning("batching parameter %s is not used by this server; ignored", name)
        elif name in ("max_batch_size", "batch_timeout_micros", "num_batch_threads"):
            values[name] = int(value)
        else:
            raise ValueError(
                f"{path}: unknown batching parameter {name!r}; "
                "expected max_batch_size, batch_timeout_micros or num_batch_threads."
            )
    return BatchingParameters(**values)


@dataclasses.dataclass
class _Call:
    inputs: Mapping[str, np.ndarray]
    rows: int
    layout: tuple
    future: Future = dataclasses.field(default_factory=Future)
    enqueued: float = dataclasses.field(default_factory=time.monotonic)


def _layout(inputs: Mapping[str, np.ndarray]) -> tuple | None:
    """What calls must share to be stacked (per input: dtype and trailing shape); None when the
    inputs have no common first (batch) dimension."""
    if not inputs:
        return None
    arrays = [np.asarray(v) for v in inputs.values()]
    if any(a.ndim == 0 for a in arrays) or len({a.shape[0] for a in arrays}) != 1:
        return None
    return tuple((name, a.dtype.str, a.shape[1:]) for name, a in sorted(zip(inputs, arrays), key=lambda item: item[0]))


class SignatureBatcher:
    """Merges concurrent ``__call__``s of one signature's ``run``; callers block until their rows are done.

    Example:
      batcher = SignatureBatcher(signature.run, BatchingParameters(max_batch_size=64))
      outputs = batcher({"x": np.ones((1, 3), np.float32)})  # from many threads at once
      batcher.close()
    """

    def __init__(self, run: RunFn, parameters: BatchingParameters, name: str = "") -> None:
        self.run = run
        self.parameters = parameters
        self.name = name
        self._queue: collections.deque[_Call] = collections.deque()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._unsplittable = False

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        layout = _layout(inputs)
        rows = next(iter(inputs.values())).shape[0] if layout is not None else 0
        if layout is None or rows > self.parameters.max_batch_size or self._unsplittable:
            return self.run(inputs)
        call = _Call(inputs, rows, layout)
        with self._cond:
            if self._closed:
                return self.run(inputs)
            self._queue.append(call)
            if len(self._threads) < self.parameters.num_batch_threads:
                thread = threading.Thread(
                    target=self._loop, name=f"batch-{self.name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            self._cond.notify()
        return call.future.result()

    def close(self) -> None:
        """Stops the batch threads once the calls already queued are done."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _next_batch(self) -> list[_Call] | None:
        timeout = self.parameters.batch_timeout_micros / 1e6
        limit = self.parameters.max_batch_size
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if not self._queue:
                return None
            if timeout > 0:
                deadline = self._queue[0].enqueued + timeout
                while (
                    not self._closed
                    and sum(c.rows for c in self._queue) < limit
                    and (remaining := deadline - time.monotonic()) > 0
                ):
                    self._cond.wait(remaining)
            first = self._queue.popleft()
            batch, rows = [first], first.rows
            kept: collections.deque[_Call] = collections.deque()
            while self._queue:
                call = self._queue.popleft()
                if call.layout == first.layout and rows + call.rows <= limit:
                    batch.append(call)
                    rows += call.rows
                else:
                    kept.append(call)
            self._queue.extendleft(reversed(kept))
            return batch

    def _loop(self) -> None:
        while (batch := self._next_batch()) is not None:
            try:
                self._execute(batch)
            except BaseException as e:  # never leave a caller waiting
                for call in batch:
                    if not call.future.done():
                        call.future.set_exception(e)

    def _execute(self, batch: list[_Call]) -> None:
        if len(batch) > 1:
            try:
                outputs = self.run({name: np.concatenate([c.inputs[name] for c in batch]) for name in batch[0].inputs})
            except Exception:  # rerun one by one below, so each caller gets its own error
                outputs = None
            parts = _split(outputs, [c.rows for c in batch]) if outputs is not None else None
            if parts is not None:
                for call, part in zip(batch, parts):
                    call.future.set_result(part)
                return
            if outputs is not None:
                logger.warning(
                    "signature %s has outputs that are not batch-major; batching turned off for it", self.name
                )
                self._unsplittable = True
        for call in batch:
            try:
                call.future.set_result(self.run(call.inputs))
            except Exception as e:  # handed to the caller
                call.future.set_exception(e)


def _split(outputs: Mapping[str, np.ndarray], rows: list[int]) -> list[dict[str, np.ndarray]] | None:
    """Per-call outputs, or None when some output is not batch-major (first dimension = total rows)."""
    total = sum(rows)
    arrays = {name: np.asarray(value) for name, value in outputs.items()}
    if any(a.ndim == 0 or a.shape[0] != total for a in arrays.values()):
        return None
    bounds = np.cumsum([0, *rows])
    return [{name: a[start:end] for name, a in arrays.items()} for start, end in zip(bounds[:-1], bounds[1:])]
