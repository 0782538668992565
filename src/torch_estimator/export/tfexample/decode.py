"""Reading serialized ``tf.train.Example`` protos: each feature's ``Feature`` message found
(``scan_example``), its list read (``feature_values``), and ``decode_example``.

Decoding follows protobuf: packed and unpacked repeated values are both read, unknown fields are
skipped, a repeated map key or message field keeps the last one, and malformed input raises a
``ValueError``. A ``Feature`` with no list set (what an empty Python list encodes to) reads as a
missing feature, as ``tf.io.parse_example`` treats it. The common layouts (one-byte lengths, one
packed run) are read by fast paths that check their bytes and fall back to the general reader.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from torch_estimator.export.tfexample.schema import KIND_OF_TAG, KINDS
from torch_estimator.export.tfexample.wire import (
    MalformedError,
    decode_varints,
    read_length,
    read_tag,
    skip_field,
)

__all__ = ["scan_example", "feature_values", "values_array", "shown", "decode_example"]

_TOO_LONG_VARINT = re.compile(rb"[\x80-\xff]{10}")
_SHOWN_BYTES = 64


def scan_example(buf: bytes) -> dict[bytes, tuple[bytes, int, int]]:
    """Each feature's name (raw UTF-8) -> ``(data, start, stop)``: its ``Feature`` message is
    ``data[start:stop]`` (``data`` is ``buf`` unless the entry repeats its value field)."""
    found: dict[bytes, tuple[bytes, int, int]] = {}
    pos, end = 0, len(buf)
    while pos < end:
        field, wire, pos = read_tag(buf, pos, end)
        if field != 1 or wire != 2:
            pos = skip_field(buf, pos, end, wire)
            continue
        pos, stop = read_length(buf, pos, end)
        while pos < stop:  # Features
            # Fast path: an entry written as {key = 1, value = 2} with one-byte lengths.
            if buf[pos] == 0x0A and pos + 4 <= stop and buf[pos + 2] == 0x0A:
                entry_stop = pos + 2 + buf[pos + 1]
                key_stop = pos + 4 + buf[pos + 3]
                if (
                    entry_stop <= stop
                    and key_stop + 2 <= entry_stop
                    and buf[key_stop] == 0x12
                    and buf[key_stop + 1] == entry_stop - key_stop - 2
                    and buf[pos + 1] < 0x80
                    and buf[pos + 3] < 0x80
                ):
                    found[buf[pos + 4 : key_stop]] = (buf, key_stop + 2, entry_stop)
                    pos = entry_stop
                    continue
            field, wire, pos = read_tag(buf, pos, stop)
            if field != 1 or wire != 2:
                pos = skip_field(buf, pos, stop, wire)
                continue
            pos, entry_stop = read_length(buf, pos, stop)
            key, value = b"", (buf, entry_stop, entry_stop)
            while pos < entry_stop:  # map entry
                field, wire, pos = read_tag(buf, pos, entry_stop)
                if wire != 2 or field > 2:
                    pos = skip_field(buf, pos, entry_stop, wire)
                    continue
                start, pos = read_length(buf, pos, entry_stop)
                if field == 1:
                    key = buf[start:pos]
                elif value[1] == value[2]:
                    value = (buf, start, pos)
                else:  # a repeated message field merges: parse the concatenation (protobuf)
                    merged = value[0][value[1] : value[2]] + buf[start:pos]
                    value = (merged, 0, len(merged))
            found[key] = value
    return found


def _packed_run(kind: str, buf: bytes, start: int, stop: int) -> bytes:
    """A packed run of float32 or int64 values, checked to hold whole values."""
    chunk = buf[start:stop]
    if kind == "float":
        if len(chunk) % 4:
            raise MalformedError(f"packed float values of {len(chunk)} bytes at byte {start}, not a multiple of 4")
    elif chunk and (chunk[-1] >= 0x80 or (len(chunk) >= 10 and _TOO_LONG_VARINT.search(chunk))):
        raise MalformedError(f"packed int64 values at byte {start} hold a truncated or over-long varint")
    return chunk


def _list_values(kind: str, buf: bytes, pos: int, end: int) -> bytes | list[bytes]:
    """A BytesList's values, or the packed bytes of a FloatList / Int64List's values."""
    if kind == "bytes":
        values: list[bytes] = []
        while pos < end:
            if buf[pos] == 0x0A and pos + 1 < end and buf[pos + 1] < 0x80:  # a value under 128 bytes
                start = pos + 2
                pos = start + buf[pos + 1]
                if pos > end:
                    raise MalformedError(f"bytes value at byte {start} runs past the end of its list at byte {end}")
                values.append(buf[start:pos])
                continue
            field, wire, pos = read_tag(buf, pos, end)
            if field == 1 and wire == 2:
                start, pos = read_length(buf, pos, end)
                values.append(buf[start:pos])
            else:
                pos = skip_field(buf, pos, end, wire)
        return values
    if pos + 1 < end and buf[pos] == 0x0A and buf[pos + 1] == end - pos - 2:  # one packed run under 128 bytes
        return _packed_run(kind, buf, pos + 2, end)
    chunks = []
    element_wire = 5 if kind == "float" else 0
    while pos < end:
        field, wire, pos = read_tag(buf, pos, end)
        if field == 1 and wire == 2:
            start, pos = read_length(buf, pos, end)
            chunks.append(_packed_run(kind, buf, start, pos))
        elif field == 1 and wire == element_wire:
            start, pos = pos, skip_field(buf, pos, end, wire)
            chunks.append(buf[start:pos])
        else:
            pos = skip_field(buf, pos, end, wire)
    return b"".join(chunks)


def feature_values(buf: bytes, start: int, stop: int) -> tuple[str | None, bytes | list[bytes]]:
    """``(kind, values)`` of the ``Feature`` message in ``buf[start:stop]``; kind None when no list is set."""
    if (
        start + 1 < stop and buf[start] in KIND_OF_TAG and buf[start + 1] == stop - start - 2
    ):  # one list under 128 bytes
        only = KIND_OF_TAG[buf[start]]
        return only, _list_values(only, buf, start + 2, stop)
    kind: str | None = None
    values: Any = b""
    pos = start
    while pos < stop:
        field, wire, pos = read_tag(buf, pos, stop)
        if wire != 2 or field > 3:
            pos = skip_field(buf, pos, stop, wire)
            continue
        list_start, pos = read_length(buf, pos, stop)
        list_kind = KINDS[field - 1]
        list_values = _list_values(list_kind, buf, list_start, pos)
        # A repeated oneof member merges into the one set; another member replaces it (protobuf).
        values = values + list_values if list_kind == kind else list_values
        kind = list_kind
    return kind, values


def shown(serialized: bytes) -> str:
    """The start of ``serialized`` as TensorFlow's parse errors quote it."""
    text = repr(serialized[:_SHOWN_BYTES])[2:-1]
    return text + "..." if len(serialized) > _SHOWN_BYTES else text


