"""``te.io.decode_csv``: CSV records (strings) to one array per column, with TensorFlow's
``record_defaults`` rules and errors."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["decode_csv", "column_dtype"]

_DTYPES = {"int32", "int64", "float32", "float64", "str"}


def column_dtype(default: Any) -> tuple[np.dtype, Any]:
    """``(dtype, default value or None when required)`` of one ``record_defaults`` entry: a list of
    one value (optional), an empty list or a dtype (required). Python ints are int32 and floats
    float32, as ``tf.constant`` makes them."""
    if isinstance(default, np.ndarray):
        if default.size == 0:
            return _dtype_of(default.dtype), None
        if default.size != 1:
            raise ValueError(f"record_defaults entries must hold at most one value; got {default!r}.")
        default = default.reshape(-1)[0]
        return _dtype_of(default.dtype), default.item() if default.dtype.kind != "U" else str(default)
    if isinstance(default, (list, tuple)):
        if not default:
            raise ValueError("record_defaults: an empty default needs a dtype; use a dtype (e.g. te.int32) instead.")
        if len(default) != 1:
            raise ValueError(f"record_defaults entries must hold at most one value; got {default!r}.")
        return _scalar_dtype(default[0]), _plain(default[0])
    if isinstance(default, (str, bytes, int, float, np.generic)) and not isinstance(default, bool):
        return _scalar_dtype(default), _plain(default)
    return _dtype_of(default), None  # a dtype: required


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    return value.item() if isinstance(value, np.generic) else value


def _scalar_dtype(value: Any) -> np.dtype:
    if isinstance(value, (str, bytes)):
        return np.dtype(str)
    if isinstance(value, np.generic):
        return _dtype_of(value.dtype)
    if isinstance(value, bool):
        raise ValueError("record_defaults: bool columns are not a CSV type (int32, int64, float32, float64, string).")
    if isinstance(value, int):
        return np.dtype(np.int32) if -(2**31) <= value < 2**31 else np.dtype(np.int64)
    if isinstance(value, float):
        return np.dtype(np.float32)
    raise ValueError(f"record_defaults entry {value!r} is not a CSV type (int32, int64, float32, float64, string).")


def _dtype_of(dtype: Any) -> np.dtype:
    name = str(getattr(dtype, "name", dtype)).replace("torch.", "")
    name = "str" if name in ("string", "object") or np.dtype(name if name != "str" else str).kind in "US" else name
    if name not in _DTYPES:
        raise ValueError(f"record_defaults: {dtype} is not a CSV type (int32, int64, float32, float64, string).")
    return np.dtype(str) if name == "str" else np.dtype(name)


_TF_NAMES = {"int32": "int32", "int64": "int64", "float32": "float", "float64": "double"}


def decode_csv(
    records: Any,
    record_defaults: Sequence[Any],
    field_delim: str = ",",
    use_quote_delim: bool = True,
    na_value: str = "",
    select_cols: Sequence[int] | None = None,
    name: str | None = None,
) -> list[np.ndarray]:
    """One array per column (of the records' shape) from CSV ``records`` (a string or an array of
    them). A field that is empty (or ``na_value``) takes its column's default; a required column
    (a dtype or empty default) must be present. ``select_cols`` picks the columns to return."""
    lines = np.asarray(records)
    if lines.dtype.kind == "S":
        lines = lines.astype(str)
    if lines.dtype.kind not in "UO":
        raise TypeError(f"decode_csv: records must be strings; got dtype {lines.dtype}.")
    columns = [column_dtype(d) for d in record_defaults]
    selected = list(range(len(columns))) if select_cols is None else [int(c) for c in select_cols]
    if select_cols is not None:
        if len(selected) != len(columns):
            raise ValueError(
                f"decode_csv: select_cols ({len(selected)} columns) and record_defaults ({len(columns)}) must have the "
                "same length."
            )
        if selected != sorted(set(selected)) or (selected and selected[0] < 0):
            raise ValueError(f"decode_csv: select_cols must be increasing non-negative indices; got {selected}.")
    if len(field_delim) != 1:
        raise ValueError(f"decode_csv: field_delim must be one character; got {field_delim!r}.")
    if lines.ndim == 0:
        return _decode_one(str(lines), columns, selected if select_cols is not None else None, field_delim,
                           use_quote_delim, na_value)  # fmt: skip
    flat = [str(r) for r in lines.reshape(-1)]
    if use_quote_delim:
        reader = csv.reader(flat, delimiter=field_delim, quoting=csv.QUOTE_MINIMAL)
    else:
        reader = csv.reader(flat, delimiter=field_delim, quoting=csv.QUOTE_NONE)
    fields: list[list[str]] = [[] for _ in columns]
    for record, row in enumerate(reader):
        values = _fields(row or [""], len(columns), selected if select_cols is not None else None, record)
        for i, value in enumerate(values):
            fields[i].append(value)
    out = []
    for i, ((dtype, default), texts) in enumerate(zip(columns, fields, strict=True)):
        out.append(_convert(texts, dtype, default, na_value, i).reshape(lines.shape))
    return out


def _fields(row: list[str], count: int, selected: list[int] | None, record: int) -> list[str]:
    """The record's fields for the columns decoded (all ``count``, or the ``selected`` ones)."""
    if selected is None:
        if len(row) != count:
            raise ValueError(f"Expect {count} fields but have {len(row)} in record {record}")
        return row
    if len(row) <= selected[-1]:
        raise ValueError(f"Expect at least {selected[-1] + 1} fields but have {len(row)} in record {record}")
    return [row[c] for c in selected]


