"""File sources of ``te.data``: ``TextLineDataset``, ``TFRecordDataset`` (and ``TFRecordWriter``),
and ``experimental.make_csv_dataset``."""

from __future__ import annotations

import bz2
import collections
import csv
import glob
import gzip
import io
import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from typing import IO, Any

import google_crc32c
import numpy as np

from torch_estimator._core.sstable import mask_crc
from torch_estimator._inputs.data.csv_decode import column_dtype, decode_csv
from torch_estimator._inputs.data.dataset import CHUNK_ELEMENTS, Chunk, Dataset
from torch_estimator._inputs.data.structure import LEAF

__all__ = ["TextLineDataset", "TFRecordDataset", "TFRecordWriter", "make_csv_dataset"]


def _filenames(filenames: Any, what: str) -> list[str]:
    if isinstance(filenames, Dataset):
        names = [str(n) for n in filenames.as_numpy_iterator()]
    elif isinstance(filenames, (str, os.PathLike)):
        names = [os.fspath(filenames)]
    else:
        names = [os.fspath(n) if isinstance(n, os.PathLike) else str(n) for n in np.asarray(filenames).reshape(-1)]
    if not names:
        raise ValueError(f"{what}: no filenames given.")
    return names


def _open(path: str, compression_type: str | None, what: str) -> IO[bytes]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what}: {path}; No such file or directory")
    kind = (compression_type or "").upper()
    if kind == "":
        return open(path, "rb")
    if kind == "GZIP":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if kind == "ZLIB":
        with open(path, "rb") as f:
            return io.BytesIO(zlib.decompress(f.read()))
    if kind == "BZ2":
        return bz2.open(path, "rb")
    raise ValueError(f"{what}: compression_type must be '', 'GZIP' or 'ZLIB'; got {compression_type!r}.")


def TextLineDataset(  # noqa: N802 - TensorFlow's class name
    filenames: Any,
    compression_type: str | None = None,
    buffer_size: int | None = None,
    num_parallel_reads: int | None = None,
    name: str | None = None,
) -> Dataset:
    """The lines of ``filenames`` (file after file) as strings, without their ``\\n`` (or ``\\r\\n``)."""
    names = _filenames(filenames, "TextLineDataset")

    def make() -> Iterator[Chunk]:
        for path in names:
            with _open(path, compression_type, "TextLineDataset") as f:
                lines: list[str] = []
                for raw in f:
                    line = raw.decode("utf-8", errors="strict")
                    lines.append(line[:-1] if line.endswith("\n") else line)
                    if len(lines) == CHUNK_ELEMENTS:
                        yield _text_chunk(lines)
                        lines = []
                if lines:
                    yield _text_chunk(lines)

    return Dataset(LEAF, make)


def _text_chunk(lines: list[str]) -> Chunk:
    return Chunk([np.array([line[:-1] if line.endswith("\r") else line for line in lines], dtype=str)], None)


_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")


def _masked_crc(data: bytes) -> int:
    return mask_crc(google_crc32c.value(data))


def TFRecordDataset(  # noqa: N802 - TensorFlow's class name
    filenames: Any,
    compression_type: str | None = None,
    buffer_size: int | None = None,
    num_parallel_reads: int | None = None,
    name: str | None = None,
) -> Dataset:
    """The records of TFRecord files (``bytes``, e.g. serialized ``te.train.Example``s); every
    record's length and data CRC32C are checked."""
    names = _filenames(filenames, "TFRecordDataset")

    def make() -> Iterator[Chunk]:
        for path in names:
            with _open(path, compression_type, "TFRecordDataset") as f:
                records: list[bytes] = []
                index = 0
                while True:
                    header = f.read(12)
                    if not header:
                        break
                    if len(header) < 12:
                        raise ValueError(f"{path}: truncated record header at record {index}.")
                    (length,) = _LENGTH.unpack(header[:8])
                    if _CRC.unpack(header[8:])[0] != _masked_crc(header[:8]):
                        raise ValueError(f"{path}: corrupted record at record {index} (length checksum mismatch).")
                    data = f.read(length)
                    footer = f.read(4)
                    if len(data) < length or len(footer) < 4:
                        raise ValueError(f"{path}: truncated record {index}.")
                    if _CRC.unpack(footer)[0] != _masked_crc(data):
                        raise ValueError(f"{path}: corrupted record at record {index} (data checksum mismatch).")
                    records.append(data)
                    index += 1
                    if len(records) == CHUNK_ELEMENTS:
                        yield Chunk([_bytes_array(records)], None)
                        records = []
                if records:
                    yield Chunk([_bytes_array(records)], None)

    return Dataset(LEAF, make)


