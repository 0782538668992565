"""The protocol buffer wire format, as ``tf.train.Example`` needs it: varints (one at a time and
vectorised over packed runs), field tags, length-delimited fields, and skipping unknown fields.

Readers take ``(buf, pos, end)`` and return the position after what they read; bytes that are
not well formed raise ``MalformedError`` saying what is wrong and at which byte.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "MalformedError",
    "read_varint",
    "read_tag",
    "read_length",
    "skip_field",
    "decode_varints",
    "varint_counts",
    "encode_varints",
    "varint_bytes",
    "length_delimited",
]

_MAX_TAG = (1 << 32) - 1  # field numbers are at most 2**29 - 1


class MalformedError(ValueError):
    """Bytes that are not a well-formed message; the text says what is wrong and where."""


def read_varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """The unsigned varint at ``pos`` (at most 10 bytes) and the position after it."""
    result = shift = 0
    start = pos
    while pos < end:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift == 70:
            raise MalformedError(f"varint longer than 10 bytes at byte {start}")
    raise MalformedError(f"truncated varint at byte {start}")


def read_tag(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """``(field number, wire type, position after the tag)``."""
    tag = buf[pos]
    if tag < 0x80:
        pos += 1
    else:
        tag, pos = read_varint(buf, pos, end)
    if tag < 8 or tag > _MAX_TAG:
        raise MalformedError(f"invalid field number {tag >> 3} at byte {pos - 1}")
    return tag >> 3, tag & 7, pos


def read_length(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """``(start, stop)`` of the length-delimited payload whose length varint is at ``pos``."""
    length = buf[pos] if pos < end else 0x80
    if length < 0x80:
        pos += 1
    else:
        length, pos = read_varint(buf, pos, end)
    stop = pos + length
    if stop > end:
        raise MalformedError(
            f"length-delimited field of {length} bytes at byte {pos} runs past the end of its message at byte {end}"
        )
    return pos, stop


def skip_field(buf: bytes, pos: int, end: int, wire: int) -> int:
    """The position after an unknown field's value of wire type ``wire``."""
    if wire == 0:
        return read_varint(buf, pos, end)[1]
    if wire == 2:
        return read_length(buf, pos, end)[1]
    if wire in (1, 5):
        stop = pos + (8 if wire == 1 else 4)
        if stop > end:
            raise MalformedError(f"truncated fixed-width field at byte {pos}")
        return stop
    raise MalformedError(f"unsupported wire type {wire} at byte {pos - 1} (groups and types 6, 7 are not valid here)")


def decode_varints(data: bytes) -> np.ndarray:
    """The int64 values of concatenated, well-formed varints (two's complement, 10-byte negatives)."""
    raw = np.frombuffer(data, dtype=np.uint8)
    if not raw.size or raw.max() < 0x80:
        return raw.astype(np.int64)
    last = raw < 0x80
    starts = np.flatnonzero(np.concatenate(([True], last[:-1])))
    lengths = np.diff(np.append(starts, raw.size))
    position = np.arange(raw.size) - np.repeat(starts, lengths)
    parts = (raw & 0x7F).astype(np.uint64) << (7 * position).astype(np.uint64)
    return np.bitwise_or.reduceat(parts, starts).view(np.int64)


def varint_counts(data: bytes, lengths: np.ndarray) -> np.ndarray:
    """How many varints each of the consecutive segments of ``lengths`` bytes in ``data`` holds."""
    ends = np.concatenate(([0], np.cumsum(np.frombuffer(data, dtype=np.uint8) < 0x80)))
    bounds = np.concatenate(([0], np.cumsum(lengths)))
    return ends[bounds[1:]] - ends[bounds[:-1]]


def encode_varints(values: np.ndarray) -> bytes:
    """int64 values as concatenated varints (a packed repeated int64 payload)."""
    unsigned = values.astype(np.int64).view(np.uint64)
    if not unsigned.size or unsigned.max() < 0x80:
        return unsigned.astype(np.uint8).tobytes()
    shifts = np.arange(0, 70, 7, dtype=np.uint64)
    groups = (unsigned[:, None] >> shifts) & np.uint64(0x7F)
    size = 1 + ((unsigned[:, None] >> shifts[1:]) != 0).sum(axis=1)
    column = np.arange(len(shifts))
    groups |= np.where(column < (size - 1)[:, None], np.uint64(0x80), np.uint64(0))
    return groups.astype(np.uint8)[column < size[:, None]].tobytes()


def varint_bytes(value: int) -> bytes:
    """A non-negative int as a varint."""
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def length_delimited(tag: int, payload: bytes) -> bytes:
    """A length-delimited field: its one-byte ``tag``, the payload's length, the payload."""
    length = len(payload)
    if length < 0x80:
        return bytes((tag, length)) + payload
    return bytes((tag,)) + varint_bytes(length) + payload
