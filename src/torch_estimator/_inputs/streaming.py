"""Streaming input functions over CSV and Parquet files larger than memory.

``make_csv_input_fn`` (after ``tf.data.experimental.make_csv_dataset``) and
``make_parquet_input_fn`` return an ``input_fn(input_context=None)`` whose batches are read with
pyarrow in bounded chunks: at most a few chunks, the shuffle buffer and ``prefetch_buffer_size``
batches are in memory at once, whatever the size of the files.

Pipeline, per input pipeline (worker):

* files: the sorted expansion of ``file_pattern``, sharded as below, read in a fresh random
  order every epoch when ``shuffle`` (in sorted order otherwise);
* chunks: CSV blocks (``chunk_rows`` rows, approximately) or Parquet record batches, converted
  to numpy columns: numbers float32 / int64, strings int64 codes into a vocabulary of the
  column's distinct strings (kept bounded: when it outgrows the rows in flight, the strings no
  row uses any more are dropped);
* shuffle: a buffer of ``shuffle_buffer_size`` rows; each row leaves from a uniformly random
  position and the next incoming row takes its place (tf.data's ``shuffle``), vectorised over
  whole chunks. The buffer is drained at the end of every epoch, so each epoch is complete
  before the next starts (``shuffle_and_repeat``); batches run across epoch boundaries and
  only the last batch of a finite stream may be smaller;
* batches: ``(features, labels)``, or ``features`` alone when ``label_key`` is None. String
  features are ``EncodedStrings`` (object arrays carrying codes + dictionary): while a column
  has at most 4096 distinct strings its batches share one dictionary, so feature columns look up
  or hash each string once for many batches; beyond that each batch has a dictionary of its own;
* prefetch: a background thread prepares up to ``prefetch_buffer_size`` batches ahead. It stops
  when the consumer stops iterating (the generator closed or collected) and at interpreter
  exit; an error in it is raised in the consumer.

Sharding (``input_context.num_input_pipelines`` = n, ``input_pipeline_id`` = i): every row is
read by exactly one pipeline per epoch.

* at least n files: pipeline i reads files ``i, i + n, i + 2n, ...`` of the sorted list;
* fewer files, Parquet with at least n row groups in all: pipeline i reads row groups
  ``i, i + n, ...`` of the sorted list of (file, row group);
* otherwise (row level): every pipeline reads every CSV block / Parquet record batch and keeps
  its contiguous ``i``-th of ``n`` near-equal slices. Block boundaries are the same on every
  pipeline (same files, same block size), so the slices partition the rows.

An input that yields no rows in an epoch ends (rather than repeating nothing forever), as
tf.data's ``repeat`` does.

Memory: pyarrow's CSV reader reads up to 32 blocks ahead, so blocks are kept within 1 MiB (about
40 MiB of reader memory); Parquet is read a record batch at a time, holding at most one row
group's column chunks.
"""

from __future__ import annotations

import atexit
import csv
import dataclasses
import functools
import glob
import io
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from torch_estimator._core.checks import describe
from torch_estimator._core.values import encode_strings

__all__ = ["make_csv_input_fn", "make_parquet_input_fn"]

Chunk = dict[str, np.ndarray]  # rows as columns; string columns as int64 codes into a vocabulary
RawChunk = dict[str, Any]  # rows as a source reads them: numpy columns, strings as pa.DictionaryArray
Unit = tuple[str, "list[int] | None"]  # (file, its row groups to read or None for all)

_ARROW_TYPES = {"int32": pa.int32(), "int64": pa.int64(), "float32": pa.float32(), "float64": pa.float64()}
_INFERRED_ORDER = ("int64", "float32", "float64", "string")  # inference widens along this order
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_MIN_BLOCK_BYTES = 64 << 10
_MAX_BLOCK_BYTES = 1 << 20  # pyarrow's CSV reader reads up to 32 blocks ahead: ~40 MiB at most
_PEEK_BYTES = 1 << 20
_SHARED_DICTIONARY_MAX = 4096  # larger vocabularies give each batch a dictionary of its own


@dataclasses.dataclass(frozen=True)
class _Field:
    """One column read: its name, kind (a numpy dtype name or 'string') and default for missing
    values (None: the column is required, a missing value is an error)."""

    name: str
    kind: str
    default: Any = None


# -- arguments ---------------------------------------------------------------------------------


