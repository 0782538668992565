"""Parquet files as a ``Source``, read a record batch at a time (holding at most one row group's
column chunks): integer columns become int64, floating-point float32 (nulls NaN), booleans bool,
text and binary dictionary-encoded strings; other column types raise a TypeError naming the column."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from torch_estimator._inputs.streaming.chunks import RawChunk
from torch_estimator._inputs.streaming.fields import ARROW_TYPES, Field, check_label, dictionary_strings, select
from torch_estimator._inputs.streaming.files import Part, Unit, part_slice, shard_units

__all__ = ["ParquetSource"]


class ParquetSource:
    """Parquet files read a record batch (``chunk_rows`` rows) at a time."""

    def __init__(
        self, files: list[str], select_columns: Sequence[Any] | None, label_key: str | None, chunk_rows: int
    ) -> None:
        self.files = files
        self.chunk_rows = chunk_rows
        schema = pq.read_schema(files[0])
        names = list(schema.names)
        selected = [names[i] for i in select(select_columns, names, files[0])]
        check_label(label_key, selected)
        self.fields = [Field(name, _parquet_kind(name, schema.field(name).type, files[0])) for name in selected]

    def plan(self, shards: int, shard: int) -> tuple[list[Unit], Part | None]:
        """Files, else row groups, else rows split across pipelines (``files.shard_units``)."""
        return shard_units(self.files, shards, shard, _row_groups)

    def read(self, unit: Unit, part: Part | None) -> Iterator[RawChunk]:
        """Typed columns of each record batch of the unit's row groups (``part`` of it)."""
        path, groups = unit
        names = [field.name for field in self.fields]
        with pq.ParquetFile(path) as file:
            missing = [name for name in names if name not in file.schema_arrow.names]
            if missing:
                raise ValueError(
                    f"Parquet file {path} has no column(s) {missing}; its columns are {file.schema_arrow.names}."
                )
            for batch in file.iter_batches(batch_size=self.chunk_rows, row_groups=groups, columns=names):
                lo, hi = part_slice(batch.num_rows, part)
                if hi > lo:
                    yield self._convert(batch.slice(lo, hi - lo), path)

    def _convert(self, batch: pa.RecordBatch, path: str) -> RawChunk:
        columns: RawChunk = {}
        for field in self.fields:
            array = batch.column(field.name)
            if field.kind == "string":
                columns[field.name] = dictionary_strings(array, "")
                continue
            if array.null_count and field.kind != "float32":
                raise ValueError(
                    f"Parquet file {path}: column {field.name!r} ({array.type}) has {array.null_count} missing values "
                    "(nulls); integer and boolean columns must be complete (floating-point nulls read as NaN)."
                )
            try:
                values = pc.cast(array, pa.bool_() if field.kind == "bool" else ARROW_TYPES[field.kind])
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
                raise ValueError(
                    f"Parquet file {path}: column {field.name!r} has type {array.type}, which does not convert to "
                    f"{field.kind} (its type in {self.files[0]}): {error}"
                ) from None
            columns[field.name] = values.to_numpy(zero_copy_only=False, writable=True)
        return columns


def _row_groups(path: str) -> int:
    with pq.ParquetFile(path) as file:
        return int(file.num_row_groups)


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
