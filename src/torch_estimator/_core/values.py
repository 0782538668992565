"""Batch values for feature columns: ragged (multivalent) inputs, transformed categorical ids, and
dictionary-encoded strings (with the mechanism that computes a result once per distinct value)."""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import torch

from torch_estimator._core.checks import as_array

__all__ = [
    "RaggedValue",
    "CategoricalIds",
    "EncodedStrings",
    "encode_strings",
    "encoding_of",
    "DictionaryCache",
    "per_distinct",
    "uniform_splits",
    "as_raw_sparse",
    "as_numpy",
    "batch_size_of",
    "not_missing",
    "StringEncoder",
    "SMALL_BATCH",
]


class EncodedStrings(np.ndarray):
    """An object array of strings that also carries its dictionary encoding.

    It behaves as the plain string array it is; feature columns use ``codes`` (int64 indices
    into ``dictionary``) to look up or hash each distinct string once. Input functions produce
    it for string columns; slicing it drops the encoding (the plain array still works).
    """

    codes: np.ndarray | None
    dictionary: np.ndarray | None

    def __array_finalize__(self, obj: Any) -> None:
        self.codes = None
        self.dictionary = None


def encode_strings(codes: np.ndarray, dictionary: np.ndarray) -> EncodedStrings:
    """The strings ``dictionary[codes]`` as an ``EncodedStrings`` array."""
    array = dictionary.take(codes).view(EncodedStrings)
    array.codes = codes
    array.dictionary = dictionary
    return array


class StringEncoder:
    """Encodes batches of text against one dictionary that grows across batches (up to
    ``capacity`` strings of ``max_bytes`` in all), so that each distinct string is looked up or
    hashed once for all the batches (a server's requests) rather than once per batch. Once full
    it encodes no more (callers build plain arrays). Thread-safe.

    Example:
      encoder = StringEncoder()
      a = encoder.encode(["x", "y"])   # dictionary [b"x", b"y"]
      b = encoder.encode(["y", "z"])   # dictionary [b"x", b"y", b"z"], codes [1, 2]
    """

    def __init__(self, capacity: int = 1024, max_bytes: int = 1 << 20) -> None:
        # (codes by string, dictionary) published together: codes index a prefix of any later dictionary.
        self._state: tuple[dict[str, int], np.ndarray] = ({}, np.empty(0, dtype=object))
        self._capacity = capacity
        self._budget = max_bytes
        self._full = False
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> EncodedStrings | None:
        """``texts`` (str) as UTF-8 bytes in an ``EncodedStrings`` array, or None when the
        dictionary is full."""
        if self._full:
            return None
        codes, dictionary = self._state
        found = [codes.get(t) for t in texts]
        if None in found:
            with self._lock:
                codes, dictionary = self._state
                new = [t for t in dict.fromkeys(texts) if t not in codes]
                if new:
                    encoded = [t.encode("utf-8", "surrogateescape") for t in new]
                    size = sum(map(len, encoded))
                    if self._full or len(codes) + len(new) > self._capacity or size > self._budget:
                        self._full = True
                        return None
                    self._budget -= size
                    # A new array each time it grows: caches keyed by the dictionary see new strings.
                    grown = np.empty(len(dictionary) + len(new), dtype=object)
                    grown[: len(dictionary)] = dictionary
                    grown[len(dictionary) :] = encoded
                    codes = {**codes, **{t: len(dictionary) + i for i, t in enumerate(new)}}
                    dictionary = grown
                    self._state = (codes, dictionary)
            found = [codes[t] for t in texts]
        return encode_strings(np.array(found, dtype=np.int64), dictionary)


_Key = TypeVar("_Key", np.ndarray, tuple[np.ndarray, ...])