def _check_int(name: str, value: Any, minimum: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        expected = f"an integer >= {minimum}" + (" or None" if allow_none else "")
        raise ValueError(f"{name} must be {expected}; got {value!r}.")


def _check_pipeline_args(
    batch_size: Any,
    num_epochs: Any,
    shuffle: Any,
    shuffle_buffer_size: Any,
    shuffle_seed: Any,
    prefetch_buffer_size: Any,
    chunk_rows: Any,
) -> None:
    _check_int("batch_size", batch_size, 1)
    _check_int("num_epochs", num_epochs, 1, allow_none=True)
    if not isinstance(shuffle, bool):
        raise ValueError(f"shuffle must be True or False; got {shuffle!r}.")
    _check_int("shuffle_buffer_size", shuffle_buffer_size, 1)
    _check_int("shuffle_seed", shuffle_seed, 0, allow_none=True)
    _check_int("prefetch_buffer_size", prefetch_buffer_size, 0, allow_none=True)
    _check_int("chunk_rows", chunk_rows, 1)


def _expand_files(file_pattern: Any) -> list[str]:
    """The sorted, de-duplicated files matching ``file_pattern`` (a pattern or a list of them)."""
    patterns = [file_pattern] if isinstance(file_pattern, (str, os.PathLike)) else file_pattern
    if not isinstance(patterns, (list, tuple)) or not all(isinstance(p, (str, os.PathLike)) for p in patterns):
        raise TypeError(
            f"file_pattern must be a glob pattern (str or os.PathLike) or a list of them; got {describe(file_pattern)}."
        )
    if not patterns:
        raise ValueError("Argument `file_pattern` should not be empty.")
    files = sorted({path for pattern in patterns for path in glob.glob(os.fspath(pattern)) if os.path.isfile(path)})
    if not files:
        raise ValueError(f"No files match `file_pattern` {file_pattern}.")
    return files


def _select(select_columns: Sequence[Any] | None, names: list[str], what: str) -> list[int]:
    """Indices (increasing) of ``select_columns`` (names or indices) among ``names``."""
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


def _check_label(label_key: str | None, names: list[str]) -> None:
    if label_key is not None and label_key not in names:
        raise ValueError(f"`label_key` provided must be one of the columns: {names}. Received: {label_key!r}.")


_DTYPE_KINDS = {
    np.dtype(np.int32): "int32",
    np.dtype(np.int64): "int64",
    np.dtype(np.float32): "float32",
    np.dtype(np.float64): "float64",
}
_PYTHON_TYPE_KINDS: dict[Any, str] = {int: "int64", float: "float32", str: "string", bytes: "string"}


def _kind_of_dtype(dtype: Any) -> str | None:
    if dtype in _PYTHON_TYPE_KINDS:
        return _PYTHON_TYPE_KINDS[dtype]
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        return None
    return "string" if dtype.kind in "USO" else _DTYPE_KINDS.get(dtype)


def _field_from_default(name: str, item: Any, position: int) -> _Field:
    """A ``column_defaults`` item as TF reads it: a dtype (required column), a default value, or a
    one-element (default) / empty (required) list or array."""
    if isinstance(item, np.ndarray) and item.ndim == 0:
        item = item[()]
    if isinstance(item, (type, np.dtype)):
        kind = _kind_of_dtype(item)
        if kind is not None:
            return _Field(name, kind)
    elif isinstance(item, (list, tuple, np.ndarray)) and len(item) <= 1:
        if len(item) == 0:  # TF: an empty tensor marks a required column ([] is float32)
            return _Field(name, _kind_of_dtype(item.dtype) if isinstance(item, np.ndarray) else "float32")
        return _field_from_default(name, item[0], position)
    elif isinstance(item, (int, float, str, bytes, np.integer, np.floating, np.str_, np.bytes_)) and not isinstance(
        item, (bool, np.bool_)
    ):
        kind = _PYTHON_TYPE_KINDS.get(type(item)) or _kind_of_dtype(np.asarray(item).dtype)
        if kind is not None:
            value = item.decode() if isinstance(item, bytes) else item
            return _Field(name, kind, str(value) if kind == "string" else np.dtype(kind).type(value))
    raise TypeError(
        f"column_defaults[{position}] (column {name!r}) must be a default value (int, float or str), a one-element "
        "list holding one, or a dtype (float32, float64, int32, int64 or str) marking the column required; "
        f"got {item!r}."
    )


# -- conversion ---------------------------------------------------------------------------------


def _failing(array: pa.Array, check: Callable[[pa.Array], Any], first_only: bool) -> list[int]:
    """Positions (increasing) of the values of ``array`` on which ``check`` raises, found by
    halving the failing slices (checks of whole slices; no per-value Python)."""
    bad: list[int] = []
    pending = [(0, len(array))]
    while pending:
        lo, hi = pending.pop()
        try:
            check(array.slice(lo, hi - lo))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            if hi - lo == 1:
                bad.append(lo)
                if first_only:
                    break
            else:
                mid = (lo + hi) // 2
                pending += [(mid, hi), (lo, mid)]
    return bad


def _validate_utf8(array: pa.Array) -> None:
    array.validate(full=True)  # raises ArrowInvalid on bad UTF-8 in a string array


def _valid_utf8(block: pa.RecordBatch) -> bool:
    """Whether every string of ``block`` is UTF-8 (one vectorised pass)."""
    try:
        block.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _strings(array: pa.Array, fill: str) -> pa.DictionaryArray:
    """A string (or binary, or dictionary) column dictionary-encoded, ``fill`` for nulls."""
    if array.null_count:
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        binary = pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type)
        array = array.fill_null(pa.scalar(fill.encode() if binary else fill, array.type))
    return array if pa.types.is_dictionary(array.type) else array.dictionary_encode()


def _num_rows(chunk: dict[str, Any]) -> int:
    return len(next(iter(chunk.values())))


def _concat(pieces: list[Chunk]) -> Chunk:
    if len(pieces) == 1:
        return pieces[0]
    return {name: np.concatenate([piece[name] for piece in pieces]) for name in pieces[0]}


def _take(chunk: Chunk, index: np.ndarray) -> Chunk:
    return {name: values[index] for name, values in chunk.items()}


def _part_slice(num_rows: int, part: tuple[int, int] | None) -> tuple[int, int]:
    """Rows ``[lo, hi)`` of a block that pipeline ``part[0]`` of ``part[1]`` keeps."""
    if part is None:
        return 0, num_rows
    shard, shards = part
    return shard * num_rows // shards, (shard + 1) * num_rows // shards


# -- CSV ----------------------------------------------------------------------------------------


