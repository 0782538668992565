"""Dense views of categorical columns: ``indicator_column`` (multi-hot counts, on the host) and
``embedding_column`` / ``shared_embeddings`` (combined rows of an embedding table)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any, cast

import torch

from torch_estimator._core import checkpoint, initializers
from torch_estimator._core.trace import Bag, HostPart
from torch_estimator._core.values import CategoricalIds
from torch_estimator._core.variables import current_store, get_variable
from torch_estimator.feature_column._bags import bag_from_host, bag_host, prune
from torch_estimator.feature_column._base import CategoricalColumn, DenseColumn, Transformer
from torch_estimator.feature_column._block import HostBlock

__all__ = [
    "IndicatorColumn",
    "EmbeddingColumn",
    "SharedEmbeddingColumn",
    "indicator_column",
    "embedding_column",
    "shared_embeddings",
]

_COMBINERS = ("mean", "sqrtn", "sum")


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

    def _add_to_block(self, transformer: Transformer, block: HostBlock, start: int) -> None:
        ragged, weights = prune(transformer.get(self), drop_nonpositive_weights=False)
        rows, values = ragged.row_ids(), ragged.values
        keep = values < self.width  # out-of-range identity ids give an all-zero row, as in TensorFlow
        if not keep.all():
            rows, values, weights = rows[keep], values[keep], None if weights is None else weights[keep]
        block.add(rows, start + values, weights)


def indicator_column(categorical_column: CategoricalColumn) -> IndicatorColumn:
    """Multi-hot (count) representation of a categorical column."""
    if not isinstance(categorical_column, CategoricalColumn):
        raise ValueError(f"Unsupported input type. Input must be a CategoricalColumn. Given: {categorical_column}")
    return IndicatorColumn(categorical_column)


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

    def _table_shape(self) -> list[int]:
        return [self.categorical_column.num_buckets, self.dimension]

    def embedding_weights(self) -> torch.Tensor:
        """The ``embedding_weights`` variable (created in the current scope on first use)."""
        return get_variable(
            "embedding_weights", self._table_shape(), torch.float32, self._initializer(), self.trainable
        )

    @property
    def host_only(self) -> bool:
        return False

    def host_inputs(self, transformer: Transformer) -> HostPart:
        column = self.categorical_column
        return bag_host(
            transformer.get(self), self.combiner, column.num_buckets, column.name, self.max_norm is not None
        )

    def from_host(self, host: HostPart, device: torch.device) -> torch.Tensor:
        return bag_from_host(self.embedding_weights(), cast(Bag, host), device, self.max_norm)


def _checkpoint_initializer(path: str, name: str) -> Callable[..., torch.Tensor]:
    def init(shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
        prefix = checkpoint.resolve(path)
        if prefix is None:
            raise ValueError(f"ckpt_to_load_from {path!r} is not a checkpoint or a directory holding one.")
        value = checkpoint.load_variable(prefix, name)
        if tuple(value.shape) != tuple(shape):
            raise ValueError(
                f"Tensor {name} in {prefix} has shape {list(value.shape)}; the embedding needs {list(shape)}."
            )
        return value.to(dtype)

    return init


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
    name = categorical_column.name
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
        """The group's table, named ``shared_name`` at the top of the variable store."""
        return current_store().get_variable(
            self.shared_name, self._table_shape(), torch.float32, self._initializer(), self.trainable
        )


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
                "To use shared_embedding_column, all categorical_columns must have the same type, or be "
                "weighted_categorical_column or sequence column of the same type. Given column: "
                f"{first} of type: {type(first).__name__} does not match given column: {column} of type: "
                f"{type(column).__name__}"
            )
        if column.num_buckets != first.num_buckets:
            raise ValueError(
                "To use shared_embedding_column, all categorical_columns must have the same number of buckets. "
                f"Given column: {first} with buckets: {first.num_buckets} does not match column: {column} with "
                f"buckets: {column.num_buckets}"
            )
    options = embedding_column(
        first,
        dimension,
        combiner,
        initializer,
        ckpt_to_load_from,
        tensor_name_in_ckpt,
        max_norm,
        trainable,
        use_safe_embedding_lookup,
    )
    shared_name = shared_embedding_collection_name or "_".join(sorted(c.name for c in columns)) + "_shared_embedding"
    fields = {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}
    return [SharedEmbeddingColumn(**{**fields, "categorical_column": c}, shared_name=shared_name) for c in columns]
