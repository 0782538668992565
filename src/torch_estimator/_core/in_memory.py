"""Batches that are rows of an in-memory data set, so feature transforms run once per data set.

``numpy_input_fn`` / ``pandas_input_fn`` batches are ``BatchFeatures``: plain dicts to a model_fn,
which also say which rows of which ``InMemorySource`` they hold. A feature-column layer given one
computes its host inputs over the whole source once (vectorised, as it would for one big batch)
and each step only gathers the batch's rows (``HostRows.gather``). Feature transforms are
row-wise, so the gathered inputs equal the ones the batch itself would give.

A model_fn that assigns, pops or deletes a feature detaches its batch from the source (the layer
then transforms the batch itself): what a layer reads is always what the model_fn passes it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

import numpy as np
import torch

from torch_estimator._core.trace import Bag, DenseBlock, HostInputs, HostPart, RawFeature

__all__ = ["BatchFeatures", "InMemorySource", "HostRows", "LayerKey", "MAX_SOURCE_ROWS"]

#: Larger in-memory data sets are transformed batch by batch (their host inputs would not pay
#: for the memory they take).
MAX_SOURCE_ROWS = 4_000_000


class LayerKey:
    """A layer's identity for the host-input cache: its kind and columns, hashed once."""

    __slots__ = ("value", "_hash")

    def __init__(self, value: Hashable) -> None:
        self.value = value
        self._hash = hash(value)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, LayerKey) and self._hash == other._hash and self.value == other.value
        )


class _BagRows:
    """Gathers rows (bags) of a ``Bag`` over every row of a source."""

    def __init__(self, bag: Bag) -> None:
        self.bag = bag
        ends = torch.cat([bag.offsets[1:], torch.tensor([len(bag.ids)], dtype=bag.offsets.dtype)])
        self.lengths = ends - bag.offsets
        first = int(self.lengths[0]) if len(self.lengths) else 0
        self.uniform: int | None = first if bool((self.lengths == first).all()) else None
        self._layouts: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def _layout(self, n: int, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(offsets, bag of each id)`` of ``n`` bags of ``k`` ids (the same for every batch of ``n``)."""
        layout = self._layouts.get(n)
        if layout is None:
            layout = self._layouts[n] = (torch.arange(0, n * k, k) if k else torch.zeros(n, dtype=torch.int64),
                                         torch.arange(n).repeat_interleave(k))  # fmt: skip
        return layout

    def gather(self, rows: torch.Tensor) -> Bag:
        bag, n = self.bag, len(rows)
        if self.uniform is not None:
            k = self.uniform
            positions = rows if k == 1 else (rows.unsqueeze(1) * k + torch.arange(k)).reshape(-1)
            offsets, bag_of_id = self._layout(n, k)
        else:
            lengths = self.lengths.index_select(0, rows)
            offsets = torch.cumsum(lengths, 0) - lengths
            shift = torch.repeat_interleave(bag.offsets.index_select(0, rows) - offsets, lengths)
            positions = shift + torch.arange(len(shift))
            bag_of_id = torch.repeat_interleave(torch.arange(n), lengths) if bag.rows is not None else offsets
        return Bag(
            bag.ids.index_select(0, positions),
            offsets,
            None if bag.weights is None else bag.weights.index_select(0, positions),
            None if bag.rows is None else bag_of_id,
        )


class _DenseRows:
    def __init__(self, part: DenseBlock | RawFeature) -> None:
        self.part = part

    def gather(self, rows: torch.Tensor) -> HostPart:
        if isinstance(self.part, DenseBlock):
            return DenseBlock(self.part.block.index_select(0, rows))
        return RawFeature(self.part.raw.index_select(0, rows))


class HostRows:
    """A layer's host inputs over every row of a source, gathered a batch at a time."""

    def __init__(self, host: HostInputs) -> None:
        self._parts = {
            name: _BagRows(part) if isinstance(part, Bag) else _DenseRows(part) for name, part in host.parts.items()
        }

    def gather(self, rows: torch.Tensor) -> HostInputs:
        """The host inputs of the batch made of ``rows`` (int64 row numbers of the source)."""
        return HostInputs({name: part.gather(rows) for name, part in self._parts.items()})


class InMemorySource:
    """The full columns of an in-memory input and, per layer, its host inputs over all rows."""

    def __init__(self, features: Mapping[str, Any], num_rows: int) -> None:
        self.features = dict(features)
        self.num_rows = num_rows
        self._host: dict[tuple[LayerKey, torch.device], HostRows] = {}

    def host_rows(self, key: LayerKey, device: torch.device, compute: Callable[[], HostInputs]) -> HostRows:
        """The cached host inputs of the layer ``key`` over all rows (``compute()`` the first time)."""
        entry = self._host.get((key, device))
        if entry is None:
            entry = self._host[(key, device)] = HostRows(compute())
        return entry


def _detaching(name: str) -> Callable[..., Any]:
    method = getattr(dict, name)

    def detached(self: BatchFeatures, *args: Any, **kwargs: Any) -> Any:
        self.source = None
        return method(self, *args, **kwargs)

    detached.__name__ = name
    return detached


class BatchFeatures(dict[str, Any]):
    """A features dict whose values are rows ``rows`` of ``source`` (None once changed)."""

    def __init__(self, values: Mapping[str, Any], source: InMemorySource | None, rows: np.ndarray) -> None:
        super().__init__(values)
        self.source = source if source is not None and source.num_rows <= MAX_SOURCE_ROWS else None
        self.rows = rows
        self._row_tensor: torch.Tensor | None = None

    def with_values(self, values: Mapping[str, Any]) -> BatchFeatures:
        """The same rows holding ``values`` (e.g. the batch converted to tensors)."""
        return BatchFeatures(values, self.source, self.rows)

    def row_tensor(self) -> torch.Tensor:
        """``rows`` as an int64 tensor."""
        if self._row_tensor is None:
            self._row_tensor = torch.from_numpy(np.ascontiguousarray(self.rows, dtype=np.int64))
        return self._row_tensor

    __setitem__ = _detaching("__setitem__")
    __delitem__ = _detaching("__delitem__")
    pop = _detaching("pop")
    popitem = _detaching("popitem")
    setdefault = _detaching("setdefault")
    update = _detaching("update")
    clear = _detaching("clear")
    __ior__ = _detaching("__ior__")
