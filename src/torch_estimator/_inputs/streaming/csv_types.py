"""The types of CSV columns: read off ``column_defaults`` as TensorFlow reads them, or inferred
from the first rows (int64, else float32, float64 beyond float32's range, else string)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from torch_estimator._inputs.streaming.fields import Field

__all__ = ["field_from_default", "value_kind", "widen", "inferred_field"]

_INFERRED_ORDER = ("int64", "float32", "float64", "string")  # inference widens along this order
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_DTYPE_KINDS = {
    np.dtype(np.int32): "int32",
    np.dtype(np.int64): "int64",
    np.dtype(np.float32): "float32",
    np.dtype(np.float64): "float64",
}
_PYTHON_TYPE_KINDS: dict[Any, str] = {int: "int64", float: "float32", str: "string", bytes: "string"}
_SCALARS = (int, float, str, bytes, np.integer, np.floating, np.str_, np.bytes_)


def _kind_of_dtype(dtype: Any) -> str | None:
    if dtype in _PYTHON_TYPE_KINDS:
        return _PYTHON_TYPE_KINDS[dtype]
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        return None
    return "string" if dtype.kind in "USO" else _DTYPE_KINDS.get(dtype)


def field_from_default(name: str, item: Any, position: int) -> Field:
    """A ``column_defaults`` item as TF reads it: a dtype (required column), a default value, or a
    one-element (default) / empty (required) list or array."""
    if isinstance(item, np.ndarray) and item.ndim == 0:
        item = item[()]
    kind: str | None = None
    if isinstance(item, (type, np.dtype)):
        kind = _kind_of_dtype(item)
        if kind is not None:
            return Field(name, kind)
    elif isinstance(item, (list, tuple, np.ndarray)) and len(item) <= 1:
        if len(item) == 0:  # TF: an empty tensor marks a required column ([] is float32)
            kind = _kind_of_dtype(item.dtype) if isinstance(item, np.ndarray) else "float32"
            if kind is not None:
                return Field(name, kind)
        else:
            return field_from_default(name, item[0], position)
    elif isinstance(item, _SCALARS) and not isinstance(item, (bool, np.bool_)):
        kind = _PYTHON_TYPE_KINDS.get(type(item)) or _kind_of_dtype(np.asarray(item).dtype)
        if kind is not None:
            value = item.decode() if isinstance(item, bytes) else item
            return Field(name, kind, str(value) if kind == "string" else np.dtype(kind).type(value))
    raise TypeError(
        f"column_defaults[{position}] (column {name!r}) must be a default value (int, float or str), a one-element "
        "list holding one, or a dtype (float32, float64, int32, int64 or str) marking the column required; "
        f"got {item!r}."
    )


def value_kind(array: pa.Array) -> str | None:
    """The narrowest inferred kind holding every non-missing value of ``array`` (None: all missing)."""
    values = array.drop_null()
    if len(values) == 0:
        return None
    try:
        pc.cast(values, pa.int64())
        return "int64"
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    try:
        floats = pc.cast(values, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return "string"
    finite = pc.filter(floats, pc.is_finite(floats))
    largest = pc.max(pc.abs(finite)).as_py() if len(finite) else None
    return "float64" if largest is not None and largest > _FLOAT32_MAX else "float32"


def widen(a: str | None, b: str | None) -> str | None:
    """The kind holding the values of kinds ``a`` and ``b`` (None: no values seen)."""
    if a is None or b is None:
        return a or b
    return max(a, b, key=_INFERRED_ORDER.index)


def inferred_field(name: str, kind: str | None) -> Field:
    """An inferred column: optional, default 0 or '' (a column with no values read is a string)."""
    kind = kind or "string"
    return Field(name, kind, "" if kind == "string" else np.dtype(kind).type(0))