def _bytes_array(records: list[bytes]) -> np.ndarray:
    array = np.empty(len(records), dtype=object)
    array[:] = records
    return array


class TFRecordWriter:
    """``tf.io.TFRecordWriter``: writes records (bytes) in the TFRecord format, atomically (the file
    appears complete on ``close``). Use as a context manager."""

    def __init__(self, path: str, options: Any = None) -> None:
        if options not in (None, "", "NONE"):
            raise ValueError(f"TFRecordWriter: only uncompressed files are written; got options={options!r}.")
        self.path = os.fspath(path)
        self._temp = f"{self.path}.tmp-{os.getpid()}"
        self._file: IO[bytes] | None = open(self._temp, "wb")

    def write(self, record: bytes) -> None:
        """Appends one record."""
        if self._file is None:
            raise ValueError(f"TFRecordWriter for {self.path} is closed.")
        if isinstance(record, str):
            record = record.encode()
        if not isinstance(record, (bytes, bytearray)):
            raise TypeError(f"TFRecordWriter.write takes bytes; got {type(record).__name__}.")
        length = _LENGTH.pack(len(record))
        self._file.write(length + _CRC.pack(_masked_crc(length)) + bytes(record) + _CRC.pack(_masked_crc(record)))

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        """Finishes the file (renamed into place)."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
            os.replace(self._temp, self.path)

    def __enter__(self) -> TFRecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _infer(texts: np.ndarray, na_value: str) -> Any:
    """TensorFlow's CSV type inference over sample values: int32, int64, float32, float64, string."""
    present = [t for t in texts if t != "" and t != na_value]
    try:
        ints = [int(t) for t in present]
        if all(-(2**31) <= v < 2**31 for v in ints):
            return [np.int32(0)]
        if all(-(2**63) <= v < 2**63 for v in ints):
            return [np.int64(0)]
    except ValueError:
        pass
    try:
        floats = [float(t) for t in present]
        return [np.float32(0.0)] if all(abs(v) < 3.4e38 for v in floats) else [np.float64(0.0)]
    except ValueError:
        return [""]


