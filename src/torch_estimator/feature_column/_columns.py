"""Feature columns: host transforms (numpy, vectorised, no per-row loop) and device outputs (torch).

Every column is an immutable, hashable description. ``Transformer`` computes each column's
transform once per batch (a column used twice, e.g. a bucketized column in a cross and in the
DNN, is transformed once). Categorical columns produce ``CategoricalIds``; dense columns produce
a float ``[B, n]`` tensor, creating their variables (embeddings) in the active variable store.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from torch_estimator._core import initializers
from torch_estimator._core.batches import numeric_tensor
from torch_estimator._core.checks import text_key
from torch_estimator._core.parse_spec import FixedLenFeature, VarLenFeature, dtype_name, is_float, is_integer
from torch_estimator._core.values import (
    CategoricalIds,
    DictionaryCache,
    RaggedValue,
    as_numpy,
    as_raw_sparse,
    encoding_of,
    not_missing,
    uniform_splits,
)
from torch_estimator._core.variables import current_store, get_variable
from torch_estimator.feature_column._hashing import (
    CROSS_HASH_KEY,
    factorize,
    fingerprint64,
    fingerprint_cat64,
    hash_bucket,
)

__all__ = [
    "FeatureColumn",
    "DenseColumn",
    "CategoricalColumn",
    "Transformer",
    "numeric_column",
    "bucketized_column",
    "categorical_column_with_vocabulary_list",
    "categorical_column_with_vocabulary_file",
    "categorical_column_with_hash_bucket",
    "categorical_column_with_identity",
    "crossed_column",
    "weighted_categorical_column",
    "embedding_column",
    "shared_embeddings",
    "indicator_column",
    "make_parse_example_spec",
]

#: Tables with at least this many rows get sparse (row-wise) gradients.
SPARSE_GRADIENT_MIN_ROWS = 50_000


def _check_key(key: Any) -> str:
    if not isinstance(key, str):
        raise ValueError(f"key must be a string. Given: {key}")
    return key


class Transformer:
    """Per-batch transform cache over a features dict (TF's FeatureTransformationCache)."""

    def __init__(self, features: dict[str, Any]) -> None:
        if not isinstance(features, dict):
            raise ValueError(f"features should be a dictionary of `Tensor`s. Given type: {type(features)}")
        self.features = features
        self._cache: dict[Any, Any] = {}

    def raw(self, key: str) -> Any:
        if key not in self.features:
            raise ValueError(f"Feature {key} is not in features dictionary.")
        return self.features[key]

    def get(self, column: FeatureColumn) -> Any:
        cached = self._cache.get(column)
        if cached is None:
            cached = self._cache[column] = column._transform(self)
        return cached

    @property
    def batch_size(self) -> int:
        from torch_estimator._core.values import batch_size_of

        for value in self.features.values():
            return batch_size_of(value)
        return 0


class FeatureColumn:
    """Base of all feature columns."""

    @property
    def name(self) -> str:
        raise NotImplementedError

    @property
    def parse_example_spec(self) -> dict[str, Any]:
        raise NotImplementedError

    def _transform(self, transformer: Transformer) -> Any:
        raise NotImplementedError

    def transform(self, features: dict[str, Any]) -> Any:
        """This column's host transform of a features dict (ids for categorical columns)."""
        return Transformer(features).get(self)


class DenseColumn(FeatureColumn):
    """A column with a dense ``[B, n]`` output (numeric, bucketized, embedding, indicator)."""

    @property
    def variable_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def host_only(self) -> bool:
        """True when the whole dense output is computed on the host (no variables, no tensor code)."""
        return True

    def host_inputs(self, transformer: Transformer, complete: bool = False) -> dict[str, torch.Tensor]:
        """The host half: tensors computed from the raw features (a fixed set of keys when ``complete``)."""
        return {"block": static_block([self], transformer)}

    def from_host(self, host: dict[str, torch.Tensor], device: torch.device) -> torch.Tensor:
        """The tensor half: the ``[B, n]`` output from ``host_inputs``' tensors (variables looked up here)."""
        return host["block"].to(device)

    def dense_tensor(self, transformer: Transformer, device: torch.device) -> torch.Tensor:
        """The ``[B, n]`` dense output for a batch."""
        return self.from_host(self.host_inputs(transformer), device)

    @property
    def _num_elements(self) -> int:
        return math.prod(self.variable_shape)


class CategoricalColumn(FeatureColumn):
    """A column of integer ids in ``[0, num_buckets)`` per example."""

    @property
    def num_buckets(self) -> int:
        raise NotImplementedError

    def ids(self, transformer: Transformer) -> CategoricalIds:
        return transformer.get(self)


def _sanitize(name: str) -> str:
    """Column name as a variable-scope name (TF replaces characters outside [A-Za-z0-9_.-])."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name)


# -- numeric and bucketized ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class NumericColumn(DenseColumn):
    """``numeric_column``: a dense float value of ``shape`` per example."""

    key: str
    shape: tuple[int, ...] = (1,)
    default_value: Any = None
    dtype: str = "float32"
    normalizer_fn: Callable[[Any], Any] | None = None
    _is_numeric_column = True

    @property
    def name(self) -> str:
        return self.key

    @property
    def parse_example_spec(self) -> dict[str, Any]:
        return {self.key: FixedLenFeature(self.shape, self.dtype, self.default_value)}

    @property
    def variable_shape(self) -> tuple[int, ...]:
        return self.shape

    def _raw_values(self, transformer: Transformer) -> torch.Tensor:
        """The feature as a ``[B, *shape]`` tensor of its own dtype, before ``normalizer_fn``."""
        value = transformer.raw(self.key)
        if isinstance(value, RaggedValue):
            raise ValueError(
                f"The corresponding Tensor of numerical column must be a Tensor. SparseTensor is not supported. key: {self.key}"
            )
        if not isinstance(value, torch.Tensor):
            array = as_numpy(value, self.key, self._expected)
            if array.dtype.kind not in "biuf":
                raise ValueError(f"Feature {self.key} of numeric_column must be numeric; got dtype {array.dtype}.")
            value = numeric_tensor(array)
        if value.dim() == 0:
            raise ValueError(
                f"Feature (key: {self.key}) cannot have rank 0. Given: {value.item()!r}; numeric_column expects {self._expected}."
            )
        n = self._num_elements
        if value.numel() != value.shape[0] * n:
            raise ValueError(
                f"Feature {self.key} has shape {tuple(value.shape)}; numeric_column expects [batch_size] + {list(self.shape)}."
            )
        return value.reshape(value.shape[0], *self.shape)

    @functools.cached_property
    def _expected(self) -> str:
        """The value this column reads, as errors describe it."""
        return f"a [batch_size] + {list(self.shape)} array of numbers"

    def _normalized(self, value: torch.Tensor) -> torch.Tensor:
        if self.normalizer_fn is not None:
            value = self.normalizer_fn(value)
        return value.to(torch.float32)

    def _transform(self, transformer: Transformer) -> torch.Tensor:
        return self._normalized(self._raw_values(transformer))

    @property
    def host_only(self) -> bool:
        return self.normalizer_fn is None

    def host_inputs(self, transformer: Transformer, complete: bool = False) -> dict[str, torch.Tensor]:
        if self.normalizer_fn is None:
            return super().host_inputs(transformer, complete)
        return {"raw": self._raw_values(transformer)}

    def from_host(self, host: dict[str, torch.Tensor], device: torch.device) -> torch.Tensor:
        if self.normalizer_fn is None:
            return super().from_host(host, device)
        value = self._normalized(host["raw"].to(device))
        return value.reshape(value.shape[0], self._num_elements)


def numeric_column(
    key: str,
    shape: int | Sequence[int] = (1,),
    default_value: Any = None,
    dtype: Any = torch.float32,
    normalizer_fn: Callable[[Any], Any] | None = None,
) -> NumericColumn:
    """A dense numeric feature ``key`` of ``shape`` per example (``normalizer_fn`` applied first)."""
    _check_key(key)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    for dim in shape:
        if not isinstance(dim, int):
            raise ValueError(f"shape dimensions must be integer. shape: {shape}, key: {key}")
        if dim < 1:
            raise ValueError(f"shape dimensions must be greater than 0. shape: {shape}, key: {key}")
    name = dtype_name(dtype)
    if not (is_float(name) or is_integer(name)):
        raise ValueError(f"dtype must be convertible to float. dtype: {tf_dtype(name)}, key: {key}")
    if normalizer_fn is not None and not callable(normalizer_fn):
        raise TypeError(f"normalizer_fn must be a callable. Given: {normalizer_fn}")
    if default_value is not None:
        array = np.asarray(default_value)
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"default_value must be compatible with dtype. default_value: {default_value}, dtype: {tf_dtype(name)}, key: {key}"
            )
        if array.size not in (1, math.prod(shape)):
            raise ValueError(
                f"The shape of default_value must be equal to given shape. default_value: {default_value}, shape: {shape}, key: {key}"
            )
        default_value = (
            tuple(np.broadcast_to(array, shape).reshape(-1).tolist())
            if array.size != 1 or shape != (1,)
            else (array.reshape(-1)[0].item(),)
        )
    return NumericColumn(key, shape, default_value, name, normalizer_fn)


@dataclasses.dataclass(frozen=True)
class BucketizedColumn(DenseColumn, CategoricalColumn):
    """``bucketized_column``: bucket index of a numeric column (left-closed intervals)."""

    source_column: NumericColumn
    boundaries: tuple[float, ...]

    @property
    def name(self) -> str:
        return f"{self.source_column.name}_bucketized"

    @property
    def parse_example_spec(self) -> dict[str, Any]:
        return self.source_column.parse_example_spec

    @property
    def variable_shape(self) -> tuple[int, ...]:
        return tuple(self.source_column.shape) + (len(self.boundaries) + 1,)

    @property
    def num_buckets(self) -> int:
        return self.source_column._num_elements * (len(self.boundaries) + 1)

    def _buckets(self, transformer: Transformer) -> torch.Tensor:
        values = transformer.get(self.source_column)
        flat = values.reshape(values.shape[0], self.source_column._num_elements)
        boundaries = torch.tensor(self.boundaries, dtype=torch.float32, device=flat.device)
        return torch.bucketize(flat, boundaries, right=True)

    def _transform(self, transformer: Transformer) -> CategoricalIds:
        buckets = self._buckets(transformer).cpu().numpy().astype(np.int64)
        batch, dim = buckets.shape
        ids = buckets + np.arange(dim, dtype=np.int64) * (len(self.boundaries) + 1)
        return CategoricalIds(RaggedValue.trusted(ids.reshape(-1), np.arange(0, batch * dim + 1, dim, dtype=np.int64)))


def bucketized_column(source_column: NumericColumn, boundaries: Sequence[float]) -> BucketizedColumn:
    """Buckets of ``source_column``: 0 below ``boundaries[0]``, i in ``[b[i-1], b[i])``, ``len(b)`` above."""
    if not isinstance(source_column, NumericColumn):
        raise ValueError(f"source_column must be a column generated with numeric_column(). Given: {source_column}")
    if len(source_column.shape) > 1:
        raise ValueError(f"source_column must be one-dimensional column. Given: {source_column}")
    if not boundaries:
        raise ValueError("boundaries must not be empty.")
    if not isinstance(boundaries, (list, tuple)):
        raise ValueError("boundaries must be a sorted list.")
    for a, b in zip(boundaries[:-1], boundaries[1:]):
        if a >= b:
            raise ValueError("boundaries must be a sorted list.")
    return BucketizedColumn(source_column, tuple(float(b) for b in boundaries))


# -- categorical columns over raw features ------------------------------------------------------


def tf_dtype(name: str) -> str:
    """A dtype as TensorFlow prints it in messages: ``<dtype: 'string'>``."""
    return f"<dtype: '{name}'>"


def _array_dtype(values: np.ndarray) -> str:
    return "string" if values.dtype.kind in "USO" else values.dtype.name


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
            f"tensor dtype: {tf_dtype(_array_dtype(values))}"
        )


def _oov_ids(values: np.ndarray, vocab_size: int, num_oov_buckets: int) -> np.ndarray:
    return vocab_size + hash_bucket(values, num_oov_buckets)


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

    def _transform(self, transformer: Transformer) -> CategoricalIds:
        raw, _ = as_raw_sparse(transformer.raw(self.key), self.key, drop_missing=True)
        values = raw.values
        _check_value_dtype(values, self.dtype, self.key)
        if self.dtype != "string":
            values = values.astype(
                np.int64, copy=False
            )  # TensorFlow casts to the int64 keys (wrapping unsigned values)
        return CategoricalIds(RaggedValue.trusted(self._lookup(values), raw.row_splits))

    @functools.cached_property
    def _index(self) -> dict[Any, int]:
        return {v: i for i, v in enumerate(self.vocabulary)}

    @functools.cached_property
    def _dictionary_ids(self) -> DictionaryCache:
        return DictionaryCache()

    def _lookup_unique(self, uniques: np.ndarray) -> np.ndarray:
        """Ids of distinct values (unknown -> default or OOV bucket)."""
        index = self._index
        ids = np.fromiter((index.get(text_key(u), -1) for u in uniques.tolist()), dtype=np.int64, count=len(uniques))
        unknown = ids < 0
        if unknown.any():
            if self.num_oov_buckets:
                ids[unknown] = _oov_ids(uniques[unknown], len(self.vocabulary), self.num_oov_buckets)
            else:
                ids[unknown] = self.default_value
        return ids

    def _lookup(self, values: np.ndarray) -> np.ndarray:
        if values.size == 0:
            return np.zeros(0, dtype=np.int64)
        encoding = encoding_of(values)
        if encoding is not None:
            return np.take(self._dictionary_ids.get(encoding[1], self._lookup_unique), encoding[0].reshape(-1))
        uniques, inverse = factorize(values)
        return self._lookup_unique(uniques)[inverse.reshape(-1)]


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
    _check_key(key)
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
            f"column_name: {key} vocabulary dtype must be string or integer. dtype: {tf_dtype(_array_dtype(np.asarray(vocabulary)))}."
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
    _check_key(key)
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
        raw, _ = as_raw_sparse(transformer.raw(self.key), self.key, drop_missing=True)
        _check_value_dtype(raw.values, self.dtype, self.key)
        return CategoricalIds(RaggedValue.trusted(hash_bucket(raw.values, self.hash_bucket_size), raw.row_splits))


def categorical_column_with_hash_bucket(key: str, hash_bucket_size: int, dtype: Any = "string") -> HashedColumn:
    """Ids ``Fingerprint64(str(value)) mod hash_bucket_size``, bit-identical to TensorFlow."""
    _check_key(key)
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
        raw, _ = as_raw_sparse(transformer.raw(self.key), self.key, drop_missing=True)
        values = raw.values
        if values.size and values.dtype.kind not in "iu":
            raise ValueError(f"Invalid input, not integer. key: {self.key} dtype: {tf_dtype(_array_dtype(values))}")
        ids = values.astype(np.int64)
        if self.default_value is not None:
            ids = np.where((ids < 0) | (ids >= self.number_buckets), self.default_value, ids)
        return CategoricalIds(RaggedValue.trusted(ids, raw.row_splits))


def categorical_column_with_identity(key: str, num_buckets: int, default_value: int | None = None) -> IdentityColumn:
    """Integer values in ``[0, num_buckets)`` used as ids (others -> ``default_value``)."""
    _check_key(key)
    if num_buckets is None or num_buckets < 1:
        raise ValueError(f"num_buckets {num_buckets} < 1, column_name {key}")
    if default_value is not None and (default_value < 0 or default_value >= num_buckets):
        raise ValueError(f"default_value {default_value} not in range [0, {num_buckets}), column_name {key}")
    return IdentityColumn(key, int(num_buckets), default_value)


# -- crossed and weighted -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CrossedColumn(CategoricalColumn):
    """``crossed_column``: hashed Cartesian product of feature values / categorical ids."""

    keys: tuple[Any, ...]
    hash_bucket_size: int
    hash_key: int | None = None

    @property
    def name(self) -> str:
        return "_X_".join(sorted(_leaf_name(k) for k in _leaf_keys(self)))

    @property
    def parse_example_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        for key in _leaf_keys(self):
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
        for key in _leaf_keys(self):
            if isinstance(key, str):
                raw, was_sparse = as_raw_sparse(transformer.raw(key), key, drop_missing=False)
                if raw.values.size and raw.values.dtype.kind not in "iuUSO":
                    raise ValueError(
                        f"crossed_column {self.name}: feature {key!r} must hold strings or integers; got dtype {raw.values.dtype}."
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
        fast = self._cross_by_table(parts, batch)
        if fast is not None:
            return fast
        return CategoricalIds(self._cross_rows([p for p, _ in parts], batch))

    @functools.cached_property
    def _tables(self) -> _TupleCache:
        return _TupleCache()

    def _seed(self) -> np.uint64:
        return np.uint64(CROSS_HASH_KEY if self.hash_key is None else self.hash_key)

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
        hash every combination of the domains once (cached), then gather per batch."""
        domains: list[np.ndarray] = []
        codes: list[np.ndarray] = []
        for part, num_ids in parts:
            if len(part.values) != batch or not np.array_equal(part.row_splits, uniform_splits(batch, 1)):
                return None
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


_CROSS_TABLE_MAX = 200_000
_ID_DOMAINS: dict[int, np.ndarray] = {}


def _id_domain(num_ids: int) -> np.ndarray:
    domain = _ID_DOMAINS.get(num_ids)
    if domain is None:
        domain = _ID_DOMAINS[num_ids] = np.arange(num_ids, dtype=np.int64)
    return domain


class _TupleCache:
    """Like ``DictionaryCache`` but keyed by a tuple of arrays (held, so their ids stay unique)."""

    def __init__(self, capacity: int = 8) -> None:
        self._entries: dict[tuple[int, ...], tuple[tuple[np.ndarray, ...], np.ndarray]] = {}
        self._capacity = capacity

    def get(
        self, arrays: tuple[np.ndarray, ...], compute: Callable[[tuple[np.ndarray, ...]], np.ndarray]
    ) -> np.ndarray:
        key = tuple(id(a) for a in arrays)
        entry = self._entries.get(key)
        if entry is not None and all(a is b for a, b in zip(entry[0], arrays)):
            return entry[1]
        result = compute(arrays)
        if len(self._entries) >= self._capacity:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (arrays, result)
        return result


def _cross_hash_values(values: np.ndarray) -> np.ndarray:
    """Strings hash to their Fingerprint64; integers (raw features or ids) are used as they are."""
    if values.dtype.kind in "USO":
        return fingerprint64(values)
    return values.astype(np.int64).view(np.uint64)


def _leaf_keys(column: CrossedColumn) -> list[Any]:
    leaves: list[Any] = []
    for key in column.keys:
        leaves.extend(_leaf_keys(key) if isinstance(key, CrossedColumn) else [key])
    return leaves


def _leaf_name(key: Any) -> str:
    return key if isinstance(key, str) else key.name


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
                f"Unsupported key type. All keys must be either string, or categorical column except HashedCategoricalColumn. Given: {key}"
            )
        if isinstance(key, HashedColumn):
            raise ValueError(
                "categorical_column_with_hash_bucket is not supported for crossing. Hashing before crossing will increase "
                f"probability of collision. Instead, use the feature name as a string. Given: {key}"
            )
    return CrossedColumn(tuple(keys), int(hash_bucket_size), hash_key)


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
        spec = dict(self.categorical_column.parse_example_spec)
        spec[self.weight_feature_key] = VarLenFeature(self.dtype)
        return spec

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
        raw_ids, _ = (
            as_raw_sparse(transformer.raw(inner.key), inner.key, drop_missing=False)
            if hasattr(inner, "key")
            else (ids, True)
        )
        if raw_ids.values.shape != weights.values.shape or not np.array_equal(raw_ids.row_splits, weights.row_splits):
            raise ValueError(
                f"weighted_categorical_column {self.name}: weights {self.weight_feature_key!r} must align with the ids of "
                f"{inner.name!r} (same rows and lengths)."
            )
        if is_float(self.dtype) and weights.values.dtype.kind not in "f":
            raise ValueError(
                f"Bad dtype, expected {tf_dtype(self.dtype)}, but got {tf_dtype(_array_dtype(weights.values))}."
            )
        w = weights.values.astype(np.float32)
        if ids.values.shape != raw_ids.values.shape:  # the inner column dropped missing ids: drop their weights too
            keep = not_missing(raw_ids.values)
            w = w[keep]
        keep_w = w != 0
        if not keep_w.all():
            ids = ids.mask(keep_w)
            w = w[keep_w]
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
    return WeightedCategoricalColumn(categorical_column, _check_key(weight_feature_key), name)