class _CsvSource:
    """CSV files read in blocks by pyarrow's streaming reader, converted to typed numpy columns."""

    def __init__(
        self,
        files: list[str],
        column_names: Sequence[str] | None,
        column_defaults: Sequence[Any] | None,
        select_columns: Sequence[Any] | None,
        label_key: str | None,
        header: bool,
        field_delim: str,
        use_quote_delim: bool,
        na_value: str,
        num_rows_for_inference: int | None,
        ignore_errors: bool,
        compression_type: str | None,
        chunk_rows: int,
    ) -> None:
        if not isinstance(field_delim, str) or len(field_delim) != 1:
            raise ValueError(f"field_delim must be a single character; got {field_delim!r}.")
        if not isinstance(na_value, str):
            raise ValueError(f"na_value must be a string; got {na_value!r}.")
        if not isinstance(header, bool):
            raise ValueError(f"header must be True or False; got {header!r}.")
        _check_int("num_rows_for_inference", num_rows_for_inference, 1, allow_none=True)
        compressions = {None: "detect", "": None, "GZIP": "gzip"}
        if compression_type not in compressions:
            raise ValueError(
                f"Received unknown `compression_type` {compression_type!r}. Expected: None (from the file extension), 'GZIP' or '' (none)."
            )
        self.files = files
        self.header = header
        self.delimiter = field_delim
        self.quote = use_quote_delim
        self.null_values = sorted({"", na_value})
        self.ignore_errors = ignore_errors
        self.compression = compressions[compression_type]
        self.block_size = self._block_size(chunk_rows)
        if column_names is None:
            if not header:
                raise ValueError("Expected `column_names` or `header` arguments. Neither is provided.")
            column_names = self._header(files[0])
        self.column_names = [str(name) for name in column_names]
        if len(set(self.column_names)) != len(self.column_names):
            duplicates = sorted({n for n in self.column_names if self.column_names.count(n) > 1})
            raise ValueError(
                f"Either `column_names` argument or CSV header row contains duplicate column names: {duplicates}."
            )
        selected = [
            self.column_names[i]
            for i in _select(select_columns, self.column_names, files[0] if header else "column_names")
        ]
        _check_label(label_key, selected)
        if column_defaults is None:
            self.fields = self._infer(selected, num_rows_for_inference)
        else:
            if isinstance(column_defaults, (str, bytes)) or len(column_defaults) != len(selected):
                which = "selected column" if select_columns is not None else "column"
                raise ValueError(
                    f"column_defaults must have one item per {which} ({len(selected)}: {selected}); "
                    f"got {len(column_defaults) if not isinstance(column_defaults, (str, bytes)) else column_defaults!r}."
                )
            self.fields = [
                _field_from_default(name, item, i) for i, (name, item) in enumerate(zip(selected, column_defaults))
            ]

    # -- files ----------------------------------------------------------------------------------
    def _text(self, path: str) -> io.TextIOWrapper:
        # Bad UTF-8 is found (and reported by line) in the blocks; here it must not stop the reading.
        return io.TextIOWrapper(
            pa.input_stream(path, compression=self.compression), encoding="utf-8", errors="surrogateescape", newline=""
        )

    def _records(self, path: str) -> Iterator[tuple[int, list[str]]]:
        """``(first line, fields)`` of each record of ``path`` (header included, blank lines skipped)."""
        with self._text(path) as text:
            reader = csv.reader(
                text, delimiter=self.delimiter, quoting=csv.QUOTE_MINIMAL if self.quote else csv.QUOTE_NONE
            )
            line = 0
            for fields in reader:
                start, line = line + 1, reader.line_num
                if fields:
                    yield start, fields

    def _header(self, path: str) -> list[str]:
        first = next(self._records(path), None)
        if first is None:
            raise ValueError(f"Failed when reading the header line of {path}. Is it an empty file?")
        try:
            "".join(first[1]).encode("utf-8")
        except UnicodeEncodeError:
            raw = [name.encode("utf-8", "surrogateescape") for name in first[1]]
            raise ValueError(f"The header line of {path} (line {first[0]}) is not valid UTF-8: {raw!r}.") from None
        return first[1]

    def _block_size(self, chunk_rows: int) -> int:
        """Bytes per read block for about ``chunk_rows`` rows (from the first file's line lengths),
        within [64 KiB, 1 MiB]; the same on every pipeline, so blocks line up for row-level sharding."""
        with pa.input_stream(self.files[0], compression=self.compression) as stream:
            sample = stream.read(_PEEK_BYTES)
        lines = sample.count(b"\n") or 1
        longest = max((len(line) for line in sample.split(b"\n")), default=0)
        wanted = min(max(chunk_rows * len(sample) / lines, _MIN_BLOCK_BYTES), _MAX_BLOCK_BYTES)
        return int(max(wanted, 4 * longest))

    def _blocks(self, path: str, names: list[str]) -> Iterator[tuple[int, pa.RecordBatch]]:
        """``(index of its first data record, block)`` for the blocks of ``path``; columns ``names``
        as strings (missing values null)."""
        if self.header and self._header(path) != self.column_names:
            raise ValueError(
                f"All input CSV files should have the same column names in the header row. File {path} has different "
                f"column names: {self._header(path)}; expected {self.column_names}."
            )
        malformed: list[Any] = []

        def on_invalid(row: Any) -> str:
            if self.ignore_errors:
                return "skip"
            malformed.append(row)
            return "error"

        read_options = pa_csv.ReadOptions(
            column_names=self.column_names, skip_rows=int(self.header), block_size=self.block_size
        )
        parse_options = pa_csv.ParseOptions(
            delimiter=self.delimiter, quote_char='"' if self.quote else False, invalid_row_handler=on_invalid
        )
        convert_options = pa_csv.ConvertOptions(
            include_columns=names,
            column_types={name: pa.string() for name in names},
            null_values=self.null_values,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            check_utf8=False,  # checked in _convert
        )
        stream = pa.input_stream(path, compression=self.compression)
        try:
            try:
                reader = pa_csv.open_csv(
                    stream, read_options=read_options, parse_options=parse_options, convert_options=convert_options
                )
            except pa.ArrowInvalid as error:
                if "Empty CSV file" in str(error):
                    return
                raise self._read_error(path, error, malformed, 0) from None
            records = 0
            with reader:
                while True:
                    try:
                        block = reader.read_next_batch()
                    except StopIteration:
                        return
                    except pa.ArrowInvalid as error:
                        raise self._read_error(path, error, malformed, records) from None
                    yield records, block
                    records += block.num_rows
        finally:
            stream.close()

    def _read_error(self, path: str, error: Exception, malformed: list[Any], records: int) -> ValueError:
        if not malformed:
            return ValueError(f"Could not read CSV file {path}: {error}")
        row = malformed[0]
        located = next(
            (
                line
                for i, (line, fields) in enumerate(self._data_records(path))
                if i >= records and len(fields) != row.expected_columns
            ),
            None,
        )
        where = f"line {located}" if located is not None else f"a record after data record {records}"
        return ValueError(
            f"Malformed CSV record in {path}, {where}: expected {row.expected_columns} fields but found "
            f"{row.actual_columns}: {row.text!r}. Pass ignore_errors=True to skip malformed records."
        )

    def _data_records(self, path: str) -> Iterator[tuple[int, list[str]]]:
        records = self._records(path)
        if self.header:
            next(records, None)
        return records

    def _line_of(self, path: str, record: int) -> str:
        line = next((line for i, (line, _) in enumerate(self._data_records(path)) if i == record), None)
        return f"line {line}" if line is not None else f"data record {record + 1}"

    # -- types ----------------------------------------------------------------------------------
    def _infer(self, names: list[str], num_rows: int | None) -> list[_Field]:
        """Fields typed from the first ``num_rows`` records (all when None), as TF infers them:
        int64, else float32 (float64 beyond float32's range), else string; every column optional
        with default 0 or ''."""
        kinds: dict[str, str | None] = dict.fromkeys(names)
        remaining = num_rows
        for path in self.files:
            for _, block in self._blocks(path, names):
                if remaining is not None:
                    block = block.slice(0, remaining)
                    remaining -= block.num_rows
                for name in names:
                    kinds[name] = _widen(kinds[name], _value_kind(block.column(name)))
                if remaining == 0:
                    break
            if remaining == 0:
                break
        return [
            _Field(name, kind or "string", "" if (kind or "string") == "string" else np.dtype(kind).type(0))
            for name, kind in kinds.items()
        ]

    # -- reading --------------------------------------------------------------------------------
    def plan(self, shards: int, shard: int) -> tuple[list[Unit], tuple[int, int] | None]:
        if len(self.files) >= shards:
            return [(path, None) for path in self.files[shard::shards]], None
        return [(path, None) for path in self.files], (shard, shards) if shards > 1 else None

    def read(self, unit: Unit, part: tuple[int, int] | None) -> Iterator[RawChunk]:
        path = unit[0]
        for first_record, block in self._blocks(path, [field.name for field in self.fields]):
            lo, hi = _part_slice(block.num_rows, part)
            if hi > lo:
                yield self._convert(block.slice(lo, hi - lo), path, first_record + lo)

    def _convert(self, block: pa.RecordBatch, path: str, first_record: int) -> RawChunk:
        """Typed numpy columns of ``block``; malformed values raise (naming the line) or drop their rows."""
        columns: RawChunk = {}
        problems: list[tuple[int, str, str]] = []  # (row, column, what is wrong)
        dropped = np.zeros(block.num_rows, dtype=bool)

        def report(rows: Sequence[int] | np.ndarray, name: str, describe: Callable[[int], str]) -> None:
            if self.ignore_errors:
                dropped[np.asarray(rows, dtype=np.int64)] = True
            elif len(rows):
                problems.append((int(rows[0]), name, describe(int(rows[0]))))

        if not _valid_utf8(block):
            for field in self.fields:
                array = block.column(field.name)
                rows = _failing(array, _validate_utf8, first_only=not self.ignore_errors)
                report(rows, field.name, lambda row: f"invalid UTF-8 bytes {array.cast(pa.binary())[row].as_py()!r}")  # noqa: B023 (called now)
            if problems:
                raise self._malformed(path, first_record, problems)
        for field in self.fields:
            array = block.column(field.name)
            if dropped.any():  # rows skipped so far (ignore_errors) are read no further
                array = pc.if_else(pa.array(dropped), pa.scalar(None, pa.string()), array)
            if field.default is None and array.null_count:
                missing = np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False))
                report(missing, field.name, lambda row: "a value is required but missing")
            if field.kind == "string":
                columns[field.name] = _strings(array, field.default or "")
                continue
            target = _ARROW_TYPES[field.kind]
            try:
                parsed = pc.cast(array, target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                bad = _failing(array, functools.partial(pc.cast, target_type=target), first_only=not self.ignore_errors)
                report(bad, field.name, lambda row, a=array, k=field.kind: f"could not parse {a[row].as_py()!r} as {k}")
                if not self.ignore_errors:
                    continue
                parsed = pc.cast(pc.if_else(pa.array(dropped), pa.scalar(None, pa.string()), array), target)
            fill = field.default if field.default is not None else 0
            columns[field.name] = parsed.fill_null(fill).to_numpy(zero_copy_only=False, writable=True)
        if problems:
            raise self._malformed(path, first_record, problems)
        if dropped.any():
            keep = ~dropped
            columns = {
                name: values.filter(pa.array(keep)) if isinstance(values, pa.Array) else values[keep]
                for name, values in columns.items()
            }
        return columns

    def _malformed(self, path: str, first_record: int, problems: list[tuple[int, str, str]]) -> ValueError:
        """The error for the first of ``problems`` (row in the block, column, what is wrong)."""
        row, name, what = min(problems)
        return ValueError(
            f"Malformed CSV record in {path}, {self._line_of(path, first_record + row)}: column {name!r}: {what}. "
            "Pass ignore_errors=True to skip malformed records."
        )


def _value_kind(array: pa.Array) -> str | None:
    """The narrowest inferred kind holding every non-missing value of ``array`` (None: all missing)."""
    values = array.drop_null()
    if len(values) == 0:
        return None
    try:
        pc.cast(values, pa.int64())
        return "int64"
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    try:
        floats = pc.cast(values, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return "string"
    finite = pc.filter(floats, pc.is_finite(floats))
    largest = pc.max(pc.abs(finite)).as_py() if len(finite) else None
    return "float64" if largest is not None and largest > _FLOAT32_MAX else "float32"


def _widen(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return max(a, b, key=_INFERRED_ORDER.index)


# -- Parquet ------------------------------------------------------------------------------------


class _ParquetSource:
    """Parquet files read a record batch (``chunk_rows`` rows) at a time."""

    def __init__(
        self, files: list[str], select_columns: Sequence[Any] | None, label_key: str | None, chunk_rows: int
    ) -> None:
        self.files = files
        self.chunk_rows = chunk_rows
        schema = pq.read_schema(files[0])
        names = list(schema.names)
        selected = [names[i] for i in _select(select_columns, names, files[0])]
        _check_label(label_key, selected)
        self.fields = [_Field(name, _parquet_kind(name, schema.field(name).type, files[0])) for name in selected]

    def plan(self, shards: int, shard: int) -> tuple[list[Unit], tuple[int, int] | None]:
        if len(self.files) >= shards:
            return [(path, None) for path in self.files[shard::shards]], None
        groups = [(path, [group]) for path in self.files for group in range(pq.ParquetFile(path).num_row_groups)]
        if len(groups) >= shards:
            return groups[shard::shards], None
        return [(path, None) for path in self.files], (shard, shards) if shards > 1 else None

    def read(self, unit: Unit, part: tuple[int, int] | None) -> Iterator[RawChunk]:
        path, groups = unit
        names = [field.name for field in self.fields]
        with pq.ParquetFile(path) as file:
            missing = [name for name in names if name not in file.schema_arrow.names]
            if missing:
                raise ValueError(
                    f"Parquet file {path} has no column(s) {missing}; its columns are {file.schema_arrow.names}."
                )
            for batch in file.iter_batches(batch_size=self.chunk_rows, row_groups=groups, columns=names):
                lo, hi = _part_slice(batch.num_rows, part)
                if hi > lo:
                    yield self._convert(batch.slice(lo, hi - lo), path)

    def _convert(self, batch: pa.RecordBatch, path: str) -> RawChunk:
        columns: RawChunk = {}
        for field in self.fields:
            array = batch.column(field.name)
            if field.kind == "string":
                columns[field.name] = _strings(array, "")
                continue
            if array.null_count and field.kind != "float32":
                raise ValueError(
                    f"Parquet file {path}: column {field.name!r} ({array.type}) has {array.null_count} missing values "
                    "(nulls); integer and boolean columns must be complete (floating-point nulls read as NaN)."
                )
            try:
                values = pc.cast(array, pa.bool_() if field.kind == "bool" else _ARROW_TYPES[field.kind])
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
                raise ValueError(
                    f"Parquet file {path}: column {field.name!r} has type {array.type}, which does not convert to "
                    f"{field.kind} (its type in {self.files[0]}): {error}"
                ) from None
            columns[field.name] = values.to_numpy(zero_copy_only=False, writable=True)
        return columns


def _parquet_kind(name: str, arrow_type: pa.DataType, path: str) -> str:
    """int64 (integers), float32 (floating point, nulls as NaN), bool, or string (text, binary,
    or a dictionary of either)."""
    value_type = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    if any(
        test(value_type)
        for test in (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary, pa.types.is_large_binary)
    ):
        return "string"
    if pa.types.is_integer(arrow_type):
        return "int64"
    if pa.types.is_floating(arrow_type):
        return "float32"
    if pa.types.is_boolean(arrow_type):
        return "bool"
    raise TypeError(
        f"Parquet file {path}: column {name!r} has type {arrow_type}; supported are integer, floating-point, boolean, "
        "string and binary columns (leave it out with select_columns)."
    )


# -- pipeline -----------------------------------------------------------------------------------


class _Vocabulary:
    """The distinct strings of one column; rows carry int64 codes into ``values`` through the
    shuffle buffer. ``values`` is replaced, never modified, so batches may share it as their
    dictionary (feature columns then transform each distinct string once, not once per batch)."""

    def __init__(self) -> None:
        self.values = np.empty(0, dtype=object)
        self._arrow: pa.Array | None = None  # ``values`` as an arrow array, for hashed look-ups

    def codes(self, array: pa.DictionaryArray) -> np.ndarray:
        distinct = array.dictionary
        if self._arrow is None:
            self._arrow = pa.array([], type=distinct.type)
        distinct = distinct.cast(self._arrow.type)
        positions = pc.index_in(distinct, value_set=self._arrow)
        if positions.null_count:
            new = distinct.filter(positions.is_null())
            positions = positions.fill_null(-1).to_numpy(zero_copy_only=False, writable=True)
            positions[positions < 0] = np.arange(len(self.values), len(self.values) + len(new))
            self._arrow = pa.concat_arrays([self._arrow, new])
            self.values = np.concatenate([self.values, new.to_numpy(zero_copy_only=False).astype(object, copy=False)])
        else:
            positions = positions.to_numpy(zero_copy_only=False)
        return positions.astype(np.int64)[array.indices.to_numpy(zero_copy_only=False)]

    def compact(self, live: list[np.ndarray]) -> list[np.ndarray]:
        """Keeps only the strings ``live`` codes use; returns those codes renumbered."""
        used = np.unique(np.concatenate(live))
        self.values = self.values[used]
        self._arrow = self._arrow.take(pa.array(used)) if self._arrow is not None else None
        return [np.searchsorted(used, codes) for codes in live]


class _Batcher:
    """Rows in (chunks), batches out: a shuffle buffer (optional), then batches cut from a
    continuous stream of rows. String columns travel as codes into a ``_Vocabulary`` each."""

    def __init__(
        self, batch_size: int, label_key: str | None, rng: np.random.Generator | None, buffer_size: int
    ) -> None:
        self.batch_size = batch_size
        self.label_key = label_key
        self.rng = rng
        self.buffer_size = buffer_size
        self.vocabularies: dict[str, _Vocabulary] = {}
        self.buffer: Chunk | None = None  # the full shuffle buffer
        self.filling: list[Chunk] = []  # rows gathered while the buffer is not yet full
        self.pending: list[Chunk] = []  # rows out of the buffer, waiting for a full batch

    def add(self, raw: RawChunk) -> Iterator[Any]:
        chunk = self._encode(raw)
        if self.rng is None:
            self.pending.append(chunk)
        else:
            self._shuffle(chunk, self.rng)
        yield from self._batches(final=False)

    def end_epoch(self) -> Iterator[Any]:
        """Empties the shuffle buffer (in random order), so epochs do not mix."""
        rest = self.buffer if self.buffer is not None else (_concat(self.filling) if self.filling else None)
        if rest is not None and self.rng is not None:
            self.pending.append(_take(rest, self.rng.permutation(_num_rows(rest))))
        self.buffer, self.filling = None, []
        yield from self._batches(final=False)

    def end(self) -> Iterator[Any]:
        yield from self._batches(final=True)

    def _shuffle(self, chunk: Chunk, rng: np.random.Generator) -> None:
        """Each incoming row takes the place of a row leaving from a random position of the buffer."""
        size = self.buffer_size
        if self.buffer is None:
            self.filling.append(chunk)
            if sum(_num_rows(piece) for piece in self.filling) < size:
                return
            rows = _concat(self.filling)
            self.filling = []
            self.buffer = {name: values[:size].copy() for name, values in rows.items()}
            chunk = {name: values[size:] for name, values in rows.items()}
        n = _num_rows(chunk)
        for start in range(0, n, size):
            stop = min(start + size, n)
            positions = rng.choice(size, stop - start, replace=False)
            self.pending.append(_take(self.buffer, positions))
            for name, values in self.buffer.items():
                values[positions] = chunk[name][start:stop]

    def _batches(self, final: bool) -> Iterator[Any]:
        count = sum(_num_rows(piece) for piece in self.pending)
        if count < self.batch_size and not (final and count):
            return
        rows = _concat(self.pending)
        full = count - count % self.batch_size
        self.pending = [{name: values[full:].copy() for name, values in rows.items()}] if count > full else []
        for start in range(0, full, self.batch_size):
            yield self._batch({name: values[start : start + self.batch_size] for name, values in rows.items()})
        if final and count > full:
            yield self._batch(self.pending.pop())

    def _encode(self, raw: RawChunk) -> Chunk:
        chunk: Chunk = {}
        for name, values in raw.items():
            if isinstance(values, pa.DictionaryArray):
                chunk[name] = self.vocabularies.setdefault(name, _Vocabulary()).codes(values)
            else:
                chunk[name] = values
        live_rows = _num_rows(chunk) + sum(_num_rows(piece) for piece in [*self.filling, *self.pending])
        live_rows += 0 if self.buffer is None else _num_rows(self.buffer)
        for name, vocabulary in self.vocabularies.items():
            if len(vocabulary.values) > 2 * live_rows + _SHARED_DICTIONARY_MAX:
                self._compact(name, vocabulary, chunk)
        return chunk

    def _compact(self, name: str, vocabulary: _Vocabulary, chunk: Chunk) -> None:
        """Renumbers the codes of column ``name`` everywhere they live, dropping unused strings."""
        holders = [chunk, *self.filling, *self.pending, *([self.buffer] if self.buffer is not None else [])]
        for holder, codes in zip(holders, vocabulary.compact([holder[name] for holder in holders])):
            holder[name] = codes

    def _batch(self, rows: Chunk) -> Any:
        features: dict[str, np.ndarray] = {}
        labels = None
        for name, values in rows.items():
            vocabulary = self.vocabularies.get(name)
            if vocabulary is None:
                value = values
            elif name == self.label_key:
                value = np.take(vocabulary.values, values)
            elif len(vocabulary.values) <= _SHARED_DICTIONARY_MAX:
                value = encode_strings(values, vocabulary.values)
            else:  # a large vocabulary: the batch gets a dictionary of its own strings
                used, codes = np.unique(values, return_inverse=True)
                value = encode_strings(codes.astype(np.int64, copy=False), vocabulary.values[used])
            if name == self.label_key:
                labels = value
            else:
                features[name] = value
        return features if self.label_key is None else (features, labels)


def _stream(
    source: Any,
    units: list[Unit],
    part: tuple[int, int] | None,
    num_epochs: int | None,
    batcher: _Batcher,
) -> Iterator[Any]:
    """Batches, epoch after epoch: units in a fresh random order (in order when not shuffling)."""
    rng = batcher.rng
    epoch = 0
    while num_epochs is None or epoch < num_epochs:
        produced = False
        for i in rng.permutation(len(units)) if rng is not None else range(len(units)):
            for raw in source.read(units[i], part):
                produced = produced or _num_rows(raw) > 0
                yield from batcher.add(raw)
        yield from batcher.end_epoch()
        if not produced:
            break
        epoch += 1
    yield from batcher.end()


# -- background prefetch ------------------------------------------------------------------------

_ITEM, _END, _ERROR = range(3)
_RUNNING: dict[threading.Thread, tuple[threading.Event, queue.Queue]] = {}


def _produce(make: Callable[[], Iterator[Any]], out: queue.Queue, stop: threading.Event) -> None:
    def put(message: tuple[int, Any]) -> bool:
        while not stop.is_set():
            try:
                out.put(message, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    try:
        items = make()
        try:
            for item in items:
                if not put((_ITEM, item)):
                    return
        finally:
            items.close()
        put((_END, None))
    except BaseException as error:  # handed to the consumer, which raises it
        put((_ERROR, error))
    finally:
        _RUNNING.pop(threading.current_thread(), None)


def _prefetched(make: Callable[[], Iterator[Any]], size: int) -> Iterator[Any]:
    """The items of ``make()``, prepared by a background thread up to ``size`` ahead.

    The thread stops when this generator is closed or collected (and at interpreter exit); an
    exception raised in it is raised here."""
    out: queue.Queue = queue.Queue(maxsize=size)
    stop = threading.Event()
    thread = threading.Thread(
        target=_produce, args=(make, out, stop), name="torch_estimator-input-prefetch", daemon=True
    )
    _RUNNING[thread] = (stop, out)
    thread.start()
    try:
        while True:
            try:
                kind, item = out.get(timeout=1.0)
            except queue.Empty:
                if thread.is_alive() or not out.empty():
                    continue
                raise RuntimeError("the input prefetch thread stopped without finishing its input") from None
            if kind == _ITEM:
                yield item
            elif kind == _END:
                return
            else:
                raise item
    finally:
        stop.set()
        _join(thread, timeout=10.0)


def _join(thread: threading.Thread, timeout: float) -> None:
    """Waits for a stopped producer to finish, emptying its queue so that it lets go sooner."""
    entry = _RUNNING.get(thread)
    if entry is None or thread is threading.current_thread():  # collected in its own thread: it stops itself
        return
    out = entry[1]
    deadline = time.monotonic() + timeout
    while thread.is_alive() and time.monotonic() < deadline:
        try:
            while True:
                out.get_nowait()
        except queue.Empty:
            pass
        thread.join(0.05)


@atexit.register
def _stop_all() -> None:
    for stop, _ in list(_RUNNING.values()):
        stop.set()
    for thread in list(_RUNNING):
        _join(thread, timeout=1.0)


# -- input_fn -----------------------------------------------------------------------------------


class _StreamingBatches:
    """The batches of one input_fn call; each iteration streams the files afresh."""

    known_length = None  # a stream's number of batches is not known up front

    def __init__(self, make: Callable[[], Iterator[Any]], prefetch: int) -> None:
        self._make = make
        self._prefetch = prefetch

    def __iter__(self) -> Iterator[Any]:
        return _prefetched(self._make, self._prefetch) if self._prefetch else self._make()


def _input_fn(
    source: Any,
    batch_size: int,
    label_key: str | None,
    num_epochs: int | None,
    shuffle: bool,
    shuffle_buffer_size: int,
    shuffle_seed: int | None,
    prefetch_buffer_size: int | None,
) -> Callable[..., _StreamingBatches]:
    prefetch = 2 if prefetch_buffer_size is None else int(prefetch_buffer_size)

    def input_fn(input_context: Any = None) -> _StreamingBatches:
        shards = int(getattr(input_context, "num_input_pipelines", 1))
        shard = int(getattr(input_context, "input_pipeline_id", 0))
        if shards < 1 or not 0 <= shard < shards:
            raise ValueError(
                f"input_context.input_pipeline_id must be in [0, num_input_pipelines); got {shard} of {shards}."
            )
        units, part = source.plan(shards, shard)
        # Like numpy_input_fn, an unseeded shuffle draws its seed from numpy's global generator,
        # which RunConfig.tf_random_seed seeds.
        seed = shuffle_seed if shuffle_seed is not None or not shuffle else int(np.random.randint(0, 2**31 - 1))

        def batches() -> Iterator[Any]:
            rng = np.random.default_rng([seed, shard]) if shuffle else None
            return _stream(
                source, units, part, num_epochs, _Batcher(int(batch_size), label_key, rng, int(shuffle_buffer_size))
            )

        return _StreamingBatches(batches, prefetch)

    return input_fn


def make_csv_input_fn(
    file_pattern: str | os.PathLike | Sequence[str | os.PathLike],
    batch_size: int,
    label_key: str | None = None,
    column_names: Sequence[str] | None = None,
    column_defaults: Sequence[Any] | None = None,
    num_epochs: int | None = None,
    shuffle: bool = True,
    shuffle_buffer_size: int = 10000,
    shuffle_seed: int | None = None,
    select_columns: Sequence[str | int] | None = None,
    header: bool = True,
    field_delim: str = ",",
    na_value: str = "",
    prefetch_buffer_size: int | None = 2,
    num_rows_for_inference: int | None = 100,
    ignore_errors: bool = False,
    chunk_rows: int = 65536,
    use_quote_delim: bool = True,
    compression_type: str | None = None,
) -> Callable[..., Iterable[Any]]:
    """An input_fn streaming ``(features, labels)`` batches from CSV files (``make_csv_dataset``).

    Files are read in blocks, so memory stays bounded whatever their size; see the module notes
    for shuffling, prefetch and how ``input_context`` shards files or rows across pipelines.

    Args:
        file_pattern: a glob pattern or a list of them (gzip and other compressed files are read
            by extension).
        batch_size: rows per batch; only the last batch of a finite stream may be smaller.
        label_key: the column returned as labels (TF's ``label_name``); None: features only.
        column_names: the names of the CSV columns, in order; None reads the header row.
        column_defaults: one item per (selected) column: a default value (``0``, ``0.0``, ``''``,
            or a one-element list holding one) for an optional column, or a dtype (``np.float32``,
            ``np.int64``, ``str``, ...) or an empty list for a required one. None infers the types
            from the first ``num_rows_for_inference`` rows (int64, float32, else string), with
            defaults ``0`` / ``''``.
        num_epochs: passes over the data; None repeats forever.
        shuffle: read files in a random order every epoch and mix rows in a shuffle buffer.
        shuffle_buffer_size: rows in the shuffle buffer.
        shuffle_seed: seed of the shuffle; None draws one from numpy's global generator.
        select_columns: names or indices of the columns to read (returned in file order).
        header: whether each file starts with a header row (skipped; checked against the first).
        field_delim: the field separator (one character).
        na_value: a value read as missing, besides the empty field.
        prefetch_buffer_size: batches prepared ahead by a background thread (0: none, in the
            consumer's thread; None: the default, 2).
        num_rows_for_inference: rows read to infer column types (None: all rows of all files).
        ignore_errors: skip malformed records (wrong number of fields, unparseable or missing
            required values) instead of raising a ValueError naming the file and line.
        chunk_rows: rows per read block, approximately: converted to a block size in bytes from
            the first file's line lengths, kept within 64 KiB and 1 MiB (pyarrow reads up to 32
            blocks ahead, so this bounds its memory to about 40 MiB).
        use_quote_delim: whether double quotes delimit fields (RFC 4180).
        compression_type: None (from the file extension), ``'GZIP'`` or ``''`` (none).

    Example:
        >>> input_fn = te.inputs.make_csv_input_fn("data/train-*.csv", batch_size=256, label_key="label")
        >>> estimator.train(input_fn, max_steps=10000)
    """
    _check_pipeline_args(
        batch_size, num_epochs, shuffle, shuffle_buffer_size, shuffle_seed, prefetch_buffer_size, chunk_rows
    )
    if not isinstance(ignore_errors, bool):
        raise ValueError(f"ignore_errors must be True or False; got {ignore_errors!r}.")
    source = _CsvSource(
        _expand_files(file_pattern),
        column_names,
        column_defaults,
        select_columns,
        label_key,
        header,
        field_delim,
        bool(use_quote_delim),
        na_value,
        num_rows_for_inference,
        ignore_errors,
        compression_type,
        int(chunk_rows),
    )
    return _input_fn(
        source, batch_size, label_key, num_epochs, shuffle, shuffle_buffer_size, shuffle_seed, prefetch_buffer_size
    )


def make_parquet_input_fn(
    file_pattern: str | os.PathLike | Sequence[str | os.PathLike],
    batch_size: int,
    label_key: str | None = None,
    num_epochs: int | None = None,
    shuffle: bool = True,
    shuffle_buffer_size: int = 10000,
    shuffle_seed: int | None = None,
    select_columns: Sequence[str | int] | None = None,
    prefetch_buffer_size: int | None = 2,
    chunk_rows: int = 16384,
) -> Callable[..., Iterable[Any]]:
    """An input_fn streaming ``(features, labels)`` batches from Parquet files.

    Record batches of ``chunk_rows`` rows are read one at a time, so memory stays bounded
    whatever the size of the files. Integer columns become int64, floating-point float32 (nulls
    NaN), booleans bool, text and binary ``EncodedStrings`` (as ``make_csv_input_fn`` gives);
    other column types raise a TypeError naming the column. Shuffling, prefetch and sharding are
    those of ``make_csv_input_fn`` (files, else row groups, else rows are split across pipelines).

    Args:
        file_pattern: a glob pattern or a list of them.
        batch_size: rows per batch; only the last batch of a finite stream may be smaller.
        label_key: the column returned as labels; None: features only.
        num_epochs: passes over the data; None repeats forever.
        shuffle: read files (row groups) in a random order every epoch and mix rows in a buffer.
        shuffle_buffer_size: rows in the shuffle buffer.
        shuffle_seed: seed of the shuffle; None draws one from numpy's global generator.
        select_columns: names or indices of the columns to read (returned in file order).
        prefetch_buffer_size: batches prepared ahead by a background thread (0: none).
        chunk_rows: rows per record batch read (decoded batches dominate the reader's memory:
            about 60 MiB in all at the default for census-like rows).

    Example:
        >>> input_fn = te.inputs.make_parquet_input_fn("data/*.parquet", batch_size=256, label_key="label")
    """
    _check_pipeline_args(
        batch_size, num_epochs, shuffle, shuffle_buffer_size, shuffle_seed, prefetch_buffer_size, chunk_rows
    )
    source = _ParquetSource(_expand_files(file_pattern), select_columns, label_key, int(chunk_rows))
    return _input_fn(
        source, batch_size, label_key, num_epochs, shuffle, shuffle_buffer_size, shuffle_seed, prefetch_buffer_size
    )
