"""Batch values for feature columns: ragged (multivalent) inputs and transformed categorical ids."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np
import torch

__all__ = ["RaggedValue", "CategoricalIds", "as_raw_sparse", "as_numpy", "batch_size_of"]


@dataclasses.dataclass(frozen=True, eq=False)
class RaggedValue:
    """A batch of variable-length rows: ``values`` and ``row_splits`` (row i is
    ``values[row_splits[i]:row_splits[i+1]]``), the layout of ``tf.RaggedTensor`` and of
    ``EmbeddingBag`` offsets. Use it for multivalent categorical features.

    Example:
        >>> te.RaggedValue.from_lists([["a", "b"], [], ["c"]])
    """

    values: np.ndarray
    row_splits: np.ndarray

    def __post_init__(self) -> None:
        splits = np.asarray(self.row_splits, dtype=np.int64)
        object.__setattr__(self, "row_splits", splits)
        object.__setattr__(self, "values", np.asarray(self.values))
        if splits.ndim != 1 or len(splits) < 1 or splits[0] != 0 or np.any(np.diff(splits) < 0) or splits[-1] != len(self.values):
            raise ValueError(
                f"row_splits must start at 0, never decrease and end at len(values)={len(self.values)}; got {splits.tolist()[:10]}"
            )

    @classmethod
    def from_lists(cls, rows: Sequence[Sequence[Any]]) -> "RaggedValue":
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        flat = [v for r in rows for v in r]
        values = np.asarray(flat, dtype=object if flat and isinstance(flat[0], (str, bytes)) else None)
        if not flat:
            values = np.zeros(0, dtype=np.int64)
        return cls(values, np.concatenate([[0], np.cumsum(lengths)]))

    @property
    def batch_size(self) -> int:
        return len(self.row_splits) - 1

    def row_lengths(self) -> np.ndarray:
        return np.diff(self.row_splits)

    def row_ids(self) -> np.ndarray:
        """The row of each value."""
        return np.repeat(np.arange(self.batch_size, dtype=np.int64), self.row_lengths())

    def to_lists(self) -> list[list[Any]]:
        return [self.values[a:b].tolist() for a, b in zip(self.row_splits[:-1], self.row_splits[1:])]

    def mask(self, keep: np.ndarray) -> "RaggedValue":
        """The values where ``keep`` is true, rows preserved."""
        counts = np.bincount(self.row_ids()[keep], minlength=self.batch_size)
        return RaggedValue(self.values[keep], np.concatenate([[0], np.cumsum(counts)]))


@dataclasses.dataclass(frozen=True, eq=False)
class CategoricalIds:
    """A categorical column's output for a batch: int64 ``ids`` per row, optional ``weights``."""

    ids: RaggedValue
    weights: np.ndarray | None = None

    @property
    def batch_size(self) -> int:
        return self.ids.batch_size


def as_numpy(value: Any, key: str) -> np.ndarray:
    """A feature value as a numpy array (torch tensors are moved to the host)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, RaggedValue):
        raise ValueError(f"Feature {key!r} is ragged (multivalent); this column needs a dense value.")
    if type(value).__module__.startswith("pandas"):
        return np.asarray(value)
    return np.asarray(value)


def batch_size_of(value: Any) -> int:
    if isinstance(value, RaggedValue):
        return value.batch_size
    if isinstance(value, (list, tuple)):
        return len(value)
    return int(np.shape(value)[0]) if np.ndim(value) else 1


def _is_list_of_lists(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(isinstance(r, (list, tuple, np.ndarray)) for r in value) and len({len(r) for r in value}) > 1


def as_raw_sparse(value: Any, key: str, drop_missing: bool) -> tuple[RaggedValue, bool]:
    """``(ragged raw values, was_sparse)``: dense ``[B]``/``[B, k]`` values become rows, dropping
    missing values (``''`` for strings, ``-1`` for integers) when ``drop_missing``."""
    if isinstance(value, RaggedValue):
        return value, True
    if _is_list_of_lists(value):
        return RaggedValue.from_lists(value), True
    array = as_numpy(value, key)
    if array.ndim == 0:
        raise ValueError(f"Feature {key!r} must have a batch dimension; got a scalar.")
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim > 2:
        array = array.reshape(array.shape[0], -1)
    batch, width = array.shape
    flat = array.reshape(-1)
    if drop_missing:
        if flat.dtype.kind in "USO":
            keep = flat != ""
            if flat.dtype.kind == "O":
                keep &= flat != b""
        elif flat.dtype.kind in "iu":
            keep = flat != -1
        else:
            keep = np.ones(flat.shape, dtype=bool)
        if not keep.all():
            counts = keep.reshape(batch, width).sum(axis=1)
            return RaggedValue(flat[keep], np.concatenate([[0], np.cumsum(counts)])), False
    return RaggedValue(flat, np.arange(0, batch * width + 1, width, dtype=np.int64)), False
