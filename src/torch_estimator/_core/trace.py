"""The host / tensor split of a model_fn, and the interface export traces it through.

A model_fn mixes host work (feature transforms: vocabulary lookups, hashing, bucketizing; class
names as strings) with tensor work (lookups, layers, the head). A feature-column layer splits each
call in two: its host inputs (``HostInputs``, typed records of tensors computed from the raw
features) and a tensor half computed from them. A head turns class ids into names with
``lookup_strings``.

Export runs the model_fn under an ``ExportTrace``, which the layers and ``lookup_strings``
consult (the implementations are export's):

* a recorder, eagerly on a sample batch: it computes each layer call's host inputs and keeps them
  with the layer's configuration, and remembers each string output with its ids and table;
* a replayer, under ``torch.export``: it hands each layer call the program's inputs instead of
  transforming features, and turns string outputs into ``StringLookup`` markers whose integer
  tensors are program outputs.

What a layer records is data (column configurations), so a loader can rebuild the host half
without the model's code; the tensor half is the exported program.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, Self, TypeVar, cast

import numpy as np
import torch

__all__ = [
    "NotExportableError",
    "StringLookup",
    "Bag",
    "DenseBlock",
    "RawFeature",
    "HostPart",
    "HostInputs",
    "TracedLayer",
    "ExportTrace",
    "current_trace",
    "tracing",
    "string_array",
    "lookup_strings",
]


class NotExportableError(ValueError):
    """A model (or part of it) that export cannot write as data plus a tensor program."""


class StringLookup:
    """A string output while replaying: ``table[ids]``, computed on the host after the program."""

    def __init__(self, ids: torch.Tensor, table: Sequence[bytes]) -> None:
        self.ids = ids
        self.table = tuple(table)
        self.shape = tuple(ids.shape)
        self.dtype = np.dtype(object)


# -- host inputs ----------------------------------------------------------------------------------


class _Part:
    """Base of the host-input records: dataclasses whose fields are tensors (or None)."""

    def exported(self) -> _Part:
        """This record with every field an exported program takes (the same for every batch)."""
        return self

    def replaced(self, values: Mapping[str, torch.Tensor]) -> Self:
        """This record with ``values`` (by field name) in place of its own."""
        return dataclasses.replace(cast(Any, self), **values)

    def fields(self) -> Iterator[tuple[str, torch.Tensor]]:
        """``(field name, tensor)`` of the fields that are set, in declaration order."""
        for field in dataclasses.fields(cast(Any, self)):
            value = getattr(self, field.name)
            if value is not None:
                yield field.name, value


@dataclasses.dataclass(frozen=True, eq=False)
class Bag(_Part):
    """The host half of an ``EmbeddingBag`` lookup.

    ``ids`` [N] int64 table rows; ``offsets`` [B] int64, where each row's bag starts in ``ids``;
    ``weights`` [N] float32 per id (None: all 1); ``rows`` [N] int64, the bag of each id (only
    for lookups that clip rows to a max_norm).
    """

    ids: torch.Tensor
    offsets: torch.Tensor
    weights: torch.Tensor | None = None
    rows: torch.Tensor | None = None

    def exported(self) -> Bag:
        """With ``weights`` (ones when the ids are unweighted)."""
        if self.weights is not None:
            return self
        return dataclasses.replace(self, weights=torch.ones(len(self.ids), dtype=torch.float32, device=self.ids.device))


@dataclasses.dataclass(frozen=True, eq=False)
class DenseBlock(_Part):
    """``block`` [B, n] float32: a dense output computed wholly on the host."""

    block: torch.Tensor


@dataclasses.dataclass(frozen=True, eq=False)
class RawFeature(_Part):
    """``raw`` [B, ...]: a feature's values, for a tensor half that transforms them itself."""

    raw: torch.Tensor


HostPart = Bag | DenseBlock | RawFeature
_T = TypeVar("_T")


def _flat_name(part: str, field: str) -> str:
    """The name of a part's field among an exported program's host inputs."""
    return f"{part}/{field}"


@dataclasses.dataclass(frozen=True, eq=False)
class HostInputs:
    """One layer call's host inputs: its parts by name (the layer's own names, e.g. '0', 'fused')."""

    parts: Mapping[str, HostPart]

    def tensors(self) -> dict[str, torch.Tensor]:
        """Every tensor as an exported program takes it, named ``<part>/<field>``."""
        return self.map_tensors(lambda name, part, field, value: value)

    def map_tensors(self, fn: Callable[[str, HostPart, str, torch.Tensor], _T]) -> dict[str, _T]:
        """``fn(part name, part, field, tensor)`` for each of ``tensors()``, named as it names them."""
        return {
            _flat_name(name, field): fn(name, part, field, value)
            for name, part in self.parts.items()
            for field, value in part.exported().fields()
        }

    def with_tensors(self, tensors: Mapping[str, torch.Tensor]) -> HostInputs:
        """The same parts holding ``tensors`` (named as ``tensors()`` names them) instead."""
        return HostInputs(
            {
                name: part.replaced({field: tensors[_flat_name(name, field)] for field, _ in part.exported().fields()})
                for name, part in self.parts.items()
            }
        )


# -- the trace ------------------------------------------------------------------------------------


class TracedLayer(Protocol):
    """A layer whose calls a trace records: it describes itself as data."""

    def export_config(self) -> dict[str, Any]:
        """The layer as JSON-ready data, enough to rebuild its host half."""
        ...


class ExportTrace(Protocol):
    """What the layers and ``lookup_strings`` call while export traces a model_fn."""

    def layer_inputs(self, layer: TracedLayer, compute: Callable[[], HostInputs]) -> HostInputs:
        """The host inputs of one call of ``layer``: ``compute()`` (recorded), or the program's."""
        ...

    def lookup_strings(self, ids: torch.Tensor, table: tuple[bytes, ...]) -> Any:
        """``table[ids]`` as the trace needs it (an array it remembers, or a ``StringLookup``)."""
        ...


_TRACE: contextvars.ContextVar[ExportTrace | None] = contextvars.ContextVar(
    "torch_estimator_export_trace", default=None
)


def current_trace() -> ExportTrace | None:
    """The active export trace, or None outside export."""
    return _TRACE.get()


@contextlib.contextmanager
def tracing(trace: ExportTrace) -> Iterator[ExportTrace]:
    """Makes ``trace`` the active trace within the block."""
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


def string_array(ids: torch.Tensor, table: tuple[bytes, ...]) -> np.ndarray:
    """``table[ids]`` as an object array of bytes."""
    return _table_array(table)[ids.detach().cpu().numpy()]


def lookup_strings(ids: torch.Tensor, table: Sequence[bytes]) -> Any:
    """``table[ids]`` as an object array of bytes (what the trace makes of it while exporting)."""
    trace = current_trace()
    if trace is None:
        return string_array(ids, tuple(table))
    return trace.lookup_strings(ids, tuple(table))
