"""Categorical columns over raw features: vocabulary (list or file), hash bucket and identity
columns, and weighted categorical columns (ids with per-id weights)."""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from torch_estimator._core.dtypes import dtype_name, is_float, is_integer, tf_dtype
from torch_estimator._core.parse_spec import VarLenFeature
from torch_estimator._core.values import CategoricalIds, RaggedValue, as_raw_sparse, not_missing
from torch_estimator._core.vocabulary import VocabularyIndex
from torch_estimator.feature_column._base import CategoricalColumn, Transformer, check_key
from torch_estimator.feature_column._hashing import hash_bucket

__all__ = [
    "VocabularyColumn",
    "HashedColumn",
    "IdentityColumn",
    "WeightedCategoricalColumn",
    "categorical_column_with_vocabulary_list",
    "categorical_column_with_vocabulary_file",
    "categorical_column_with_hash_bucket",
    "categorical_column_with_identity",
    "weighted_categorical_column",
]


def _string_or_int_dtype(dtype: Any, what: str) -> str:
    name = dtype_name(dtype)
    if name != "string" and not is_integer(name):
        raise ValueError(f"column_name: {what} dtype must be string or integer. dtype: {tf_dtype(name)}.")
    return name


def _check_value_dtype(values: np.ndarray, dtype: str, key: str) -> None:
    kind = values.dtype.kind
    if values.size == 0:
        return
    if (dtype == "string" and kind not in "USO") or (dtype != "string" and kind not in "iu"):
        raise ValueError(
            f"Column dtype and SparseTensors dtype must be compatible. key: {key}, column dtype: {tf_dtype(dtype)}, "
            f"tensor dtype: {tf_dtype(values.dtype)}"
        )


class _KeyedCategorical(CategoricalColumn):
    """A categorical column over one raw feature ``key`` parsed as ``VarLenFeature(_value_dtype)``."""

    key: str

    @property
    def _value_dtype(self) -> str:
        return self.dtype  # type: ignore[attr-defined]

    @property
    def name(self) -> str:
        return self.key

    @property
    def parse_example_spec(self) -> dict[str, Any]:
        return {self.key: VarLenFeature(self._value_dtype)}

    def _raw(self, transformer: Transformer) -> RaggedValue:
        """The feature's values, missing ones dropped."""
        return as_raw_sparse(transformer.raw(self.key), self.key, drop_missing=True)[0]


@dataclasses.dataclass(frozen=True)
class VocabularyColumn(_KeyedCategorical):
    """A vocabulary lookup (from a list or a file); unknown values -> default or OOV buckets."""

    key: str
    vocabulary: tuple[Any, ...]
    dtype: str
    default_value: int
    num_oov_buckets: int
    vocabulary_file: str | None = None

    @property
    def num_buckets(self) -> int:
        return len(self.vocabulary) + self.num_oov_buckets

    @property
    def vocabulary_list(self) -> tuple[Any, ...]:
        """The vocabulary (TF's ``VocabularyListCategoricalColumn.vocabulary_list``)."""
        return self.vocabulary

    @property
    def vocabulary_size(self) -> int:
        """The number of vocabulary entries, OOV buckets excluded (as TF's file column has it)."""
        return len(self.vocabulary)

    @property
    def file_format(self) -> str | None:
        """The vocabulary file's format: None (plain text lines), the only one read."""
        return None

    def _transform(self, transformer: Transformer) -> CategoricalIds:
        raw = self._raw(transformer)
        values = raw.values
        _check_value_dtype(values, self.dtype, self.key)
        if self.dtype != "string":  # TensorFlow casts to the int64 keys (wrapping unsigned values)
            values = values.astype(np.int64, copy=False)
        return CategoricalIds(RaggedValue.trusted(self._index.ids(values), raw.row_splits))

    @functools.cached_property
    def _index(self) -> VocabularyIndex:
        return VocabularyIndex(self.vocabulary, self._unknown_ids)

    def _unknown_ids(self, values: np.ndarray) -> np.ndarray:
        """Ids of values not in the vocabulary: an OOV bucket after it, or ``default_value``."""
        if self.num_oov_buckets:
            return len(self.vocabulary) + hash_bucket(values, self.num_oov_buckets)
        return np.full(len(values), self.default_value, dtype=np.int64)


def _check_vocab_args(key: str, default_value: Any, num_oov_buckets: int) -> None:
    if num_oov_buckets:
        if default_value is not None and default_value != -1:
            raise ValueError(f"Can't specify both num_oov_buckets and default_value in {key}.")
    if num_oov_buckets is None or num_oov_buckets < 0:
        raise ValueError(f"Invalid num_oov_buckets {num_oov_buckets} in {key}.")