def values_array(kind: str, values: bytes | list[bytes]) -> np.ndarray:
    """A list's values (as ``feature_values`` reads them) as a numpy array of the kind's dtype."""
    if kind == "bytes":
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return array
    assert isinstance(values, bytes)
    if kind == "float":
        return np.frombuffer(values, dtype="<f4").astype(np.float32)
    return decode_varints(values)


def decode_example(serialized: bytes) -> dict[str, tuple[str, np.ndarray]]:
    """Decode a serialized ``tf.train.Example``.

    Returns:
        Feature name -> ``(kind, values)``: kind is 'bytes', 'float' or 'int64' and values an object
        array of ``bytes``, a float32 array or an int64 array. A feature with no list set is left
        out, as ``tf.io.parse_example`` reads it as missing.

    Raises:
        ValueError: ``serialized`` is not a well-formed ``tf.train.Example``.
    """
    if not isinstance(serialized, (bytes, bytearray, memoryview)):
        raise TypeError(f"serialized must be bytes (a serialized tf.train.Example); got {type(serialized).__name__}.")
    buf = bytes(serialized)
    try:
        decoded = {}
        for key, span in scan_example(buf).items():
            name = key.decode("utf-8")
            kind, values = feature_values(*span)
            if kind is not None:
                decoded[name] = (kind, values_array(kind, values))
        return decoded
    except (MalformedError, UnicodeDecodeError) as error:
        reason = "a feature name is not valid UTF-8" if isinstance(error, UnicodeDecodeError) else str(error)
        raise ValueError(f"Could not parse example input, value: '{shown(buf)}' ({reason}).") from None
