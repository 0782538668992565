"""Turning what an input_fn returns into ``(features, labels)`` batches for the model_fn."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch

__all__ = ["iterate_batches", "to_model_input", "numeric_tensor", "SINGLE_BATCH_HINT"]

SINGLE_BATCH_HINT = (
    "input_fn returned one batch (a features dict, a tensor, or a (features, labels) tuple), "
    "which training repeats forever, as TensorFlow does for constant tensors: pass steps or "
    "max_steps to train(), or return an iterable of batches."
)


def numeric_tensor(array: np.ndarray) -> torch.Tensor:
    """A numeric numpy array (any rank) as a CPU tensor of its values; unsigned integers wider than
    8 bits, which few torch ops take, become int64 (uint64: float64)."""
    if array.dtype.kind == "u" and array.itemsize > 1:
        array = array.astype(np.int64 if array.itemsize < 8 else np.float64)
    return torch.from_numpy(array if array.ndim == 0 else np.ascontiguousarray(array))


def _is_batch_value(value: Any) -> bool:
    return isinstance(value, (dict, torch.Tensor, np.ndarray)) or _is_pandas(value)


def _is_pandas(value: Any) -> bool:
    return type(value).__module__.startswith("pandas")


def is_single_batch(result: Any) -> bool:
    """A dict / tensor / array, or a tuple of one or two of them (not an iterable of batches)."""
    if _is_batch_value(result):
        return True
    return isinstance(result, tuple) and len(result) in (1, 2) and _is_batch_value(result[0])


def split_batch(batch: Any) -> tuple[Any, Any]:
    """``(features, labels)`` of one batch (TF's ``parse_iterator_result``)."""
    if isinstance(batch, (tuple, list)):
        if len(batch) == 1:
            return batch[0], None
        if len(batch) == 2:
            return batch[0], batch[1]
        raise ValueError(
            f"input_fn should return (features, labels) as a len 2 tuple; got a batch of length {len(batch)}."
        )
    return batch, None


def iterate_batches(result: Any, repeat_single: bool) -> Iterator[tuple[Any, Any]]:
    """The ``(features, labels)`` batches of an input_fn result.

    A single batch is yielded once, or forever when ``repeat_single`` (training).
    """
    if result is None:
        raise ValueError("input_fn returned None; it must return an iterable of (features, labels) batches.")
    if is_single_batch(result):
        batch = split_batch(result)
        if not repeat_single:
            yield batch
            return
        while True:
            yield batch
    if not isinstance(result, Iterable):
        raise TypeError(
            "input_fn must return an iterable of (features, labels) batches (or features alone "
            f"for predict); got {type(result).__name__}."
        )
    for batch in result:
        yield split_batch(batch)


def to_model_input(value: Any, device: torch.device, what: str = "features") -> Any:
    """Numeric values as tensors on ``device``; strings stay numpy arrays; dicts recursively.

    Accepted: torch tensors, numpy arrays, pandas Series/DataFrames (DataFrames become dicts of
    columns), lists, Python scalars, and TensorFlow eager tensors. Other objects (e.g. sparse
    or ragged values understood by feature columns) are passed through unchanged.
    """
    if isinstance(value, dict):
        return {k: to_model_input(v, device, f"{what}[{k!r}]") for k, v in value.items()}
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True) if value.device != device else value
    if _is_pandas(value):
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
