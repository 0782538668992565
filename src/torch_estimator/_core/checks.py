"""Argument checks shared by RunConfig, the heads, the feature columns, the canned estimators and
the input functions: each error names the argument, the value received and what was expected."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["as_array", "check_int", "check_number", "check_layer_sizes", "describe", "text_key"]


def describe(value: Any) -> str:
    """``value`` as error messages quote it: its repr (shortened) and its type."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def as_array(value: Any, name: str, expected: str) -> np.ndarray:
    """``np.asarray(value)``; a ragged value (rows of different lengths) raises a ValueError
    naming ``name`` and the ``expected`` shape instead of numpy's."""
    try:
        return np.asarray(value)
    except ValueError:
        raise ValueError(
            f"{name} must be {expected}; got a ragged value (rows of different lengths, or numbers mixed with "
            f"lists): {describe(value)}."
        ) from None


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(name: str, value: Any, minimum: int, maximum: int | None = None, range_message: str | None = None) -> int:
    """``value`` as an int: a TypeError unless it is an integer (not a bool), a ValueError outside
    ``[minimum, maximum]`` (``range_message``, e.g. TensorFlow's, replaces the default message)."""
    if not _is_int(value):
        raise TypeError(f"{name} must be an integer; got {describe(value)}.")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        expected = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(range_message or f"{name} must be an integer {expected}; got {value!r}.")
    return value


def check_number(name: str, value: Any, minimum: float, strict: bool, range_message: str | None = None) -> float:
    """``value``, a real number ``>= minimum`` (``> minimum`` when ``strict``; NaN never is);
    ``range_message`` replaces the default message."""
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number; got {describe(value)}.")
    if not (value > minimum if strict else value >= minimum):
        raise ValueError(range_message or f"{name} must be {'>' if strict else '>='} {minimum}; got {value!r}.")
    return value.item() if isinstance(value, np.generic) else value


def check_layer_sizes(name: str, value: Any) -> list[int]:
    """A non-empty sequence of positive layer sizes (``hidden_units``), as a list."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a list of positive integers (layer sizes); got {describe(value)}.")
    sizes = list(value)
    if not sizes:
        raise ValueError(f"{name} must be a non-empty list of layer sizes; got {describe(value)}.")
    return [check_int(f"{name}[{i}]", units, 1) for i, units in enumerate(sizes)]


def text_key(value: Any) -> Any:
    """A string or bytes value as the ``str`` a vocabulary holds; bytes that are not UTF-8 keep
    their bad bytes as surrogates, so they match no word (TensorFlow compares bytes)."""
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value
