"""Sequence feature columns and ``SequenceFeatures``: per-step inputs ``[B, T, n]`` with each
example's sequence length, for recurrent models.

A sequence feature gives each example a sequence of values: a ``RaggedValue`` (row ``i`` is
example ``i``'s sequence) or a ``[B, T]`` array whose missing values (``''`` for strings, ``-1``
for integers) are empty steps. As in TensorFlow, an example's length is one past its last
present step, ``T`` is the width of the batch (its longest row), empty steps are zeros, and
a categorical step whose id is invalid (an unknown vocabulary value, say) is a zero step that
still counts. A ``sequence_numeric_column`` of ``shape`` ``s`` takes ``prod(s)`` values per step.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from torch_estimator._core.layers import clip_rows_to_norm
from torch_estimator._core.parse_spec import VarLenFeature
from torch_estimator._core.trace import NotExportableError, current_trace
from torch_estimator._core.values import RaggedValue, as_raw_sparse, encoding_of, not_missing
from torch_estimator._core.variables import current_store, variable_scope
from torch_estimator.feature_column._base import CategoricalColumn, FeatureColumn, Transformer
from torch_estimator.feature_column._categorical import (
    categorical_column_with_hash_bucket,
    categorical_column_with_identity,
    categorical_column_with_vocabulary_file,
    categorical_column_with_vocabulary_list,
)
from torch_estimator.feature_column._embedding import EmbeddingColumn, IndicatorColumn
from torch_estimator.feature_column._layers import ColumnsLayer, normalize_columns
from torch_estimator.feature_column._numeric import check_numeric_args

__all__ = [
    "SequenceCategoricalColumn",
    "SequenceNumericColumn",
    "SequenceFeatures",
    "sequence_categorical_column_with_identity",
    "sequence_categorical_column_with_hash_bucket",
    "sequence_categorical_column_with_vocabulary_list",
    "sequence_categorical_column_with_vocabulary_file",
    "sequence_numeric_column",
    "concatenate_context_input",
]


@dataclasses.dataclass(frozen=True)
class Steps:
    """Where a batch's present values sit: ``rows`` and ``positions`` (row-major order), each
    example's ``lengths`` and the batch's padded width ``width``."""

    rows: np.ndarray
    positions: np.ndarray
    lengths: np.ndarray
    width: int


def _steps(raw: Any, key: str, present_only: bool) -> tuple[Steps, np.ndarray]:
    """The steps of sequence feature ``key`` and its present values."""
    if isinstance(raw, torch.Tensor):
        raw = raw.detach().cpu().numpy()
    if not isinstance(raw, RaggedValue) and np.ndim(raw) < 2 and not isinstance(raw, list):
        raise ValueError(
            f"Sequence feature {key!r} must have a sequence per example (a RaggedValue, or a [batch_size, T] array); "
            f"got shape {np.shape(raw)}."
        )
    full, _ = as_raw_sparse(raw, key, drop_missing=False)
    values = full.values
    encoding = encoding_of(values)
    if encoding is not None:
        values = encoding[1][encoding[0]]
    splits = full.row_splits
    rows = np.repeat(np.arange(len(splits) - 1), np.diff(splits))
    positions = np.arange(len(values)) - splits[rows]
    if present_only:
        keep = not_missing(np.asarray(values))
        rows, positions, values = rows[keep], positions[keep], np.asarray(values)[keep]
    lengths = np.zeros(len(splits) - 1, dtype=np.int64)
    np.maximum.at(lengths, rows, positions + 1)
    width = int(np.diff(splits).max()) if len(splits) > 1 else 0
    return Steps(rows, positions, lengths, width), np.asarray(values)


@dataclasses.dataclass(frozen=True)
class SequenceIds:
    """A sequence categorical column's output: the id of each present step (invalid ids kept) and
    where the steps are."""

    ids: np.ndarray
    steps: Steps


@dataclasses.dataclass(frozen=True)
class SequenceCategoricalColumn(CategoricalColumn):
    """A categorical column read as a sequence: one id per step (``sequence_categorical_column_with_*``)."""

    categorical_column: CategoricalColumn

    @property
    def name(self) -> str:
        return self.categorical_column.name

    @property
    def key(self) -> str:
        key: str = self.categorical_column.key  # type: ignore[attr-defined]
        return key

    @property
    def parse_example_spec(self) -> dict[str, Any]:
        return self.categorical_column.parse_example_spec

    @property
    def num_buckets(self) -> int:
        return self.categorical_column.num_buckets

    def _transform(self, transformer: Transformer) -> SequenceIds:
        steps, _ = _steps(transformer.raw(self.key), self.key, present_only=True)
        ids = self.categorical_column.ids(transformer).ids.values
        if len(ids) != len(steps.rows):
            raise ValueError(f"Sequence feature {self.key!r}: one id per present step expected.")
        return SequenceIds(np.asarray(ids, dtype=np.int64), steps)

    def ids(self, transformer: Transformer) -> Any:
        raise ValueError(
            f"In a non-sequence layer (DenseFeatures, LinearModel): categorical_column must not be of type "
            f"SequenceCategoricalColumn ({self.name!r}). Suggested fix A: If you wish to use DenseFeatures, use a "
            "non-sequence categorical_column_with_*. Suggested fix B: If you wish to create sequence input, use "
            "SequenceFeatures instead of DenseFeatures."
        )

    def sequence_ids(self, transformer: Transformer) -> SequenceIds:
        """This column's ids and steps for the batch."""
        result: SequenceIds = transformer.get(self)
        return result


