"""How TensorFlow writes shapes and dtypes in the messages TF Serving answers with."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["shape_string", "data_type_string"]


def shape_string(dims: Iterable[int]) -> str:
    """``TensorShape::DebugString``: ``[2,3]``."""
    return "[" + ",".join(map(str, dims)) + "]"


def data_type_string(dtype: str) -> str:
    """``DataTypeString`` of a ``tensorflow.DataType`` name: 'DT_FLOAT' -> 'float', 'DT_STRING' -> 'string'
    (other names are returned as they are)."""
    return dtype[3:].lower() if dtype.startswith("DT_") else dtype
