"""Variable initializers with TensorFlow's names and defaults.

An initializer is any callable ``(shape, dtype) -> torch.Tensor``; ``get`` also accepts the
string names below and plain numbers / arrays (a constant).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

__all__ = [
    "Initializer",
    "zeros",
    "ones",
    "constant",
    "random_uniform",
    "random_normal",
    "truncated_normal",
    "glorot_uniform",
    "glorot_normal",
    "orthogonal",
    "get",
]

Initializer = Callable[[Sequence[int], torch.dtype], torch.Tensor]


def _fans(shape: Sequence[int]) -> tuple[float, float]:
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


def zeros() -> Initializer:
    """All zeros."""
    return lambda shape, dtype: torch.zeros(tuple(shape), dtype=dtype)


def ones() -> Initializer:
    """All ones."""
    return lambda shape, dtype: torch.ones(tuple(shape), dtype=dtype)


def constant(value: Any = 0.0) -> Initializer:
    """A constant (scalar broadcast, or an array of exactly the variable's shape)."""

    def init(shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
        array = torch.as_tensor(np.asarray(value), dtype=dtype)
        if array.dim() == 0:
            return torch.full(tuple(shape), array.item(), dtype=dtype)
        if tuple(array.shape) != tuple(shape):
            raise ValueError(
                f"constant initializer has shape {tuple(array.shape)}; the variable has shape {tuple(shape)}."
            )
        return array.clone()

    return init


def random_uniform(minval: float = -0.05, maxval: float = 0.05) -> Initializer:
    """Uniform in ``[minval, maxval)``."""
    return lambda shape, dtype: torch.empty(tuple(shape), dtype=dtype).uniform_(minval, maxval)


def random_normal(mean: float = 0.0, stddev: float = 0.05) -> Initializer:
    """Normal with the given mean and standard deviation."""
    return lambda shape, dtype: torch.empty(tuple(shape), dtype=dtype).normal_(mean, stddev)


def truncated_normal(mean: float = 0.0, stddev: float = 0.05) -> Initializer:
    """Normal truncated at two standard deviations (TensorFlow's truncation)."""

    def init(shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
        tensor = torch.empty(tuple(shape), dtype=dtype)
        return torch.nn.init.trunc_normal_(tensor, mean, stddev, mean - 2 * stddev, mean + 2 * stddev)

    return init


def glorot_uniform() -> Initializer:
    """Uniform in ``±sqrt(6 / (fan_in + fan_out))`` (TensorFlow's default for weights)."""

    def init(shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
        fan_in, fan_out = _fans(shape)
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return torch.empty(tuple(shape), dtype=dtype).uniform_(-limit, limit)

    return init


def glorot_normal() -> Initializer:
    """Truncated normal with stddev ``sqrt(2 / (fan_in + fan_out))`` (corrected for truncation)."""

    def init(shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
        fan_in, fan_out = _fans(shape)
        stddev = math.sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978
        return truncated_normal(0.0, stddev)(shape, dtype)

    return init


def orthogonal(gain: float = 1.0) -> Initializer:
    """A (semi-)orthogonal matrix (of the flattened ``[prod(shape[:-1]), shape[-1]]`` view) times
    ``gain``: the QR factor of a normal matrix, signs fixed by R's diagonal (keras' Orthogonal)."""

    def init(shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
        if len(shape) < 2:
            raise ValueError(f"The tensor to initialize must be at least two-dimensional; got shape {list(shape)}.")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        normal = torch.randn(max(rows, cols), min(rows, cols), dtype=torch.float64)
        q, r = torch.linalg.qr(normal)
        q = q * torch.sign(torch.diagonal(r))
        if rows < cols:
            q = q.T
        return (gain * q).reshape(tuple(shape)).to(dtype)

    return init


_BY_NAME: dict[str, Callable[[], Initializer]] = {
    "zeros": zeros,
    "ones": ones,
    "random_uniform": random_uniform,
    "random_normal": random_normal,
    "truncated_normal": truncated_normal,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "orthogonal": orthogonal,
}


def get(identifier: Any) -> Initializer:
    """Resolves ``identifier`` (None, a name, a number/array, or a callable) to an initializer.

    None gives ``glorot_uniform``, TensorFlow's default for ``get_variable``.
    """
    if identifier is None:
        return glorot_uniform()
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"Unknown initializer {identifier!r}; expected one of {sorted(_BY_NAME)} or a callable.")
        return _BY_NAME[identifier]()
    if isinstance(identifier, (int, float, np.ndarray, list, tuple, torch.Tensor)):
        return constant(identifier.detach().numpy() if isinstance(identifier, torch.Tensor) else identifier)
    if callable(identifier):
        return identifier
    raise TypeError(
        f"initializer must be None, a name, a constant or a callable (shape, dtype) -> tensor; got {identifier!r}."
    )