class DictionaryCache:
    """Results computed once per string dictionary, or per tuple of them (e.g. a dictionary's ids
    or fingerprints, the hashes of a cross of domains), keyed by the arrays' identity and holding
    them, so that an id is never reused while cached."""

    def __init__(self, capacity: int = 32) -> None:
        self._entries: dict[tuple[int, ...], tuple[tuple[np.ndarray, ...], np.ndarray]] = {}
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, key: _Key, compute: Callable[[_Key], np.ndarray]) -> np.ndarray:
        """``compute(key)``, computed on the first call with these very arrays."""
        arrays = key if isinstance(key, tuple) else (key,)
        ident = tuple(id(a) for a in arrays)
        entry = self._entries.get(ident)
        if entry is not None and all(a is b for a, b in zip(entry[0], arrays)):
            return entry[1]
        result = compute(key)
        with self._lock:  # requests on the event loop and in worker threads share the caches
            if len(self._entries) >= self._capacity:
                self._entries.pop(next(iter(self._entries)))
            self._entries[ident] = (arrays, result)
        return result


_SPLITS: dict[tuple[int, int], np.ndarray] = {}


def uniform_splits(batch: int, width: int) -> np.ndarray:
    """``[0, width, 2·width, ...]`` for ``batch`` rows (cached: shared, never modify)."""
    splits = _SPLITS.get((batch, width))
    if splits is None:
        if len(_SPLITS) > 64:
            _SPLITS.clear()
        splits = _SPLITS[(batch, width)] = np.arange(batch + 1, dtype=np.int64) * width
    return splits