def sequence_categorical_column_with_identity(
    key: str, num_buckets: int, default_value: int | None = None
) -> SequenceCategoricalColumn:
    """A sequence of integer ids in ``[0, num_buckets)`` (see ``categorical_column_with_identity``)."""
    return SequenceCategoricalColumn(categorical_column_with_identity(key, num_buckets, default_value))


def sequence_categorical_column_with_hash_bucket(
    key: str, hash_bucket_size: int, dtype: Any = "string"
) -> SequenceCategoricalColumn:
    """A sequence of hashed ids (see ``categorical_column_with_hash_bucket``)."""
    return SequenceCategoricalColumn(categorical_column_with_hash_bucket(key, hash_bucket_size, dtype))


def sequence_categorical_column_with_vocabulary_list(
    key: str, vocabulary_list: Sequence[Any], dtype: Any = None, default_value: int = -1, num_oov_buckets: int = 0
) -> SequenceCategoricalColumn:
    """A sequence of vocabulary ids (see ``categorical_column_with_vocabulary_list``)."""
    return SequenceCategoricalColumn(
        categorical_column_with_vocabulary_list(key, vocabulary_list, dtype, default_value, num_oov_buckets)
    )


def sequence_categorical_column_with_vocabulary_file(
    key: str,
    vocabulary_file: str,
    vocabulary_size: int | None = None,
    num_oov_buckets: int = 0,
    default_value: int | None = None,
    dtype: Any = "string",
) -> SequenceCategoricalColumn:
    """A sequence of vocabulary-file ids (see ``categorical_column_with_vocabulary_file``; TF's
    argument order)."""
    return SequenceCategoricalColumn(
        categorical_column_with_vocabulary_file(
            key, vocabulary_file, vocabulary_size, dtype, default_value, num_oov_buckets
        )
    )


