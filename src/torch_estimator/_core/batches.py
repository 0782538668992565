"""Batch values (numpy, pandas, lists, tensors) as the tensors a model_fn receives.

Iterating what an input_fn returns is the engine's: ``torch_estimator._engine.input_batches``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from torch_estimator._core.in_memory import BatchFeatures

__all__ = ["to_model_input", "numeric_tensor", "is_pandas"]


def numeric_tensor(array: np.ndarray) -> torch.Tensor:
    """A numeric numpy array (any rank) as a CPU tensor of its values; unsigned integers wider than
    8 bits, which few torch ops take, become int64 (uint64: float64)."""
    if array.dtype.kind == "u" and array.itemsize > 1:
        array = array.astype(np.int64 if array.itemsize < 8 else np.float64)
    return torch.from_numpy(array if array.ndim == 0 else np.ascontiguousarray(array))


def is_pandas(value: Any) -> bool:
    """Whether ``value`` is a pandas object (Series, DataFrame, ...), without importing pandas."""
    return type(value).__module__.startswith("pandas")


def to_model_input(value: Any, device: torch.device, what: str = "features") -> Any:
    """Numeric values as tensors on ``device``; strings stay numpy arrays; dicts recursively.

    Accepted: torch tensors, numpy arrays, pandas Series/DataFrames (DataFrames become dicts of
    columns), lists, Python scalars, and TensorFlow eager tensors. Other objects (e.g. sparse
    or ragged values understood by feature columns) are passed through unchanged.
    """
    if isinstance(value, dict):
        converted = {k: to_model_input(v, device, f"{what}[{k!r}]") for k, v in value.items()}
        return value.with_values(converted) if isinstance(value, BatchFeatures) else converted
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True) if value.device != device else value
    if is_pandas(value):
        if hasattr(value, "columns"):
            return {str(c): to_model_input(value[c], device, f"{what}[{c!r}]") for c in value.columns}
        if hasattr(value, "to_numpy"):
            if str(getattr(value, "dtype", "")) == "category":
                return value
            value = value.to_numpy()
    elif hasattr(value, "numpy") and not isinstance(value, np.ndarray) and callable(value.numpy):
        value = value.numpy()
    if isinstance(value, (list, tuple, int, float, bool, np.generic)):
        value = np.asarray(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            if not value.flags.writeable or not value.flags.c_contiguous:
                value = np.ascontiguousarray(value).copy()
            return torch.from_numpy(value).to(device, non_blocking=True)
        if value.dtype.kind == "c":
            raise TypeError(f"{what} has complex dtype {value.dtype}; only real numbers and strings are supported.")
        return value
    return value
