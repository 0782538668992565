"""Argument checks of the input functions: each error names the argument and quotes the value received."""

from __future__ import annotations

from typing import Any, Literal, overload

import numpy as np

__all__ = ["check_count", "check_flag"]


@overload
def check_count(
    name: str, value: Any, minimum: int, *, allow_none: Literal[False] = False, expected: str | None = None
) -> int: ...


@overload
def check_count(
    name: str, value: Any, minimum: int, *, allow_none: bool, expected: str | None = None
) -> int | None: ...


def check_count(
    name: str, value: Any, minimum: int, *, allow_none: bool = False, expected: str | None = None
) -> int | None:
    """``value`` as an int ``>= minimum`` (None passes when ``allow_none``); anything else, a bool
    included, raises a ValueError ``"<name> must be <expected>; got <value>."`` (``expected``
    defaults to ``"an integer >= <minimum>"``, ``" or None"`` added when None is allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        if expected is None:
            expected = f"an integer >= {minimum}" + (" or None" if allow_none else "")
        raise ValueError(f"{name} must be {expected}; got {value!r}.")
    return int(value)


def check_flag(name: str, value: Any, message: str | None = None) -> bool:
    """``value``, which must be True or False: otherwise a ValueError (``message``, e.g.
    TensorFlow's, replaces ``"<name> must be True or False; got <value>."``)."""
    if not isinstance(value, bool):
        raise ValueError(message or f"{name} must be True or False; got {value!r}.")
    return value