@dataclasses.dataclass(frozen=True)
class SequenceNumericColumn(FeatureColumn):
    """``sequence_numeric_column``: ``prod(shape)`` numbers per step."""

    key: str
    shape: tuple[int, ...] = (1,)
    default_value: float = 0.0
    dtype: str = "float32"
    normalizer_fn: Callable[[torch.Tensor], torch.Tensor] | None = None

    @property
    def name(self) -> str:
        return self.key

    @property
    def parse_example_spec(self) -> dict[str, Any]:
        return {self.key: VarLenFeature(self.dtype)}

    @property
    def num_elements(self) -> int:
        return math.prod(self.shape)

    def _transform(self, transformer: Transformer) -> tuple[Steps, np.ndarray]:
        steps, values = _steps(transformer.raw(self.key), self.key, present_only=False)
        if values.size and values.dtype.kind not in "biuf":
            raise ValueError(f"Sequence feature {self.key!r} must be numeric; got dtype {values.dtype}.")
        return steps, values

    def sequence_dense(self, transformer: Transformer, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """``([B, T, prod(shape)], lengths)``: each step's values, missing ones ``default_value``."""
        steps, values = transformer.get(self)
        n = self.num_elements
        if steps.width % n:
            raise ValueError(
                f"sequence_numeric_column {self.key!r} of shape {self.shape} needs {n} values per step; the batch's "
                f"rows are {steps.width} values wide."
            )
        batch = len(steps.lengths)
        out = np.full((batch, steps.width), self.default_value, dtype=np.float32)
        out[steps.rows, steps.positions] = values.astype(np.float32)
        tensor = torch.from_numpy(out).to(device)
        if self.normalizer_fn is not None:
            present = torch.zeros(batch, steps.width, dtype=torch.bool)
            present[torch.from_numpy(steps.rows), torch.from_numpy(steps.positions)] = True
            present = present.to(device)
            tensor = torch.where(present, self.normalizer_fn(tensor), tensor)
        lengths = (steps.lengths + n - 1) // n
        return tensor.reshape(batch, steps.width // n, n), torch.from_numpy(lengths).to(device)


def sequence_numeric_column(
    key: str,
    shape: Sequence[int] | int = (1,),
    default_value: float = 0.0,
    dtype: Any = torch.float32,
    normalizer_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> SequenceNumericColumn:
    """A sequence of numbers, ``prod(shape)`` per step. ``normalizer_fn`` maps the ``[B, T·n]`` values
    (applied to the present ones; TF applies it to the SparseTensor of values)."""
    checked, name = check_numeric_args(key, shape, dtype, normalizer_fn)
    return SequenceNumericColumn(key, checked, float(default_value), name, normalizer_fn)


def _sequence_of(column: FeatureColumn) -> SequenceCategoricalColumn | None:
    inner = getattr(column, "categorical_column", None)
    return inner if isinstance(inner, SequenceCategoricalColumn) else None


def _categorical_steps(
    column: EmbeddingColumn | IndicatorColumn, transformer: Transformer, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    sequence = _sequence_of(column)
    assert sequence is not None
    found = sequence.sequence_ids(transformer)
    steps, ids = found.steps, found.ids
    batch, width = len(steps.lengths), steps.width
    valid = (ids >= 0) & (ids < sequence.num_buckets)
    flat = steps.rows[valid] * width + steps.positions[valid]
    lengths = torch.from_numpy(steps.lengths).to(device)
    if isinstance(column, IndicatorColumn):
        counts = np.zeros((batch * width, sequence.num_buckets), dtype=np.float32)
        np.add.at(counts, (flat, ids[valid]), 1.0)
        return torch.from_numpy(counts).reshape(batch, width, -1).to(device), lengths
    table = column.embedding_weights()
    rows = table[torch.from_numpy(ids[valid]).to(table.device)]
    if column.max_norm is not None:
        rows = clip_rows_to_norm(rows, column.max_norm)
    out = torch.zeros(batch * width, column.dimension, dtype=table.dtype, device=table.device)
    out = out.index_add(0, torch.from_numpy(flat).to(table.device), rows)
    return out.reshape(batch, width, column.dimension).to(device), lengths


def _is_sequence_column(column: Any) -> bool:
    return isinstance(column, SequenceNumericColumn) or (
        isinstance(column, (EmbeddingColumn, IndicatorColumn)) and _sequence_of(column) is not None
    )


class SequenceFeatures(ColumnsLayer):
    """``tf.keras.experimental.SequenceFeatures``: the sequence columns' per-step outputs side by side
    (columns sorted by name), ``([B, T, n], sequence_length [B])``. All columns must give each
    example the same length. Embedding tables are variables named
    ``<scope>/<name>/<column>/embedding_weights`` (``name`` defaults to ``sequence_features``);
    outside a model_fn the layer keeps its own variables, as a Keras layer does.
    """

    def __init__(
        self, feature_columns: Sequence[FeatureColumn], trainable: bool = True, name: str | None = None
    ) -> None:
        self._columns: list[FeatureColumn] = normalize_columns(feature_columns, (FeatureColumn,), "{}")
        for column in self._columns:
            if not _is_sequence_column(column):
                raise ValueError(
                    "Items of feature_columns must be a sequence column: sequence_numeric_column, or an "
                    "embedding_column / indicator_column of a sequence_categorical_column_with_*. "
                    f"Given (type {type(column).__name__}): {column}"
                )
        self.trainable = trainable
        self.name = name or "sequence_features"
        self._feature_keys = sorted({k for c in self._columns for k in c.parse_example_spec})

    @property
    def feature_columns(self) -> list[FeatureColumn]:
        return list(self._columns)

    def __call__(self, features: Any, training: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if current_trace() is not None:
            raise NotExportableError(
                "Models with sequence feature columns (SequenceFeatures, the RNN estimators) cannot be exported: "
                "their steps are unrolled per batch, so the program would be fixed to one sequence width."
            )
        with self._own_store():
            return self._call(features)

    def _call(self, features: Any) -> tuple[torch.Tensor, torch.Tensor]:
        transformer = self._checked(features)
        device = current_store().device
        outputs: list[torch.Tensor] = []
        lengths: list[tuple[str, torch.Tensor]] = []
        with variable_scope(self.name):
            for column in self._columns:
                if isinstance(column, SequenceNumericColumn):
                    tensor, length = column.sequence_dense(transformer, device)
                else:
                    with variable_scope(column.name):
                        tensor, length = _categorical_steps(column, transformer, device)  # type: ignore[arg-type]
                outputs.append(tensor)
                lengths.append((column.name, length))
        first_name, first = lengths[0]
        for name, length in lengths[1:]:
            if length.shape != first.shape or not torch.equal(length, first):
                raise ValueError(
                    f"Sequence lengths differ between columns {first_name!r} ({first.tolist()}) and {name!r} "
                    f"({length.tolist()}); every sequence column must give each example the same length."
                )
        widths = {t.shape[1] for t in outputs}
        if len(widths) > 1:
            raise ValueError(f"Sequence columns give batches of different widths {sorted(widths)}; pad them alike.")
        return (torch.cat(outputs, dim=-1) if len(outputs) > 1 else outputs[0]), first


def concatenate_context_input(context_input: torch.Tensor, sequence_input: torch.Tensor) -> torch.Tensor:
    """``[B, T, d + c]``: ``context_input`` ``[B, c]`` repeated at every step after ``sequence_input``."""
    if sequence_input.dim() != 3:
        raise ValueError(f"sequence_input must have rank 3; got shape {tuple(sequence_input.shape)}.")
    if context_input.dim() != 2:
        raise ValueError(f"context_input must have rank 2; got shape {tuple(context_input.shape)}.")
    if sequence_input.dtype != torch.float32 or context_input.dtype != torch.float32:
        raise ValueError(
            f"sequence_input and context_input must be float32; got {sequence_input.dtype} and {context_input.dtype}."
        )
    tiled = context_input[:, None, :].expand(-1, sequence_input.shape[1], -1)
    return torch.cat([sequence_input, tiled], dim=2)
