"""Parsing specs (``FixedLenFeature`` / ``VarLenFeature``) and dtype names shared by columns."""

from __future__ import annotations

import collections
from typing import Any

import numpy as np
import torch

__all__ = ["FixedLenFeature", "VarLenFeature", "dtype_name"]


class FixedLenFeature(collections.namedtuple("FixedLenFeature", ["shape", "dtype", "default_value"])):
    """A fixed-length feature of ``shape`` and ``dtype`` ('float32', 'int64' or 'string')."""

    def __new__(cls, shape: Any, dtype: Any, default_value: Any = None) -> FixedLenFeature:
        return super().__new__(cls, tuple(shape), dtype_name(dtype), default_value)


class VarLenFeature(collections.namedtuple("VarLenFeature", ["dtype"])):
    """A variable-length (sparse) feature of ``dtype``."""

    def __new__(cls, dtype: Any) -> VarLenFeature:
        return super().__new__(cls, dtype_name(dtype))


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
    return name.startswith("int") or name.startswith("uint")


def is_float(name: str) -> bool:
    return name.startswith("float")
