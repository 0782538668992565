"""``crossed_column``: hashed Cartesian products of feature values and categorical ids, with
TensorFlow's ``FingerprintCat64`` chain (``sparse_cross_hashed``)."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from torch_estimator._core.parse_spec import VarLenFeature
from torch_estimator._core.values import (
    SMALL_BATCH,
    CategoricalIds,
    DictionaryCache,
    RaggedValue,
    as_raw_sparse,
    encoding_of,
    uniform_splits,
)
from torch_estimator.feature_column._base import CategoricalColumn, Transformer
from torch_estimator.feature_column._categorical import HashedColumn
from torch_estimator.feature_column._hashing import CROSS_HASH_KEY, fingerprint64, fingerprint_cat64

__all__ = ["CrossedColumn", "crossed_column"]

#: Crosses of single-valued rows over at most this many combinations hash a table of them once.
_CROSS_TABLE_MAX = 200_000


@dataclasses.dataclass(frozen=True)
class CrossedColumn(CategoricalColumn):
    """``crossed_column``: hashed Cartesian product of feature values / categorical ids."""

    keys: tuple[Any, ...]
    hash_bucket_size: int
    hash_key: int | None = None

    @property
    def name(self) -> str:
        return "_X_".join(sorted(key if isinstance(key, str) else key.name for key in self._leaf_keys))

    @functools.cached_property
    def _leaf_keys(self) -> list[Any]:
        """The keys, crossed columns among them replaced by their own keys."""
        return [leaf for key in self.keys for leaf in (key._leaf_keys if isinstance(key, CrossedColumn) else [key])]

    @property
    def parse_example_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        for key in self._leaf_keys:
            if isinstance(key, str):
                spec[key] = VarLenFeature("string")
            else:
                spec.update(key.parse_example_spec)
        return spec

    @property
    def num_buckets(self) -> int:
        return self.hash_bucket_size

    def _transform(self, transformer: Transformer) -> CategoricalIds:
        # Each part: (ragged values, size of its id domain for categorical-column ids, else None).
        sparse_parts: list[tuple[RaggedValue, int | None]] = []
        dense_parts: list[tuple[RaggedValue, int | None]] = []
        for key in self._leaf_keys:
            if isinstance(key, str):
                raw, was_sparse = as_raw_sparse(transformer.raw(key), key, drop_missing=False)
                if raw.values.size and raw.values.dtype.kind not in "iuUSO":
                    raise ValueError(
                        f"crossed_column {self.name}: feature {key!r} must hold strings or integers; "
                        f"got dtype {raw.values.dtype}."
                    )
                (sparse_parts if was_sparse else dense_parts).append((raw, None))
            else:
                ids = key.ids(transformer)
                if ids.weights is not None:
                    raise ValueError(
                        "crossed_column does not support weight_tensor, but the given column populates weight_tensor. "
                        f"Given column: {key.name}"
                    )
                sparse_parts.append((ids.ids, key.num_buckets))
        # TensorFlow's sparse_cross takes the sparse inputs first, then the dense ones.
        parts = sparse_parts + dense_parts
        batch = parts[0][0].batch_size
        for part, _ in parts:
            if part.batch_size != batch:
                raise ValueError(
                    f"Crossed column {self.name}: inputs have different batch sizes {[p.batch_size for p, _ in parts]}."
                )
        ragged = [p for p, _ in parts]
        one_per_row = uniform_splits(batch, 1)
        if not all(len(p.values) == batch and np.array_equal(p.row_splits, one_per_row) for p in ragged):
            return CategoricalIds(self._cross_rows(ragged, batch))
        fast = self._cross_by_table(parts, batch)
        return fast if fast is not None else CategoricalIds(self._cross_single(ragged, batch))

    @functools.cached_property
    def _tables(self) -> DictionaryCache:
        return DictionaryCache(capacity=8)

    def _seed(self) -> np.uint64:
        return np.uint64(CROSS_HASH_KEY if self.hash_key is None else self.hash_key)

    def _cross_single(self, parts: list[RaggedValue], batch: int) -> RaggedValue:
        """The cross of parts holding one value per row: one fingerprint chain over the batch (what
        ``_cross_rows`` computes for such rows, with none of its per-combination indexing)."""
        acc = np.full(batch, self._seed(), dtype=np.uint64)
        for part in parts:
            acc = fingerprint_cat64(acc, _cross_hash_values(part.values))
        return RaggedValue.trusted((acc % np.uint64(self.hash_bucket_size)).astype(np.int64), uniform_splits(batch, 1))

    def _cross_rows(self, parts: list[RaggedValue], batch: int) -> RaggedValue:
        """The general cross: per row, every combination of the parts' values (last varies fastest)."""
        hashed = [_cross_hash_values(p.values) for p in parts]
        rows = np.arange(batch, dtype=np.int64)
        acc = np.full(batch, self._seed(), dtype=np.uint64)
        counts = np.ones(batch, dtype=np.int64)
        acc_splits = np.arange(batch + 1, dtype=np.int64)
        for part, values in zip(parts, hashed):
            lengths = part.row_lengths()
            new_counts = counts * lengths
            new_splits = np.concatenate([[0], np.cumsum(new_counts)])
            total = int(new_splits[-1])
            entry_row = np.repeat(rows, new_counts)
            within = np.arange(total, dtype=np.int64) - new_splits[:-1][entry_row]
            length_of_row = lengths[entry_row]
            left = acc[acc_splits[:-1][entry_row] + within // np.maximum(length_of_row, 1)]
            right = values[part.row_splits[:-1][entry_row] + within % np.maximum(length_of_row, 1)]
            acc = fingerprint_cat64(left, right)
            counts, acc_splits = new_counts, new_splits
        return RaggedValue.trusted((acc % np.uint64(self.hash_bucket_size)).astype(np.int64), acc_splits)

    def _cross_by_table(self, parts: list[tuple[RaggedValue, int | None]], batch: int) -> CategoricalIds | None:
        """Single-valued rows over small domains (dictionary-encoded strings, categorical ids):
        hash every combination of the domains once (cached), then gather per batch. The caller
        has checked that every part holds one value per row. A small batch (a served request,
        whose dictionaries may still be growing) is crossed directly instead."""
        if batch <= SMALL_BATCH:
            return None
        domains: list[np.ndarray] = []
        codes: list[np.ndarray] = []
        for part, num_ids in parts:
            encoding = encoding_of(part.values)
            if encoding is not None:
                codes.append(encoding[0])
                domains.append(encoding[1])
            elif num_ids is not None and (
                len(part.values) == 0 or 0 <= int(part.values.min()) <= int(part.values.max()) < num_ids
            ):
                codes.append(part.values)
                domains.append(_id_domain(num_ids))
            else:
                return None
        if math.prod(len(d) for d in domains) > _CROSS_TABLE_MAX:
            return None
        table = self._tables.get(tuple(domains), self._cross_table)
        index = np.ravel_multi_index(tuple(codes), tuple(len(d) for d in domains))
        return CategoricalIds(RaggedValue.trusted(np.take(table, index), uniform_splits(batch, 1)))

    def _cross_table(self, domains: tuple[np.ndarray, ...]) -> np.ndarray:
        grids = np.meshgrid(*[_cross_hash_values(d) for d in domains], indexing="ij")
        acc = np.full(grids[0].size, self._seed(), dtype=np.uint64)
        for grid in grids:
            acc = fingerprint_cat64(acc, grid.reshape(-1))
        return (acc % np.uint64(self.hash_bucket_size)).astype(np.int64)


@functools.lru_cache(maxsize=64)
def _id_domain(num_ids: int) -> np.ndarray:
    """``[0, num_ids)``, one array per size (the table cache recognises a domain by identity)."""
    return np.arange(num_ids, dtype=np.int64)


def _cross_hash_values(values: np.ndarray) -> np.ndarray:
    """Strings hash to their Fingerprint64; integers (raw features or ids) are used as they are."""
    if values.dtype.kind in "USO":
        return fingerprint64(values)
    return values.astype(np.int64).view(np.uint64)


def crossed_column(keys: Sequence[Any], hash_bucket_size: int, hash_key: int | None = None) -> CrossedColumn:
    """Cross of ``keys`` (feature names or categorical columns, not hash-bucket columns), hashed
    with TensorFlow's FingerprintCat64 chain into ``hash_bucket_size`` buckets."""
    if not hash_bucket_size or hash_bucket_size < 1:
        raise ValueError(f"hash_bucket_size must be > 1. hash_bucket_size: {hash_bucket_size}")
    if not keys or len(keys) < 2:
        raise ValueError(f"keys must be a list with length > 1. Given: {keys}")
    for key in keys:
        if not isinstance(key, (str, CategoricalColumn)):
            raise ValueError(
                "Unsupported key type. All keys must be either string, or categorical column except "
                f"HashedCategoricalColumn. Given: {key}"
            )
        if isinstance(key, HashedColumn):
            raise ValueError(
                "categorical_column_with_hash_bucket is not supported for crossing. Hashing before crossing will "
                f"increase probability of collision. Instead, use the feature name as a string. Given: {key}"
            )
    return CrossedColumn(tuple(keys), int(hash_bucket_size), hash_key)
