"""``numeric_column`` and ``bucketized_column``."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
import torch

from torch_estimator._core.batches import numeric_tensor
from torch_estimator._core.dtypes import dtype_name, is_float, is_integer, tf_dtype
from torch_estimator._core.parse_spec import FixedLenFeature
from torch_estimator._core.trace import HostPart, RawFeature
from torch_estimator._core.values import CategoricalIds, RaggedValue, as_numpy
from torch_estimator.feature_column._base import CategoricalColumn, DenseColumn, Transformer, check_key
from torch_estimator.feature_column._block import HostBlock

__all__ = [
    "NumericColumn",
    "BucketizedColumn",
    "numeric_column",
    "bucketized_column",
    "check_numeric_args",
    "check_shape",
]


@dataclasses.dataclass(frozen=True)
class NumericColumn(DenseColumn):
    """``numeric_column``: a dense float value of ``shape`` per example."""

    key: str
    shape: tuple[int, ...] = (1,)
    default_value: Any = None
    dtype: str = "float32"
    normalizer_fn: Callable[[Any], Any] | None = None
    #: What heads test for a numeric weight column (they know no feature column classes).
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
                "The corresponding Tensor of numerical column must be a Tensor. SparseTensor is not supported. "
                f"key: {self.key}"
            )
        if not isinstance(value, torch.Tensor):
            array = as_numpy(value, self.key, self._expected)
            if array.dtype.kind not in "biuf":
                raise ValueError(f"Feature {self.key} of numeric_column must be numeric; got dtype {array.dtype}.")
            value = numeric_tensor(array)
        if value.dim() == 0:
            raise ValueError(
                f"Feature (key: {self.key}) cannot have rank 0. Given: {value.item()!r}; "
                f"numeric_column expects {self._expected}."
            )
        if value.numel() != value.shape[0] * self.width:
            raise ValueError(
                f"Feature {self.key} has shape {tuple(value.shape)}; "
                f"numeric_column expects [batch_size] + {list(self.shape)}."
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

    def host_inputs(self, transformer: Transformer) -> HostPart:
        if self.normalizer_fn is None:
            return super().host_inputs(transformer)
        return RawFeature(self._raw_values(transformer))

    def from_host(self, host: HostPart, device: torch.device) -> torch.Tensor:
        if self.normalizer_fn is None:
            return super().from_host(host, device)
        value = self._normalized(cast(RawFeature, host).raw.to(device))
        return value.reshape(value.shape[0], self.width)

    def _add_to_block(self, transformer: Transformer, block: HostBlock, start: int) -> None:
        values = transformer.get(self)
        block.put(start, values.reshape(values.shape[0], self.width).cpu().numpy())


def numeric_column(
    key: str,
    shape: int | Sequence[int] = (1,),
    default_value: Any = None,
    dtype: Any = torch.float32,
    normalizer_fn: Callable[[Any], Any] | None = None,
) -> NumericColumn:
    """A dense numeric feature ``key`` of ``shape`` per example (``normalizer_fn`` applied first)."""
    shape, name = check_numeric_args(key, shape, dtype, normalizer_fn)
    if default_value is not None:
        array = np.asarray(default_value)
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"default_value must be compatible with dtype. default_value: {default_value}, "
                f"dtype: {tf_dtype(name)}, key: {key}"
            )
        if array.size not in (1, math.prod(shape)):
            raise ValueError(
                f"The shape of default_value must be equal to given shape. default_value: {default_value}, "
                f"shape: {shape}, key: {key}"
            )
        default_value = (
            tuple(np.broadcast_to(array, shape).reshape(-1).tolist())
            if array.size != 1 or shape != (1,)
            else (array.reshape(-1)[0].item(),)
        )
    return NumericColumn(key, shape, default_value, name, normalizer_fn)


@dataclasses.dataclass(frozen=True)
class BucketizedColumn(DenseColumn, CategoricalColumn):
    """``bucketized_column``: bucket index of a numeric column (left-closed intervals).

    Dense (one-hot) in a ``DenseFeatures``, categorical (a weight per bucket) in a ``LinearModel``.
    """

    source_column: NumericColumn
    boundaries: tuple[float, ...]

    _linear_host = CategoricalColumn._linear_host
    _linear_logits = CategoricalColumn._linear_logits

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
        return self.width

    def _transform(self, transformer: Transformer) -> CategoricalIds:
        values = transformer.get(self.source_column)
        dim = self.source_column.width
        flat = values.reshape(values.shape[0], dim)
        boundaries = torch.tensor(self.boundaries, dtype=torch.float32, device=flat.device)
        buckets = torch.bucketize(flat, boundaries, right=True).cpu().numpy().astype(np.int64)
        batch = buckets.shape[0]
        ids = buckets + np.arange(dim, dtype=np.int64) * (len(self.boundaries) + 1)
        return CategoricalIds(RaggedValue.trusted(ids.reshape(-1), np.arange(0, batch * dim + 1, dim, dtype=np.int64)))

    def _add_to_block(self, transformer: Transformer, block: HostBlock, start: int) -> None:
        ids = self.ids(transformer).ids
        block.add(ids.row_ids(), start + ids.values)


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


def check_numeric_args(
    key: str, shape: int | Sequence[int], dtype: Any, normalizer_fn: Callable[[Any], Any] | None
) -> tuple[tuple[int, ...], str]:
    """``(shape, dtype name)`` of a numeric column (plain or sequence), its arguments checked as TF does."""
    check_key(key)
    checked = check_shape(shape, key)
    name = dtype_name(dtype)
    if not (is_float(name) or is_integer(name)):
        raise ValueError(f"dtype must be convertible to float. dtype: {tf_dtype(name)}, key: {key}")
    if normalizer_fn is not None and not callable(normalizer_fn):
        raise TypeError(f"normalizer_fn must be a callable. Given: {normalizer_fn}")
    return checked, name


def check_shape(shape: int | Sequence[int], key: str) -> tuple[int, ...]:
    """``shape`` as a tuple of positive ints (TF's ``_check_shape``), else a ValueError naming ``key``."""
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    for dim in dims:
        if not isinstance(dim, int):
            raise ValueError(f"shape dimensions must be integer. shape: {dims}, key: {key}")
        if dim < 1:
            raise ValueError(f"shape dimensions must be greater than 0. shape: {dims}, key: {key}")
    return dims