def categorical_column_with_vocabulary_list(
    key: str, vocabulary_list: Sequence[Any], dtype: Any = None, default_value: int = -1, num_oov_buckets: int = 0
) -> VocabularyColumn:
    """Ids of ``key``'s values in ``vocabulary_list``; unknown values get ``default_value`` (-1,
    dropped downstream) or one of ``num_oov_buckets`` hash buckets after the vocabulary."""
    check_key(key)
    if vocabulary_list is None or len(vocabulary_list) < 1:
        raise ValueError(f"vocabulary_list {vocabulary_list} must be non-empty, column_name: {key}")
    vocabulary = tuple(vocabulary_list)
    if len(set(vocabulary)) != len(vocabulary):
        raise ValueError(f"Duplicate keys in vocabulary_list {vocabulary_list}, column_name: {key}")
    vocab_dtype = "string" if isinstance(vocabulary[0], (str, bytes)) else "int64"
    if not all(isinstance(v, (str, bytes)) == (vocab_dtype == "string") for v in vocabulary):
        raise ValueError(f"vocabulary_list {vocabulary_list} mixes strings and numbers, column_name: {key}")
    if vocab_dtype == "int64" and not all(isinstance(v, (int, np.integer)) for v in vocabulary):
        raise ValueError(
            f"column_name: {key} vocabulary dtype must be string or integer. "
            f"dtype: {tf_dtype(np.asarray(vocabulary).dtype)}."
        )
    if dtype is None:
        dtype = vocab_dtype
    else:
        dtype = _string_or_int_dtype(dtype, key)
        if (dtype == "string") != (vocab_dtype == "string"):
            raise ValueError(
                f"dtype {tf_dtype(dtype)} and vocabulary dtype {tf_dtype(vocab_dtype)} do not match, column_name: {key}"
            )
    _check_vocab_args(key, default_value, num_oov_buckets)
    if vocab_dtype == "string":
        vocabulary = tuple(v.decode() if isinstance(v, bytes) else v for v in vocabulary)
    return VocabularyColumn(
        key, vocabulary, dtype, -1 if default_value is None else int(default_value), int(num_oov_buckets)
    )


