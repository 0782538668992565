"""Batches: what the project's input_fns return (``Batches``), and batch values (numpy, pandas,
lists, tensors) as the tensors a model_fn receives.

Iterating what an input_fn returns is the engine's: ``torch_estimator._engine.input_batches``."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import Any

import numpy as np
import torch

from torch_estimator._core.in_memory import BatchFeatures
from torch_estimator._core.prefetch import prefetched

__all__ = ["Batches", "to_model_input", "numeric_tensor", "is_pandas"]


class Batches:
    """The batches of one input_fn call: each iteration starts ``make()`` afresh.

    ``length`` is the number of batches when it is known up front (a finite in-memory input), so
    that progress can be shown; None when the input repeats forever or streams from files.
    ``prefetch``: iterating runs ``make()`` in a background thread up to that many batches ahead
    (0: in the caller's thread). The engine runs its own such thread for these batches, which also
    converts them to tensors, reading them through ``read()``. Only inputs that draw on no random
    generator the model uses may prefetch.
    """

    def __init__(
        self, make: Callable[[], Generator[Any, None, None]], length: int | None = None, prefetch: int = 0
    ) -> None:
        self._make = make
        self._length = length
        self.prefetch = prefetch

    def __iter__(self) -> Iterator[Any]:
        return prefetched(self._make, self.prefetch) if self.prefetch else self._make()

    def read(self) -> Generator[Any, None, None]:
        """The batches, read in the caller's thread (for a consumer that prefetches them itself)."""
        return self._make()

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError(
                "the number of batches of this input is not known up front (it repeats forever, num_epochs=None, "
                "or streams from files)"
            )
        return self._length

    @property
    def known_length(self) -> int | None:
        """The number of batches, or None when it is not known up front."""
        return self._length


def numeric_tensor(array: np.ndarray) -> torch.Tensor:
    """A numeric numpy array (any rank) as a CPU tensor of its values; unsigned integers wider than
    8 bits, which few torch ops take, become int64 (uint64: float64)."""
    if array.dtype.kind == "u" and array.itemsize > 1:
        array = array.astype(np.int64 if array.itemsize < 8 else np.float64)
    return torch.from_numpy(array if array.ndim == 0 else np.ascontiguousarray(array))


def is_pandas(value: Any) -> bool:
    """Whether ``value`` is a pandas object (Series, DataFrame, ...), without importing pandas."""
    return type(value).__module__.startswith("pandas")


def _numeric_array_tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """A numeric array as a tensor on ``device``, sharing its memory on the CPU when it may (a
    read-only or non-contiguous array is copied)."""
    if not array.flags.writeable or not array.flags.c_contiguous:
        array = np.ascontiguousarray(array).copy()
    tensor = torch.from_numpy(array)
    return tensor if device.type == "cpu" else tensor.to(device, non_blocking=True)


def to_model_input(value: Any, device: torch.device, what: str = "features") -> Any:
    """Numeric values as tensors on ``device``; strings stay numpy arrays; dicts recursively.

    Accepted: torch tensors, numpy arrays, pandas Series/DataFrames (DataFrames become dicts of
    columns), lists, Python scalars, and TensorFlow eager tensors. Other objects (e.g. sparse
    or ragged values understood by feature columns) are passed through unchanged.
    """
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":  # the common case first
        return _numeric_array_tensor(value, device)
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
            return _numeric_array_tensor(value, device)
        if value.dtype.kind == "c":
            raise TypeError(f"{what} has complex dtype {value.dtype}; only real numbers and strings are supported.")
        return value
    return value