def make_csv_dataset(
    file_pattern: Any,
    batch_size: int,
    column_names: Sequence[str] | None = None,
    column_defaults: Sequence[Any] | None = None,
    label_name: str | None = None,
    select_columns: Sequence[Any] | None = None,
    field_delim: str = ",",
    use_quote_delim: bool = True,
    na_value: str = "",
    header: bool = True,
    num_epochs: int | None = None,
    shuffle: bool = True,
    shuffle_buffer_size: int = 10000,
    shuffle_seed: int | None = None,
    prefetch_buffer_size: int | None = None,
    num_parallel_reads: int | None = None,
    sloppy: bool = False,
    num_rows_for_inference: int = 100,
    compression_type: str | None = None,
    ignore_errors: bool = False,
    encoding: str = "utf-8",
) -> Dataset:
    """``tf.data.experimental.make_csv_dataset``: batches of ``(features, label)`` (or features
    alone without ``label_name``) from CSV files. Column names come from the header (or
    ``column_names``), types from ``column_defaults`` or inferred from the first
    ``num_rows_for_inference`` rows. Lines are shuffled, repeated ``num_epochs`` times (forever for
    None, then whole batches only) and batched, then decoded a batch at a time."""
    if ignore_errors:
        raise ValueError("make_csv_dataset(ignore_errors=True) is not supported; use te.inputs.make_csv_input_fn.")
    if encoding.lower().replace("-", "") != "utf8":
        raise ValueError(f"make_csv_dataset reads UTF-8 files; got encoding={encoding!r}.")
    names = sorted({p for pattern in _filenames(file_pattern, "make_csv_dataset") for p in glob.glob(pattern)})
    if not names:
        raise ValueError(f"No files match file_pattern {file_pattern!r}.")
    first = _open(names[0], compression_type, "make_csv_dataset")
    with first:
        sample = [raw.decode().rstrip("\r\n") for _, raw in zip(range(num_rows_for_inference + 1), first, strict=False)]
    rows = list(decode_rows(sample, field_delim, use_quote_delim))
    if column_names is None:
        if not header:
            raise ValueError("make_csv_dataset: column_names are needed when the files have no header.")
        column_names = rows[0]
    names_list = list(column_names)
    if len(set(names_list)) != len(names_list):
        raise ValueError(f"make_csv_dataset: column names must be unique; got {names_list}.")
    data_rows = rows[1:] if header else rows
    if select_columns is not None:
        selected = [names_list.index(c) if isinstance(c, str) else int(c) for c in select_columns]
        if any(isinstance(c, str) and c not in names_list for c in select_columns):
            missing = [c for c in select_columns if isinstance(c, str) and c not in names_list]
            raise ValueError(f"make_csv_dataset: select_columns {missing} are not in the columns {names_list}.")
        selected = sorted(selected)
    else:
        selected = list(range(len(names_list)))
    chosen = [names_list[i] for i in selected]
    if label_name is not None and label_name not in chosen:
        raise ValueError(f"`label_name` provided must be one of the columns: {chosen}. Received: {label_name}.")
    if column_defaults is None:
        column_defaults = [
            _infer(np.array([r[i] if i < len(r) else "" for r in data_rows]), na_value) for i in selected
        ]
    elif len(column_defaults) != len(selected):
        raise ValueError(
            f"make_csv_dataset: {len(column_defaults)} column_defaults for {len(selected)} (selected) columns."
        )
    defaults = list(column_defaults)
    for d in defaults:
        column_dtype(d)  # checks each default now

    def lines_of(path: str) -> Dataset:
        lines = TextLineDataset(path, compression_type)
        return lines.skip(1) if header else lines

    files = Dataset.from_tensor_slices(np.array(names))
    if shuffle:  # as TF: the files in a random order, then their lines through the shuffle buffer
        files = files.shuffle(len(names), shuffle_seed)
    dataset = files.interleave(lambda path: lines_of(str(path)), cycle_length=num_parallel_reads or 1)
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer_size, shuffle_seed)
    dataset = dataset.repeat(num_epochs).batch(batch_size, drop_remainder=num_epochs is None)

    def decode(lines: np.ndarray) -> Any:
        values = decode_csv(lines, defaults, field_delim, use_quote_delim, na_value, select_cols=selected)
        features = collections.OrderedDict(zip(chosen, values, strict=True))
        if label_name is None:
            return dict(features)
        label = features.pop(label_name)
        return dict(features), label

    return dataset.map(decode)


def decode_rows(lines: Sequence[str], field_delim: str, use_quote_delim: bool) -> Iterator[list[str]]:
    """Each line's fields (CSV quoting as ``decode_csv`` reads it)."""
    if use_quote_delim:
        yield from csv.reader(lines, delimiter=field_delim, quoting=csv.QUOTE_MINIMAL)
    else:
        yield from csv.reader(lines, delimiter=field_delim, quoting=csv.QUOTE_NONE)