def _decode_one(
    line: str,
    columns: list[tuple[np.dtype, Any]],
    selected: list[int] | None,
    field_delim: str,
    use_quote_delim: bool,
    na_value: str,
) -> list[np.ndarray]:
    """One record (the per-element form in a ``map`` before ``batch``): the same rules, in plain Python."""
    if use_quote_delim and '"' in line:
        row = next(csv.reader([line], delimiter=field_delim), [""])
    elif use_quote_delim or '"' not in line:
        row = line.split(field_delim)
    else:
        row = next(csv.reader([line], delimiter=field_delim, quoting=csv.QUOTE_NONE), [""])
    values = _fields(row, len(columns), selected, 0)
    out = []
    for i, ((dtype, default), text) in enumerate(zip(columns, values, strict=True)):
        if text == "" or (na_value and text == na_value):
            if default is None:
                raise ValueError(f"Field {i} is required but missing in record 0!")
            text = str(default)
        if dtype.kind == "U":
            out.append(np.array(text))
            continue
        try:
            value = float(text) if dtype.kind == "f" else int(text)
        except ValueError:
            raise ValueError(f"Field {i} in record 0 is not a valid {_TF_NAMES[dtype.name]}: {text}") from None
        out.append(np.array(value, dtype=dtype))
    return out


def _convert(texts: list[str], dtype: np.dtype, default: Any, na_value: str, column: int) -> np.ndarray:
    array = np.array(texts, dtype=str) if texts else np.zeros(0, dtype=str)
    missing = (array == "") | (array == na_value) if na_value else array == ""
    if missing.any():
        if default is None:
            record = int(np.flatnonzero(missing)[0])
            raise ValueError(f"Field {column} is required but missing in record {record}!")
        array = np.where(missing, str(default), array)
    if dtype.kind == "U":
        return array
    try:
        return array.astype(np.float64).astype(dtype) if dtype.kind == "f" else _to_int(array, dtype)
    except ValueError:
        for record, text in enumerate(array):
            try:
                float(text) if dtype.kind == "f" else int(text)
            except ValueError:
                raise ValueError(
                    f"Field {column} in record {record} is not a valid {_TF_NAMES[dtype.name]}: {text}"
                ) from None
        raise


def _to_int(array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    values = array.astype(np.int64)
    info = np.iinfo(dtype)
    if values.size and (values.min() < info.min or values.max() > info.max):
        bad = int(np.flatnonzero((values < info.min) | (values > info.max))[0])
        raise ValueError(f"Field in record {bad} is out of range for {dtype.name}: {array[bad]}")
    return values.astype(dtype)