# -- dense views of categorical columns -----------------------------------------------------------


def _prune(ids: CategoricalIds, drop_nonpositive_weights: bool) -> tuple[RaggedValue, np.ndarray | None]:
    """Drops ids < 0 (and weights <= 0 when asked), as safe_embedding_lookup_sparse does."""
    keep = ids.ids.values >= 0
    if drop_nonpositive_weights and ids.weights is not None:
        keep &= ids.weights > 0
    if keep.all():
        return ids.ids, ids.weights
    return ids.ids.mask(keep), None if ids.weights is None else ids.weights[keep]


def bag_inputs(
    ids: CategoricalIds, combiner: str, column: CategoricalColumn
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(ids, row of each id, per-id weight or None)`` of ``column``'s ids after pruning, with the
    weights normalised per row for ``mean`` / ``sqrtn`` so that a weighted sum gives the combined
    embedding. Ids beyond the table raise a ValueError naming the column."""
    ragged, weights = _prune(ids, drop_nonpositive_weights=combiner != "sum")
    values = ragged.values
    num_rows = column.num_buckets
    if len(values) and int(values.max()) >= num_rows:
        i = int(np.flatnonzero(values >= num_rows)[0])
        raise ValueError(
            f"Feature column {column.name!r}: indices[{i}] = {int(values[i])} is not in [0, {num_rows}) (its num_buckets); "
            "categorical_column_with_identity maps such ids to its default_value when given one."
        )
    rows = ragged.row_ids()
    if combiner == "sum" or not len(values):
        return values, rows, weights
    batch = ragged.batch_size
    w = np.ones(len(values), dtype=np.float64) if weights is None else weights.astype(np.float64)
    if combiner == "mean":
        denom = np.bincount(rows, weights=w, minlength=batch)
    else:
        denom = np.sqrt(np.bincount(rows, weights=w**2, minlength=batch))
    return values, rows, (w / denom[rows]).astype(np.float32)


def bag_offsets(rows: np.ndarray, num_bags: int) -> np.ndarray:
    """``EmbeddingBag`` offsets of ``num_bags`` bags from the (sorted) bag of each id."""
    counts = np.bincount(rows, minlength=num_bags)
    offsets = np.zeros(num_bags, dtype=np.int64)
    np.cumsum(counts[:-1], out=offsets[1:])
    return offsets


def bag_host(
    ids: CategoricalIds, combiner: str, column: CategoricalColumn, complete: bool = False, with_rows: bool = False
) -> dict[str, torch.Tensor]:
    """The host half of a bag lookup of ``column``'s ids: ``ids``, ``offsets``, per-id ``weights``
    (when any, or always when ``complete``) and, with ``with_rows``, the ``rows`` of each id."""
    values, rows, weights = bag_inputs(ids, combiner, column)
    out = {
        "ids": torch.from_numpy(values.astype(np.int64, copy=False)),
        "offsets": torch.from_numpy(bag_offsets(rows, ids.batch_size)),
    }
    if weights is not None or complete:
        out["weights"] = torch.from_numpy(weights if weights is not None else np.ones(len(values), np.float32))
    if with_rows:
        out["rows"] = torch.from_numpy(rows.astype(np.int64, copy=False))
    return out


def bag_from_host(
    table: torch.Tensor, host: dict[str, torch.Tensor], device: torch.device, max_norm: float | None = None
) -> torch.Tensor:
    """``out[b] = Σ weight·table[id]`` over the ids of bag b (rows scaled to ``max_norm`` first)."""
    ids = host["ids"].to(device)
    weights = host.get("weights")
    weights = None if weights is None else weights.to(device)
    if max_norm is None:
        return F.embedding_bag(
            ids,
            table,
            host["offsets"].to(device),
            mode="sum",
            per_sample_weights=weights,
            sparse=table.shape[0] >= SPARSE_GRADIENT_MIN_ROWS,
        )
    looked_up = F.embedding(ids, table)
    norms = looked_up.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    looked_up = looked_up * torch.clamp(max_norm / norms, max=1.0)
    if weights is not None:
        looked_up = looked_up * weights[:, None]
    out = torch.zeros(host["offsets"].shape[0], table.shape[1], dtype=table.dtype, device=device)
    return out.index_add(0, host["rows"].to(device), looked_up)


def static_block(columns: Sequence[DenseColumn], transformer: Transformer) -> torch.Tensor:
    """Dense outputs of host-only columns (numeric, bucketized, indicator) side by side, built on
    the host with one ``bincount`` for all the one-hot and multi-hot parts."""
    batch = transformer.batch_size
    widths = [c.categorical_column.num_buckets if isinstance(c, IndicatorColumn) else c._num_elements for c in columns]
    width = sum(widths)
    out = np.zeros((batch, width), dtype=np.float32)
    flat_index: list[np.ndarray] = []
    flat_weight: list[np.ndarray | None] = []
    start = 0
    for column, w in zip(columns, widths):
        if isinstance(column, NumericColumn):
            out[:, start : start + w] = transformer.get(column).reshape(batch, w).cpu().numpy()
        elif isinstance(column, BucketizedColumn):
            ids = transformer.get(column).ids
            flat_index.append(ids.row_ids() * width + start + ids.values)
            flat_weight.append(None)
        elif isinstance(column, IndicatorColumn):
            ragged, weights = _prune(transformer.get(column), drop_nonpositive_weights=False)
            keep = ragged.values < w  # out-of-range identity ids give an all-zero row, as in TensorFlow
            rows, values = ragged.row_ids(), ragged.values
            if not keep.all():
                rows, values, weights = rows[keep], values[keep], None if weights is None else weights[keep]
            flat_index.append(rows * width + start + values)
            flat_weight.append(weights)
        else:
            raise TypeError(f"{column} is not computed on the host.")
        start += w
    if flat_index:
        index = np.concatenate(flat_index)
        weights = None
        if any(w is not None for w in flat_weight):
            weights = np.concatenate(
                [w if w is not None else np.ones(len(i), np.float32) for w, i in zip(flat_weight, flat_index)]
            )
        out += np.bincount(index, weights=weights, minlength=batch * width).reshape(batch, width).astype(np.float32)
    return torch.from_numpy(out)


class _DenseViewOfCategorical(DenseColumn):
    """A dense column computed from a categorical column's ids (indicator, embedding)."""

    categorical_column: CategoricalColumn

    @property
    def parse_example_spec(self) -> dict[str, Any]:
        return self.categorical_column.parse_example_spec

    def _transform(self, transformer: Transformer) -> CategoricalIds:
        return self.categorical_column.ids(transformer)


@dataclasses.dataclass(frozen=True)
class IndicatorColumn(_DenseViewOfCategorical):
    """``indicator_column``: per-row counts (or weight sums) of each id, ``[B, num_buckets]``."""

    categorical_column: CategoricalColumn

    @property
    def name(self) -> str:
        return f"{self.categorical_column.name}_indicator"

    @property
    def variable_shape(self) -> tuple[int, ...]:
        return (self.categorical_column.num_buckets,)


def indicator_column(categorical_column: CategoricalColumn) -> IndicatorColumn:
    """Multi-hot (count) representation of a categorical column."""
    if not isinstance(categorical_column, CategoricalColumn):
        raise ValueError(f"Unsupported input type. Input must be a CategoricalColumn. Given: {categorical_column}")
    return IndicatorColumn(categorical_column)


_COMBINERS = ("mean", "sqrtn", "sum")


@dataclasses.dataclass(frozen=True)
class EmbeddingColumn(_DenseViewOfCategorical):
    """``embedding_column``: combined embeddings of a categorical column's ids."""

    categorical_column: CategoricalColumn
    dimension: int
    combiner: str = "mean"
    initializer: Callable[..., torch.Tensor] | None = None
    ckpt_to_load_from: str | None = None
    tensor_name_in_ckpt: str | None = None
    max_norm: float | None = None
    trainable: bool = True
    use_safe_embedding_lookup: bool = True

    @property
    def name(self) -> str:
        return f"{self.categorical_column.name}_embedding"

    @property
    def variable_shape(self) -> tuple[int, ...]:
        return (self.dimension,)

    def _initializer(self) -> Callable[..., torch.Tensor]:
        if self.ckpt_to_load_from is not None:
            return _checkpoint_initializer(self.ckpt_to_load_from, self.tensor_name_in_ckpt)  # type: ignore[arg-type]
        return self.initializer or initializers.truncated_normal(0.0, 1.0 / math.sqrt(self.dimension))

    def embedding_weights(self) -> torch.Tensor:
        """The ``embedding_weights`` variable (created in the current scope on first use)."""
        return get_variable(
            "embedding_weights",
            [self.categorical_column.num_buckets, self.dimension],
            torch.float32,
            self._initializer(),
            self.trainable,
        )

    @property
    def host_only(self) -> bool:
        return False

    def host_inputs(self, transformer: Transformer, complete: bool = False) -> dict[str, torch.Tensor]:
        return bag_host(
            transformer.get(self), self.combiner, self.categorical_column, complete, self.max_norm is not None
        )

    def from_host(self, host: dict[str, torch.Tensor], device: torch.device) -> torch.Tensor:
        return bag_from_host(self.embedding_weights(), host, device, self.max_norm)


def _checkpoint_initializer(path: str, name: str) -> Callable[..., torch.Tensor]:
    def init(shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
        from torch_estimator._core import checkpoint as _checkpoint

        prefix = _checkpoint.resolve(path)
        if prefix is None:
            raise ValueError(f"ckpt_to_load_from {path!r} is not a checkpoint or a directory holding one.")
        value = _checkpoint.load_variable(prefix, name)
        if tuple(value.shape) != tuple(shape):
            raise ValueError(
                f"Tensor {name} in {prefix} has shape {list(value.shape)}; the embedding needs {list(shape)}."
            )
        return value.to(dtype)

    return init


def _check_embedding_args(
    name: str, dimension: int, combiner: str, initializer: Any, ckpt_to_load_from: Any, tensor_name_in_ckpt: Any
) -> None:
    if dimension is None or dimension < 1:
        raise ValueError(f"Invalid dimension {dimension}.")
    if (ckpt_to_load_from is None) != (tensor_name_in_ckpt is None):
        raise ValueError("Must specify both `ckpt_to_load_from` and `tensor_name_in_ckpt` or none of them.")
    if initializer is not None and not callable(initializer):
        raise ValueError(f"initializer must be callable if specified. Embedding of column_name: {name}")
    if combiner not in _COMBINERS:
        raise ValueError(
            f'combiner must be one of "mean", "sqrtn", "sum"; got {combiner!r}. Embedding of column_name: {name}'
        )


def embedding_column(
    categorical_column: CategoricalColumn,
    dimension: int,
    combiner: str = "mean",
    initializer: Callable[..., torch.Tensor] | None = None,
    ckpt_to_load_from: str | None = None,
    tensor_name_in_ckpt: str | None = None,
    max_norm: float | None = None,
    trainable: bool = True,
    use_safe_embedding_lookup: bool = True,
) -> EmbeddingColumn:
    """Dense ``dimension``-d embedding of a categorical column (default init: truncated normal,
    stddev ``1/sqrt(dimension)``); rows with several ids are combined by ``combiner``."""
    if not isinstance(categorical_column, CategoricalColumn):
        raise ValueError(f"categorical_column must be a categorical column; got {categorical_column}.")
    _check_embedding_args(
        categorical_column.name, dimension, combiner, initializer, ckpt_to_load_from, tensor_name_in_ckpt
    )
    return EmbeddingColumn(
        categorical_column,
        int(dimension),
        combiner,
        initializer,
        ckpt_to_load_from,
        tensor_name_in_ckpt,
        max_norm,
        trainable,
        use_safe_embedding_lookup,
    )


@dataclasses.dataclass(frozen=True)
class SharedEmbeddingColumn(EmbeddingColumn):
    """One of ``shared_embeddings``: its table is shared by name across the group."""

    shared_name: str = ""

    @property
    def name(self) -> str:
        return f"{self.categorical_column.name}_shared_embedding"

    def embedding_weights(self) -> torch.Tensor:
        store = current_store()
        shape = [self.categorical_column.num_buckets, self.dimension]
        return store.get_variable(self.shared_name, shape, torch.float32, self._initializer(), self.trainable)


def shared_embeddings(
    categorical_columns: Sequence[CategoricalColumn],
    dimension: int,
    combiner: str = "mean",
    initializer: Callable[..., torch.Tensor] | None = None,
    shared_embedding_collection_name: str | None = None,
    ckpt_to_load_from: str | None = None,
    tensor_name_in_ckpt: str | None = None,
    max_norm: float | None = None,
    trainable: bool = True,
    use_safe_embedding_lookup: bool = True,
) -> list[SharedEmbeddingColumn]:
    """Embedding columns sharing one table (``<sorted names>_shared_embedding``); all the
    categorical columns must be of one type and have the same number of buckets. Unlike
    TensorFlow 2.15, they work eagerly and are trained."""
    columns = list(categorical_columns)
    if not columns:
        raise ValueError("categorical_columns must not be empty.")
    first = columns[0]
    for column in columns:
        if not isinstance(column, CategoricalColumn):
            raise ValueError(f"All categorical_columns must be categorical columns. Given: {column}")
        if type(column) is not type(first):
            raise ValueError(
                "To use shared_embedding_column, all categorical_columns must have the same type, or be weighted_categorical_column "
                f"or sequence column of the same type. Given column: {first} of type: {type(first).__name__} does not match given "
                f"column: {column} of type: {type(column).__name__}"
            )
        if column.num_buckets != first.num_buckets:
            raise ValueError(
                "To use shared_embedding_column, all categorical_columns must have the same number of buckets. Given column: "
                f"{first} with buckets: {first.num_buckets} does not match column: {column} with buckets: {column.num_buckets}"
            )
    _check_embedding_args(first.name, dimension, combiner, initializer, ckpt_to_load_from, tensor_name_in_ckpt)
    shared_name = shared_embedding_collection_name or "_".join(sorted(c.name for c in columns)) + "_shared_embedding"
    return [
        SharedEmbeddingColumn(
            c,
            int(dimension),
            combiner,
            initializer,
            ckpt_to_load_from,
            tensor_name_in_ckpt,
            max_norm,
            trainable,
            use_safe_embedding_lookup,
            shared_name,
        )
        for c in columns
    ]


def make_parse_example_spec(feature_columns: Iterable[FeatureColumn]) -> dict[str, Any]:
    """The union of the columns' parsing specs (conflicting specs for one key raise)."""
    spec: dict[str, Any] = {}
    for column in feature_columns:
        if not isinstance(column, FeatureColumn):
            raise ValueError(f"All feature_columns must be FeatureColumn instances. Given: {column}")
        for key, value in column.parse_example_spec.items():
            if key in spec and spec[key] != value:
                raise ValueError(
                    f"feature_columns contain different parse_spec for key {key}. Given {spec[key]} and {value}"
                )
            spec[key] = value
    return spec


def sanitized_name(column: FeatureColumn) -> str:
    return _sanitize(column.name)
