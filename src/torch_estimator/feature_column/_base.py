"""The feature-column interfaces and the per-batch transform cache.

Every column is an immutable, hashable description. ``Transformer`` computes each column's
transform once per batch (a column used twice, e.g. a bucketized column in a cross and in the
DNN, is transformed once). Categorical columns produce ``CategoricalIds``; dense columns produce
a float ``[B, n]`` tensor in two halves: host inputs (numpy work, a ``HostPart``) and a tensor
half that creates and looks up their variables (embeddings) in the active variable store.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any, cast

import torch

from torch_estimator._core.trace import Bag, DenseBlock, HostPart
from torch_estimator._core.values import CategoricalIds, batch_size_of
from torch_estimator._core.variables import get_variable
from torch_estimator.feature_column._bags import bag_from_host, bag_host
from torch_estimator.feature_column._block import HostBlock

__all__ = [
    "FeatureColumn",
    "DenseColumn",
    "CategoricalColumn",
    "Transformer",
    "check_key",
    "sanitized_name",
    "static_block",
    "make_parse_example_spec",
]


def check_key(key: Any) -> str:
    """``key`` if it is a string (a feature key), else a ValueError."""
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
        """The raw feature ``key``."""
        if key not in self.features:
            raise ValueError(f"Feature {key} is not in features dictionary.")
        return self.features[key]

    def get(self, column: FeatureColumn) -> Any:
        """``column``'s transform of this batch, computed on first use."""
        cached = self._cache.get(column)
        if cached is None:
            cached = self._cache[column] = column._transform(self)
        return cached

    @property
    def batch_size(self) -> int:
        for value in self.features.values():
            return batch_size_of(value)
        return 0


class FeatureColumn:
    """Base of all feature columns.

    In a ``LinearModel`` a column contributes ``_linear_logits(_linear_host(...))``: categorical
    columns look their ids up in a weight table, dense columns multiply their output by one.
    """

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

    def _linear_host(self, transformer: Transformer, combiner: str) -> HostPart:
        """The host inputs of this column's part of a ``LinearModel``."""
        raise NotImplementedError

    def _linear_logits(self, host: HostPart, device: torch.device, units: int, trainable: bool) -> torch.Tensor:
        """This column's ``[B, units]`` part of a ``LinearModel``'s logits (variables in the current scope)."""
        raise NotImplementedError


class DenseColumn(FeatureColumn):
    """A column with a dense ``[B, n]`` output (numeric, bucketized, embedding, indicator)."""

    @property
    def variable_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @functools.cached_property
    def width(self) -> int:
        """``n``, the width of the dense output."""
        return math.prod(self.variable_shape)

    @property
    def host_only(self) -> bool:
        """True when the whole dense output is computed on the host (no variables, no tensor code)."""
        return True

    def host_inputs(self, transformer: Transformer) -> HostPart:
        """The host half: tensors computed from the raw features."""
        return DenseBlock(static_block([self], transformer))

    def from_host(self, host: HostPart, device: torch.device) -> torch.Tensor:
        """The tensor half: the ``[B, n]`` output from ``host_inputs``' tensors (variables looked up here)."""
        return cast(DenseBlock, host).block.to(device)

    def dense_tensor(self, transformer: Transformer, device: torch.device) -> torch.Tensor:
        """The ``[B, n]`` dense output for a batch."""
        return self.from_host(self.host_inputs(transformer), device)

    def _add_to_block(self, transformer: Transformer, block: HostBlock, start: int) -> None:
        """Writes this host-only column's output into columns ``start .. start + width`` of ``block``."""
        raise TypeError(f"{self} is not computed on the host.")

    def _linear_host(self, transformer: Transformer, combiner: str) -> HostPart:
        return self.host_inputs(transformer)

    def _linear_logits(self, host: HostPart, device: torch.device, units: int, trainable: bool) -> torch.Tensor:
        weights = get_variable("weights", [self.width, units], torch.float32, "zeros", trainable)
        return self.from_host(host, device) @ weights


class CategoricalColumn(FeatureColumn):
    """A column of integer ids in ``[0, num_buckets)`` per example."""

    @property
    def num_buckets(self) -> int:
        raise NotImplementedError

    def ids(self, transformer: Transformer) -> CategoricalIds:
        """This column's ids for the batch."""
        return transformer.get(self)

    def _linear_weights(self, units: int, trainable: bool) -> torch.Tensor:
        """The ``[num_buckets, units]`` weight table of this column in a ``LinearModel``."""
        return get_variable("weights", [self.num_buckets, units], torch.float32, "zeros", trainable)

    def _linear_host(self, transformer: Transformer, combiner: str) -> HostPart:
        return bag_host(self.ids(transformer), combiner, self.num_buckets, self.name)

    def _linear_logits(self, host: HostPart, device: torch.device, units: int, trainable: bool) -> torch.Tensor:
        return bag_from_host(self._linear_weights(units, trainable), cast(Bag, host), device)


def static_block(columns: Sequence[DenseColumn], transformer: Transformer) -> torch.Tensor:
    """The dense outputs of host-only ``columns`` side by side (see ``_block``)."""
    block = HostBlock(transformer.batch_size, sum(column.width for column in columns))
    start = 0
    for column in columns:
        column._add_to_block(transformer, block, start)
        start += column.width
    return block.tensor()


def sanitized_name(column: FeatureColumn) -> str:
    """The column's name as a variable-scope name (TF replaces characters outside [A-Za-z0-9_.-])."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", column.name)


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