def categorical_column_with_vocabulary_file(
    key: str,
    vocabulary_file: str,
    vocabulary_size: int | None = None,
    dtype: Any = "string",
    default_value: int | None = None,
    num_oov_buckets: int = 0,
    file_format: str | None = None,
) -> VocabularyColumn:
    """Like the list version, with one vocabulary entry per line of ``vocabulary_file``."""
    check_key(key)
    if not vocabulary_file:
        raise ValueError(f"Missing vocabulary_file in {key}.")
    if file_format not in (None, "text"):
        raise ValueError(
            f"file_format {file_format!r} is not supported; only plain text vocabulary files are, column_name: {key}"
        )
    if not os.path.isfile(vocabulary_file):
        raise ValueError(f"vocabulary_file in {key} does not exist.")
    with open(vocabulary_file, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    if vocabulary_size is None:
        vocabulary_size = len(lines)
    if vocabulary_size < 1:
        raise ValueError(f"Invalid vocabulary_size in {key}.")
    if vocabulary_size > len(lines):
        raise ValueError(f"Invalid vocab_size in {vocabulary_file}: {vocabulary_size}. Actual size: {len(lines)}")
    _check_vocab_args(key, default_value, num_oov_buckets)
    dtype = _string_or_int_dtype(dtype, key)
    entries = lines[:vocabulary_size]
    vocabulary = tuple(int(v) for v in entries) if dtype != "string" else tuple(entries)
    return VocabularyColumn(
        key,
        vocabulary,
        dtype,
        -1 if default_value is None else int(default_value),
        int(num_oov_buckets),
        os.path.abspath(vocabulary_file),
    )


@dataclasses.dataclass(frozen=True)
class HashedColumn(_KeyedCategorical):
    """``categorical_column_with_hash_bucket``: ``Fingerprint64(value) mod hash_bucket_size``."""

    key: str
    hash_bucket_size: int
    dtype: str = "string"

    @property
    def num_buckets(self) -> int:
        return self.hash_bucket_size

    def _transform(self, transformer: Transformer) -> CategoricalIds:
        raw = self._raw(transformer)
        _check_value_dtype(raw.values, self.dtype, self.key)
        return CategoricalIds(RaggedValue.trusted(hash_bucket(raw.values, self.hash_bucket_size), raw.row_splits))


def categorical_column_with_hash_bucket(key: str, hash_bucket_size: int, dtype: Any = "string") -> HashedColumn:
    """Ids ``Fingerprint64(str(value)) mod hash_bucket_size``, bit-identical to TensorFlow."""
    check_key(key)
    if hash_bucket_size is None or hash_bucket_size < 1:
        raise ValueError(f"hash_bucket_size must be at least 1. hash_bucket_size: {hash_bucket_size}, key: {key}")
    return HashedColumn(key, int(hash_bucket_size), _string_or_int_dtype(dtype, key))


@dataclasses.dataclass(frozen=True)
class IdentityColumn(_KeyedCategorical):
    """``categorical_column_with_identity``: integer values used as ids."""

    key: str
    number_buckets: int
    default_value: int | None = None

    @property
    def _value_dtype(self) -> str:
        return "int64"

    @property
    def num_buckets(self) -> int:
        return self.number_buckets

    def _transform(self, transformer: Transformer) -> CategoricalIds:
        raw = self._raw(transformer)
        values = raw.values
        if values.size and values.dtype.kind not in "iu":
            raise ValueError(f"Invalid input, not integer. key: {self.key} dtype: {tf_dtype(values.dtype)}")
        ids = values.astype(np.int64)
        if self.default_value is not None:
            ids = np.where((ids < 0) | (ids >= self.number_buckets), self.default_value, ids)
        return CategoricalIds(RaggedValue.trusted(ids, raw.row_splits))


def categorical_column_with_identity(key: str, num_buckets: int, default_value: int | None = None) -> IdentityColumn:
    """Integer values in ``[0, num_buckets)`` used as ids (others -> ``default_value``)."""
    check_key(key)
    if num_buckets is None or num_buckets < 1:
        raise ValueError(f"num_buckets {num_buckets} < 1, column_name {key}")
    if default_value is not None and (default_value < 0 or default_value >= num_buckets):
        raise ValueError(f"default_value {default_value} not in range [0, {num_buckets}), column_name {key}")
    return IdentityColumn(key, int(num_buckets), default_value)


@dataclasses.dataclass(frozen=True)
class WeightedCategoricalColumn(CategoricalColumn):
    """``weighted_categorical_column``: ids of a categorical column with per-id weights."""

    categorical_column: CategoricalColumn
    weight_feature_key: str
    dtype: str = "float32"

    @property
    def name(self) -> str:
        return f"{self.categorical_column.name}_weighted_by_{self.weight_feature_key}"

    @property
    def parse_example_spec(self) -> dict[str, Any]:
        return {**self.categorical_column.parse_example_spec, self.weight_feature_key: VarLenFeature(self.dtype)}

    @property
    def num_buckets(self) -> int:
        return self.categorical_column.num_buckets

    def _transform(self, transformer: Transformer) -> CategoricalIds:
        raw_weights = transformer.raw(self.weight_feature_key)
        inner = self.categorical_column
        if isinstance(raw_weights, RaggedValue):
            weights = raw_weights
        else:
            weights, _ = as_raw_sparse(raw_weights, self.weight_feature_key, drop_missing=False)
        ids = inner.ids(transformer).ids
        raw_ids = (
            as_raw_sparse(transformer.raw(inner.key), inner.key, drop_missing=False)[0]
            if isinstance(inner, _KeyedCategorical)
            else ids
        )
        if raw_ids.values.shape != weights.values.shape or not np.array_equal(raw_ids.row_splits, weights.row_splits):
            raise ValueError(
                f"weighted_categorical_column {self.name}: weights {self.weight_feature_key!r} must align with the ids "
                f"of {inner.name!r} (same rows and lengths)."
            )
        if is_float(self.dtype) and weights.values.dtype.kind not in "f":
            raise ValueError(f"Bad dtype, expected {tf_dtype(self.dtype)}, but got {tf_dtype(weights.values.dtype)}.")
        w = weights.values.astype(np.float32)
        if ids.values.shape != raw_ids.values.shape:  # the inner column dropped missing ids: drop their weights too
            w = w[not_missing(raw_ids.values)]
        keep = w != 0
        if not keep.all():
            ids = ids.mask(keep)
            w = w[keep]
        return CategoricalIds(ids, w)


def weighted_categorical_column(
    categorical_column: CategoricalColumn, weight_feature_key: str, dtype: Any = torch.float32
) -> WeightedCategoricalColumn:
    """Pairs ``categorical_column``'s ids with weights from feature ``weight_feature_key``."""
    if not isinstance(categorical_column, CategoricalColumn):
        raise ValueError(f"categorical_column must be a categorical column; got {categorical_column}.")
    name = dtype_name(dtype)
    if not (is_float(name) or is_integer(name)):
        raise ValueError(f"dtype {tf_dtype(name)} is not convertible to float.")
    return WeightedCategoricalColumn(categorical_column, check_key(weight_feature_key), name)
