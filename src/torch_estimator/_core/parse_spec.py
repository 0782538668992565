"""Parsing specs: ``FixedLenFeature`` and ``VarLenFeature``, as feature columns declare them and
``tf.Example`` parsing reads them."""

from __future__ import annotations

import collections
from typing import Any

from torch_estimator._core.dtypes import dtype_name

__all__ = ["FixedLenFeature", "VarLenFeature"]


class FixedLenFeature(collections.namedtuple("FixedLenFeature", ["shape", "dtype", "default_value"])):
    """A fixed-length feature of ``shape`` and ``dtype`` ('float32', 'int64' or 'string')."""

    def __new__(cls, shape: Any, dtype: Any, default_value: Any = None) -> FixedLenFeature:
        return super().__new__(cls, tuple(shape), dtype_name(dtype), default_value)


class VarLenFeature(collections.namedtuple("VarLenFeature", ["dtype"])):
    """A variable-length (sparse) feature of ``dtype``."""

    def __new__(cls, dtype: Any) -> VarLenFeature:
        return super().__new__(cls, dtype_name(dtype))
