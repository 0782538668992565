"""The streaming input functions: ``make_csv_input_fn`` and ``make_parquet_input_fn``."""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Sequence
from typing import Any

import numpy as np

from torch_estimator._core.batches import Batches
from torch_estimator._inputs.arguments import check_count, check_flag
from torch_estimator._inputs.streaming.batching import Batch, Batcher, stream
from torch_estimator._inputs.streaming.csv_source import CsvSource
from torch_estimator._inputs.streaming.files import expand_files
from torch_estimator._inputs.streaming.parquet_source import ParquetSource
from torch_estimator._inputs.streaming.shuffle import ShuffleBuffer
from torch_estimator._inputs.streaming.source import Source

__all__ = ["make_csv_input_fn", "make_parquet_input_fn"]


def _check_pipeline_args(
    batch_size: Any,
    num_epochs: Any,
    shuffle: Any,
    shuffle_buffer_size: Any,
    shuffle_seed: Any,
    prefetch_buffer_size: Any,
    chunk_rows: Any,
) -> None:
    check_count("batch_size", batch_size, 1)
    check_count("num_epochs", num_epochs, 1, allow_none=True)
    check_flag("shuffle", shuffle)
    check_count("shuffle_buffer_size", shuffle_buffer_size, 1)
    check_count("shuffle_seed", shuffle_seed, 0, allow_none=True)
    check_count("prefetch_buffer_size", prefetch_buffer_size, 0, allow_none=True)
    check_count("chunk_rows", chunk_rows, 1)


def _input_fn(
    source: Source,
    batch_size: int,
    label_key: str | None,
    num_epochs: int | None,
    shuffle: bool,
    shuffle_buffer_size: int,
    shuffle_seed: int | None,
    prefetch_buffer_size: int | None,
) -> Callable[..., Batches]:
    prefetch = 2 if prefetch_buffer_size is None else int(prefetch_buffer_size)

    def input_fn(input_context: Any = None) -> Batches:
        shards = int(getattr(input_context, "num_input_pipelines", 1))
        shard = int(getattr(input_context, "input_pipeline_id", 0))
        if shards < 1 or not 0 <= shard < shards:
            raise ValueError(
                f"input_context.input_pipeline_id must be in [0, num_input_pipelines); got {shard} of {shards}."
            )
        units, part = source.plan(shards, shard)
        # Like numpy_input_fn, an unseeded shuffle draws its seed from numpy's global generator,
        # which RunConfig.tf_random_seed seeds.
        seed: int | None = None
        if shuffle:
            seed = shuffle_seed if shuffle_seed is not None else int(np.random.randint(0, 2**31 - 1))

        def batches() -> Generator[Batch, None, None]:
            rng = np.random.default_rng([seed, shard]) if seed is not None else None
            buffer = ShuffleBuffer(int(shuffle_buffer_size), rng) if rng is not None else None
            return stream(source, units, part, num_epochs, Batcher(int(batch_size), label_key, buffer), rng)

        return Batches(batches, prefetch=prefetch)

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
    label_name: str | None = None,
) -> Callable[..., Batches]:
    """An input_fn streaming ``(features, labels)`` batches from CSV files (``make_csv_dataset``).

    Files are read in blocks, so memory stays bounded whatever their size; shuffling, prefetch and
    how ``input_context`` shards files or rows across pipelines are described in
    ``torch_estimator._inputs.streaming``.

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
        label_name: TF's name for ``label_key`` (give one or the other).

    Example:
        >>> input_fn = te.inputs.make_csv_input_fn("data/train-*.csv", batch_size=256, label_key="label")
        >>> estimator.train(input_fn, max_steps=10000)
    """
    _check_pipeline_args(
        batch_size, num_epochs, shuffle, shuffle_buffer_size, shuffle_seed, prefetch_buffer_size, chunk_rows
    )
    check_flag("ignore_errors", ignore_errors)
    if label_name is not None:
        if label_key is not None and label_key != label_name:
            raise ValueError(f"label_key={label_key!r} and label_name={label_name!r} differ; give one of them.")
        label_key = label_name
    source = CsvSource(
        expand_files(file_pattern),
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
) -> Callable[..., Batches]:
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
    source = ParquetSource(expand_files(file_pattern), select_columns, label_key, int(chunk_rows))
    return _input_fn(
        source, batch_size, label_key, num_epochs, shuffle, shuffle_buffer_size, shuffle_seed, prefetch_buffer_size
    )
