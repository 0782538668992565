"""The columns a source reads: ``Field`` (name, kind, default), the selection of columns, the
label's check, and string columns in the dictionary-encoded form the pipeline takes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["Field", "ARROW_TYPES", "select", "check_label", "dictionary_strings"]

#: The numeric kinds of a field and their arrow types.
ARROW_TYPES = {"int32": pa.int32(), "int64": pa.int64(), "float32": pa.float32(), "float64": pa.float64()}


@dataclasses.dataclass(frozen=True)
class Field:
    """One column read: its name, kind (a numpy dtype name or 'string') and default for missing
    values (None: the column is required, a missing value is an error)."""

    name: str
    kind: str
    default: Any = None


def select(select_columns: Sequence[Any] | None, names: list[str], what: str) -> list[int]:
    """Indices (increasing) of ``select_columns`` (names or indices) among ``names``, the columns of ``what``."""
    if select_columns is None:
        return list(range(len(names)))
    if isinstance(select_columns, (str, bytes)) or not select_columns:
        raise ValueError(f"select_columns must be a non-empty list of column names or indices; got {select_columns!r}.")
    index = {name: i for i, name in enumerate(names)}
    picked = []
    for column in select_columns:
        if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
            if not 0 <= column < len(names):
                raise ValueError(
                    f"Column index {column} specified in `select_columns` should be >= 0 and < {len(names)}, "
                    f"the number of columns of {what}: {names}."
                )
            picked.append(int(column))
        elif column in index:
            picked.append(index[column])
        else:
            raise ValueError(
                f"Column {column!r} specified in `select_columns` is not a column of {what}; the columns are {names}."
            )
    if len(set(picked)) != len(picked):
        duplicates = sorted({names[i] for i in picked if picked.count(i) > 1})
        raise ValueError(f"The `select_columns` argument contains duplicate columns: {duplicates}.")
    return sorted(picked)


def check_label(label_key: str | None, names: list[str]) -> None:
    """A ValueError unless ``label_key`` is None or one of ``names``."""
    if label_key is not None and label_key not in names:
        raise ValueError(f"`label_key` provided must be one of the columns: {names}. Received: {label_key!r}.")


def dictionary_strings(array: pa.Array, fill: str) -> pa.DictionaryArray:
    """A string (or binary, or dictionary) column dictionary-encoded, ``fill`` for nulls."""
    if array.null_count:
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        binary = pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type)
        array = array.fill_null(pa.scalar(fill.encode() if binary else fill, array.type))
    return array if pa.types.is_dictionary(array.type) else array.dictionary_encode()
