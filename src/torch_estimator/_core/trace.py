"""The host / tensor split of a model_fn, as export sees it.

A model_fn mixes host work (feature transforms: vocabulary lookups, hashing, bucketizing; class
names as strings) with tensor work (lookups, layers, the head). Export runs the model_fn twice
under an ``ExportTrace``:

* ``record``: on a sample batch, eagerly. Every feature-column layer call hands its host inputs
  (a flat dict of tensors of a fixed structure) and its configuration to the trace; every string
  output (``lookup_strings``) is remembered with the integer tensor and table it comes from.
* ``replay``: under ``torch.export``. Layer calls take their host inputs from the program's
  inputs instead of transforming features, and string outputs become ``StringLookup`` markers
  whose integer tensors are program outputs.

What a layer records is data (column configurations), so a loader can rebuild the host half
without the model's code; the tensor half is the exported program.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["ExportTrace", "StringLookup", "current_trace", "lookup_strings", "NotExportableError"]


class NotExportableError(ValueError):
    """A model (or part of it) that export cannot write as data plus a tensor program."""


class StringLookup:
    """A string output during replay: ``table[ids]``, computed on the host after the program."""

    def __init__(self, ids: torch.Tensor, table: Sequence[bytes]) -> None:
        self.ids = ids
        self.table = tuple(table)
        self.shape = tuple(ids.shape)
        self.dtype = np.dtype(object)


class ExportTrace:
    """State of one export trace (see the module docstring)."""

    def __init__(self, mode: str, layer_inputs: Sequence[dict[str, torch.Tensor]] | None = None) -> None:
        if mode not in ("record", "replay"):
            raise ValueError(f"mode must be 'record' or 'replay'; got {mode!r}.")
        self.mode = mode
        #: Per layer call: its configuration (record) and host inputs (record: produced; replay: given).
        self.layer_configs: list[dict[str, Any]] = []
        self.layer_inputs: list[dict[str, torch.Tensor]] = list(layer_inputs or [])
        self._next = 0
        #: Record mode: id(string array) -> (array, integer tensor, table).
        self.string_lookups: dict[int, tuple[np.ndarray, torch.Tensor, tuple[bytes, ...]]] = {}

    def layer_call(self, config: dict[str, Any], host: dict[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
        """Record: stores ``config`` and ``host``, returns ``host``. Replay: the next call's inputs."""
        if self.mode == "record":
            assert host is not None
            self.layer_configs.append(config)
            self.layer_inputs.append(host)
            return host
        if self._next >= len(self.layer_inputs):
            raise NotExportableError("The model_fn calls more feature-column layers when traced than when recorded.")
        inputs = self.layer_inputs[self._next]
        self._next += 1
        return inputs


_TRACE: contextvars.ContextVar[ExportTrace | None] = contextvars.ContextVar(
    "torch_estimator_export_trace", default=None
)


def current_trace() -> ExportTrace | None:
    """The active export trace, or None outside export."""
    return _TRACE.get()


@contextlib.contextmanager
def tracing(trace: ExportTrace) -> Iterator[ExportTrace]:
    token = _TRACE.set(trace)
    try:
        yield trace
    finally:
        _TRACE.reset(token)


@functools.lru_cache(maxsize=64)
def _table_array(table: tuple[bytes, ...]) -> np.ndarray:
    """``table`` as an object array, built once per table (looked up every predict/eval batch)."""
    array = np.empty(len(table), dtype=object)
    array[:] = table
    array.flags.writeable = False
    return array


def lookup_strings(ids: torch.Tensor, table: Sequence[bytes]) -> Any:
    """``table[ids]`` as an object array of bytes (a ``StringLookup`` while replaying for export)."""
    trace = current_trace()
    if trace is not None and trace.mode == "replay":
        return StringLookup(ids, table)
    array = _table_array(tuple(table))[ids.detach().cpu().numpy()]
    if trace is not None:
        trace.string_lookups[id(array)] = (array, ids, tuple(table))
    return array
