"""Dtype names: the canonical names columns, specs and receivers use, and TensorFlow's spelling
of a dtype in messages."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["dtype_name", "is_integer", "is_float", "tf_dtype"]

_ALIASES = {
    "float": "float32",
    "float32": "float32",
    "float64": "float64",
    "double": "float64",
    "float16": "float16",
    "half": "float16",
    "int": "int64",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "int64": "int64",
    "uint8": "uint8",
    "str": "string",
    "string": "string",
    "object": "string",
    "bytes": "string",
    "bool": "bool",
}


def dtype_name(dtype: Any) -> str:
    """A canonical dtype name from a torch/numpy dtype, a Python type, a string, or a TF dtype."""
    if dtype is None:
        raise ValueError("dtype must not be None.")
    if isinstance(dtype, torch.dtype):
        name = str(dtype).replace("torch.", "")
    elif dtype in (str, bytes):
        name = "string"
    elif isinstance(dtype, str):
        name = dtype
    elif hasattr(dtype, "name") and isinstance(dtype.name, str):  # numpy or TensorFlow dtypes
        name = dtype.name
    else:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            raise ValueError(f"Unsupported dtype {dtype!r}.") from None
    name = _ALIASES.get(name, name)
    if name.startswith("str") or name.startswith("bytes"):
        name = "string"
    return name


def is_integer(name: str) -> bool:
    """Whether a canonical dtype name is a signed or unsigned integer type."""
    return name.startswith("int") or name.startswith("uint")


def is_float(name: str) -> bool:
    """Whether a canonical dtype name is a floating point type."""
    return name.startswith("float")


def tf_dtype(dtype: Any) -> str:
    """A dtype (a name, or a torch or numpy dtype) as TensorFlow prints it in messages:
    ``<dtype: 'float32'>``, ``<dtype: 'string'>``."""
    return f"<dtype: '{dtype_name(dtype)}'>"