def encoding_of(value: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``(codes, dictionary)`` of an ``EncodedStrings`` array, else None."""
    codes = getattr(value, "codes", None)
    if isinstance(value, EncodedStrings) and codes is not None:
        return codes, value.dictionary  # type: ignore[return-value]
    return None


#: Up to this many values, ``per_distinct`` computes each value instead of finding the distinct ones
#: (measured: vocabulary look-ups cost less so up to ~256 values, fingerprints up to ~128).
SMALL_BATCH = 128


def per_distinct(values: np.ndarray, compute: Callable[[np.ndarray], np.ndarray], cache: DictionaryCache) -> np.ndarray:
    """``compute`` of each value, called once on the distinct values (found by hashing, no sort)
    and gathered back to the shape of ``values``. A dictionary-encoded array's dictionary holds
    its distinct values: its result is kept in ``cache`` for the next batch with that dictionary.
    """
    encoding = encoding_of(values)
    if encoding is not None:
        return np.take(cache.get(encoding[1], compute), encoding[0]).reshape(np.shape(values))
    flat = np.asarray(values).reshape(-1)
    if flat.size <= SMALL_BATCH:  # a few values (a serving request): computing each costs less than hashing
        return compute(flat.astype(object) if flat.dtype.kind in "USO" else flat).reshape(np.shape(values))
    codes, uniques = pd.factorize(flat, use_na_sentinel=False)
    uniques = np.asarray(uniques, dtype=object if flat.dtype.kind in "USO" else flat.dtype)
    return compute(uniques)[codes].reshape(np.shape(values))


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
        object.__setattr__(self, "values", np.asanyarray(self.values))
        if (
            splits.ndim != 1
            or len(splits) < 1
            or splits[0] != 0
            or np.any(np.diff(splits) < 0)
            or splits[-1] != len(self.values)
        ):
            raise ValueError(
                f"row_splits must start at 0, never decrease and end at len(values)={len(self.values)}; "
                f"got {splits.tolist()[:10]}"
            )

    @classmethod
    def trusted(cls, values: np.ndarray, row_splits: np.ndarray) -> RaggedValue:
        """A RaggedValue from arrays already known to be consistent (no validation)."""
        ragged = object.__new__(cls)
        object.__setattr__(ragged, "values", values)
        object.__setattr__(ragged, "row_splits", row_splits)
        return ragged

    @classmethod
    def from_lists(cls, rows: Sequence[Sequence[Any]]) -> RaggedValue:
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
        batch = self.batch_size
        if len(self.values) == batch and self.row_splits is _SPLITS.get((batch, 1)):
            return self.row_splits[:-1]
        return np.repeat(np.arange(batch, dtype=np.int64), self.row_lengths())

    def to_lists(self) -> list[list[Any]]:
        return [self.values[a:b].tolist() for a, b in zip(self.row_splits[:-1], self.row_splits[1:])]

    def mask(self, keep: np.ndarray) -> RaggedValue:
        """The values where ``keep`` is true, rows preserved."""
        counts = np.bincount(self.row_ids()[keep], minlength=self.batch_size)
        return RaggedValue.trusted(self.values[keep], np.concatenate([[0], np.cumsum(counts)]))


@dataclasses.dataclass(frozen=True, eq=False)
class CategoricalIds:
    """A categorical column's output for a batch: int64 ``ids`` per row, optional ``weights``."""

    ids: RaggedValue
    weights: np.ndarray | None = None

    @property
    def batch_size(self) -> int:
        return self.ids.batch_size


def as_numpy(value: Any, key: str, expected: str) -> np.ndarray:
    """A feature value as a numpy array (torch tensors are moved to the host); a ragged value
    raises a ValueError naming the feature and the ``expected`` value."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, RaggedValue):
        raise ValueError(f"Feature {key!r} is ragged (multivalent); this column needs a dense value.")
    return as_array(value, f"Feature {key!r}", expected)


def batch_size_of(value: Any) -> int:
    if isinstance(value, RaggedValue):
        return value.batch_size
    if isinstance(value, (list, tuple)):
        return len(value)
    return int(np.shape(value)[0]) if np.ndim(value) else 1


def _is_list_of_lists(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) > 0
        and all(isinstance(r, (list, tuple, np.ndarray)) for r in value)
        and len({len(r) for r in value}) > 1
    )


_EMPTY_CACHE = DictionaryCache()
_MISSING_ID = np.array(-1)


def not_missing(values: np.ndarray) -> np.ndarray:
    """Which values are present: missing are ``''`` for strings and -1 for integers, in the
    values' dtype (so the largest unsigned value), as TensorFlow sparsifies dense input."""
    if values.dtype.kind in "USO":
        keep = values != ""
        return keep & (values != b"") if values.dtype.kind == "O" else keep
    if values.dtype.kind in "iu":
        return values != _MISSING_ID.astype(values.dtype)
    return np.ones(values.shape, dtype=bool)


def _empty_entries(dictionary: np.ndarray) -> np.ndarray:
    """Positions of the missing values ('' or b'') in a dictionary of strings."""
    return np.flatnonzero((dictionary == "") | (dictionary == b""))


def _has_empty(dictionary: np.ndarray) -> bool:
    return bool(_EMPTY_CACHE.get(dictionary, lambda d: np.array(len(_empty_entries(d)) > 0)))


def as_raw_sparse(value: Any, key: str, drop_missing: bool) -> tuple[RaggedValue, bool]:
    """``(ragged raw values, was_sparse)``: dense ``[B]``/``[B, k]`` values become rows, dropping
    missing values (``''`` for strings, ``-1`` for integers) when ``drop_missing``."""
    if isinstance(value, RaggedValue):
        return value, True
    if _is_list_of_lists(value):
        return RaggedValue.from_lists(value), True
    encoding = encoding_of(value)
    if encoding is not None and encoding[0].ndim == 1:
        codes, dictionary = encoding
        if not drop_missing or not _has_empty(dictionary):
            return RaggedValue.trusted(value, uniform_splits(len(codes), 1)), False
    array = (
        as_numpy(value, key, "a [batch_size] or [batch_size, k] array, or one list of values per row")
        if encoding is None
        else encoding[0]
    )
    if array.ndim == 0:
        raise ValueError(f"Feature {key!r} must have a batch dimension; got a scalar.")
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim > 2:
        array = array.reshape(array.shape[0], math.prod(array.shape[1:]))
    batch, width = array.shape
    flat = array.reshape(-1)
    if encoding is not None:
        dictionary = encoding[1]
        missing = _empty_entries(dictionary) if drop_missing else np.zeros(0, dtype=np.int64)
        if len(missing):
            keep = ~np.isin(flat, missing)
            counts = keep.reshape(batch, width).sum(axis=1)
            return RaggedValue.trusted(
                encode_strings(flat[keep], dictionary), np.concatenate([[0], np.cumsum(counts)])
            ), False
        return RaggedValue.trusted(encode_strings(flat, dictionary), uniform_splits(batch, width)), False
    if drop_missing:
        keep = not_missing(flat)
        if not keep.all():
            counts = keep.reshape(batch, width).sum(axis=1)
            return RaggedValue.trusted(flat[keep], np.concatenate([[0], np.cumsum(counts)])), False
    return RaggedValue.trusted(flat, uniform_splits(batch, width)), False
