"""CSV files as a ``Source``: read in blocks by pyarrow's streaming reader and converted to typed
numpy columns (strings dictionary-encoded); malformed records raise a ValueError naming the file
and line, or are skipped with ``ignore_errors``.

Memory: pyarrow's CSV reader reads up to 32 blocks ahead, so blocks are kept within 1 MiB (about
40 MiB of reader memory).
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from torch_estimator._inputs.arguments import check_count, check_flag
from torch_estimator._inputs.streaming.chunks import RawChunk
from torch_estimator._inputs.streaming.csv_types import field_from_default, inferred_field, value_kind, widen
from torch_estimator._inputs.streaming.fields import ARROW_TYPES, Field, check_label, dictionary_strings, select
from torch_estimator._inputs.streaming.files import Part, Unit, part_slice, shard_units

__all__ = ["CsvSource"]

_MIN_BLOCK_BYTES = 64 << 10
_MAX_BLOCK_BYTES = 1 << 20  # pyarrow's CSV reader reads up to 32 blocks ahead: ~40 MiB at most
_PEEK_BYTES = 1 << 20
_COMPRESSIONS = {None: "detect", "": None, "GZIP": "gzip"}  # compression_type -> pyarrow's


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


def _invalid_utf8(array: pa.Array, row: int) -> str:
    return f"invalid UTF-8 bytes {array.cast(pa.binary())[row].as_py()!r}"


def _unparseable(array: pa.Array, kind: str, row: int) -> str:
    return f"could not parse {array[row].as_py()!r} as {kind}"


def _valid_utf8(block: pa.RecordBatch) -> bool:
    """Whether every string of ``block`` is UTF-8 (one vectorised pass)."""
    try:
        block.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


class CsvSource:
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
        check_flag("header", header)
        check_count("num_rows_for_inference", num_rows_for_inference, 1, allow_none=True)
        if compression_type not in _COMPRESSIONS:
            raise ValueError(
                f"Received unknown `compression_type` {compression_type!r}. "
                "Expected: None (from the file extension), 'GZIP' or '' (none)."
            )
        self.files = files
        self.header = header
        self.delimiter = field_delim
        self.quote = use_quote_delim
        self.null_values = sorted({"", na_value})
        self.ignore_errors = ignore_errors
        self.compression = _COMPRESSIONS[compression_type]
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
            for i in select(select_columns, self.column_names, files[0] if header else "column_names")
        ]
        check_label(label_key, selected)
        if column_defaults is None:
            self.fields = self._infer(selected, num_rows_for_inference)
        else:
            text = isinstance(column_defaults, (str, bytes))
            if text or len(column_defaults) != len(selected):
                which = "selected column" if select_columns is not None else "column"
                got = column_defaults if text else len(column_defaults)
                raise ValueError(
                    f"column_defaults must have one item per {which} ({len(selected)}: {selected}); got {got!r}."
                )
            self.fields = [
                field_from_default(name, item, i) for i, (name, item) in enumerate(zip(selected, column_defaults))
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
    def _infer(self, names: list[str], num_rows: int | None) -> list[Field]:
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
                    kinds[name] = widen(kinds[name], value_kind(block.column(name)))
                if remaining == 0:
                    break
            if remaining == 0:
                break
        return [inferred_field(name, kind) for name, kind in kinds.items()]

    # -- reading --------------------------------------------------------------------------------
    def plan(self, shards: int, shard: int) -> tuple[list[Unit], Part | None]:
        """Files, else rows, split across pipelines (``files.shard_units``)."""
        return shard_units(self.files, shards, shard)

    def read(self, unit: Unit, part: Part | None) -> Iterator[RawChunk]:
        """Typed columns of each block of the unit's file (``part`` of it)."""
        path = unit[0]
        for first_record, block in self._blocks(path, [field.name for field in self.fields]):
            lo, hi = part_slice(block.num_rows, part)
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
                report(rows, field.name, functools.partial(_invalid_utf8, array))
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
                columns[field.name] = dictionary_strings(array, field.default or "")
                continue
            target = ARROW_TYPES[field.kind]
            try:
                parsed = pc.cast(array, target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                bad = _failing(array, functools.partial(pc.cast, target_type=target), first_only=not self.ignore_errors)
                report(bad, field.name, functools.partial(_unparseable, array, field.kind))
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
