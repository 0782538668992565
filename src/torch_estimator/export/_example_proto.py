"""``tf.train.Example`` protocol buffers in plain numpy: encode, decode, and ``tf.io.parse_example``.

The wire format (``tensorflow/core/example/{example,feature}.proto``)::

    Example   { Features features = 1; }
    Features  { map<string, Feature> feature = 1; }     # entries: key = 1, value = 2
    Feature   { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
    BytesList { repeated bytes value = 1; }
    FloatList { repeated float value = 1 [packed = true]; }
    Int64List { repeated int64 value = 1 [packed = true]; }

Decoding follows protobuf: packed and unpacked repeated values are both read, unknown fields are
skipped, a repeated map key or message field keeps the last one, and malformed input raises a
``ValueError``. A ``Feature`` with no list set (what an empty Python list encodes to) reads as a
missing feature, as ``tf.io.parse_example`` treats it.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from torch_estimator._core.parse_spec import FixedLenFeature, VarLenFeature
from torch_estimator._core.values import RaggedValue

__all__ = ["encode_example", "decode_example", "parse_examples"]

_KINDS = ("bytes", "float", "int64")  # the Feature oneof, field numbers 1, 2, 3
_KIND_OF_TAG = {0x0A: "bytes", 0x12: "float", 0x1A: "int64"}
_KIND_OF_DTYPE = {"string": "bytes", "float32": "float", "int64": "int64"}
_TF_TYPE_NAME = {"bytes": "string", "float": "float", "int64": "int64"}  # as TensorFlow's errors spell them
_NUMPY_DTYPE = {"bytes": np.dtype(object), "float": np.dtype(np.float32), "int64": np.dtype(np.int64)}
_TOO_LONG_VARINT = re.compile(rb"[\x80-\xff]{10}")
_SHOWN_BYTES = 64
_MAX_TAG = (1 << 32) - 1  # field numbers are at most 2**29 - 1


class _MalformedError(ValueError):
    """Bytes that are not a well-formed message; the text says what is wrong and where."""


# ----------------------------------------------------------------------------------------------
# Wire-level reading
# ----------------------------------------------------------------------------------------------
def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
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
            raise _MalformedError(f"varint longer than 10 bytes at byte {start}")
    raise _MalformedError(f"truncated varint at byte {start}")


def _tag(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """``(field number, wire type, position after the tag)``."""
    tag = buf[pos]
    if tag < 0x80:
        pos += 1
    else:
        tag, pos = _varint(buf, pos, end)
    if tag < 8 or tag > _MAX_TAG:
        raise _MalformedError(f"invalid field number {tag >> 3} at byte {pos - 1}")
    return tag >> 3, tag & 7, pos


def _length(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """``(start, stop)`` of the length-delimited payload whose length varint is at ``pos``."""
    length = buf[pos] if pos < end else 0x80
    if length < 0x80:
        pos += 1
    else:
        length, pos = _varint(buf, pos, end)
    stop = pos + length
    if stop > end:
        raise _MalformedError(
            f"length-delimited field of {length} bytes at byte {pos} runs past the end of its message at byte {end}"
        )
    return pos, stop


def _skip(buf: bytes, pos: int, end: int, wire: int) -> int:
    """The position after an unknown field's value of wire type ``wire``."""
    if wire == 0:
        return _varint(buf, pos, end)[1]
    if wire == 2:
        return _length(buf, pos, end)[1]
    if wire in (1, 5):
        stop = pos + (8 if wire == 1 else 4)
        if stop > end:
            raise _MalformedError(f"truncated fixed-width field at byte {pos}")
        return stop
    raise _MalformedError(f"unsupported wire type {wire} at byte {pos - 1} (groups and types 6, 7 are not valid here)")


def _scan_example(buf: bytes) -> dict[bytes, tuple[bytes, int, int]]:
    """Each feature's name (raw UTF-8) -> ``(data, start, stop)``: its ``Feature`` message is
    ``data[start:stop]`` (``data`` is ``buf`` unless the entry repeats its value field)."""
    found: dict[bytes, tuple[bytes, int, int]] = {}
    pos, end = 0, len(buf)
    while pos < end:
        field, wire, pos = _tag(buf, pos, end)
        if field != 1 or wire != 2:
            pos = _skip(buf, pos, end, wire)
            continue
        pos, stop = _length(buf, pos, end)
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
            field, wire, pos = _tag(buf, pos, stop)
            if field != 1 or wire != 2:
                pos = _skip(buf, pos, stop, wire)
                continue
            pos, entry_stop = _length(buf, pos, stop)
            key, value = b"", (buf, entry_stop, entry_stop)
            while pos < entry_stop:  # map entry
                field, wire, pos = _tag(buf, pos, entry_stop)
                if wire != 2 or field > 2:
                    pos = _skip(buf, pos, entry_stop, wire)
                    continue
                start, pos = _length(buf, pos, entry_stop)
                if field == 1:
                    key = buf[start:pos]
                elif value[1] == value[2]:
                    value = (buf, start, pos)
                else:  # a repeated message field merges: parse the concatenation (protobuf)
                    merged = value[0][value[1] : value[2]] + buf[start:pos]
                    value = (merged, 0, len(merged))
            found[key] = value
    return found


def _packed_chunk(kind: str, buf: bytes, start: int, stop: int) -> bytes:
    """A packed run of float32 or int64 values, checked to hold whole values."""
    chunk = buf[start:stop]
    if kind == "float":
        if len(chunk) % 4:
            raise _MalformedError(f"packed float values of {len(chunk)} bytes at byte {start}, not a multiple of 4")
    elif chunk and (chunk[-1] >= 0x80 or (len(chunk) >= 10 and _TOO_LONG_VARINT.search(chunk))):
        raise _MalformedError(f"packed int64 values at byte {start} hold a truncated or over-long varint")
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
                    raise _MalformedError(f"bytes value at byte {start} runs past the end of its list at byte {end}")
                values.append(buf[start:pos])
                continue
            field, wire, pos = _tag(buf, pos, end)
            if field == 1 and wire == 2:
                start, pos = _length(buf, pos, end)
                values.append(buf[start:pos])
            else:
                pos = _skip(buf, pos, end, wire)
        return values
    if pos + 1 < end and buf[pos] == 0x0A and buf[pos + 1] == end - pos - 2:  # one packed run under 128 bytes
        return _packed_chunk(kind, buf, pos + 2, end)
    chunks = []
    element_wire = 5 if kind == "float" else 0
    while pos < end:
        field, wire, pos = _tag(buf, pos, end)
        if field == 1 and wire == 2:
            start, pos = _length(buf, pos, end)
            chunks.append(_packed_chunk(kind, buf, start, pos))
        elif field == 1 and wire == element_wire:
            start, pos = pos, _skip(buf, pos, end, wire)
            chunks.append(buf[start:pos])
        else:
            pos = _skip(buf, pos, end, wire)
    return b"".join(chunks)


def _feature_values(buf: bytes, start: int, stop: int) -> tuple[str | None, bytes | list[bytes]]:
    """``(kind, values)`` of the ``Feature`` message in ``buf[start:stop]``; kind None when no list is set."""
    if (
        start + 1 < stop and buf[start] in _KIND_OF_TAG and buf[start + 1] == stop - start - 2
    ):  # one list under 128 bytes
        only = _KIND_OF_TAG[buf[start]]
        return only, _list_values(only, buf, start + 2, stop)
    kind: str | None = None
    values: Any = b""
    pos = start
    while pos < stop:
        field, wire, pos = _tag(buf, pos, stop)
        if wire != 2 or field > 3:
            pos = _skip(buf, pos, stop, wire)
            continue
        list_start, pos = _length(buf, pos, stop)
        list_kind = _KINDS[field - 1]
        list_values = _list_values(list_kind, buf, list_start, pos)
        # A repeated oneof member merges into the one set; another member replaces it (protobuf).
        values = values + list_values if list_kind == kind else list_values
        kind = list_kind
    return kind, values


# ----------------------------------------------------------------------------------------------
# Vectorised value conversion
# ----------------------------------------------------------------------------------------------
def _decode_varints(data: bytes) -> np.ndarray:
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


def _varint_counts(data: bytes, lengths: np.ndarray) -> np.ndarray:
    """How many varints each of the consecutive segments of ``lengths`` bytes in ``data`` holds."""
    ends = np.concatenate(([0], np.cumsum(np.frombuffer(data, dtype=np.uint8) < 0x80)))
    bounds = np.concatenate(([0], np.cumsum(lengths)))
    return ends[bounds[1:]] - ends[bounds[:-1]]


def _encode_varints(values: np.ndarray) -> bytes:
    """int64 values as concatenated varints (a packed Int64List payload)."""
    unsigned = values.astype(np.int64).view(np.uint64)
    if not unsigned.size or unsigned.max() < 0x80:
        return unsigned.astype(np.uint8).tobytes()
    shifts = np.arange(0, 70, 7, dtype=np.uint64)
    groups = (unsigned[:, None] >> shifts) & np.uint64(0x7F)
    size = 1 + ((unsigned[:, None] >> shifts[1:]) != 0).sum(axis=1)
    column = np.arange(len(shifts))
    groups |= np.where(column < (size - 1)[:, None], np.uint64(0x80), np.uint64(0))
    return groups.astype(np.uint8)[column < size[:, None]].tobytes()


def _varint_bytes(value: int) -> bytes:
    """A non-negative int as a varint."""
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _length_delimited(tag: int, payload: bytes) -> bytes:
    length = len(payload)
    if length < 0x80:
        return bytes((tag, length)) + payload
    return bytes((tag,)) + _varint_bytes(length) + payload


# ----------------------------------------------------------------------------------------------
# Encoding
# ----------------------------------------------------------------------------------------------
_INT64_MIN, _INT64_MAX, _UINT64_MASK = -(2**63), 2**63 - 1, 2**64 - 1
_SCALARS = (bytes, str, bool, int, float, np.generic)


def _kind_of_element(key: str, index: int, value: Any) -> str:
    if isinstance(value, (bytes, str)):
        return "bytes"
    if isinstance(value, (bool, int, np.integer, np.bool_)):
        return "int64"
    if isinstance(value, (float, np.floating)):
        return "float"
    raise TypeError(
        f"Feature {key!r}: value {index} is {type(value).__name__} ({value!r}); expected bytes, str, a float or an int."
    )


def _packed_array(key: str, array: np.ndarray) -> tuple[str, bytes | list[bytes]]:
    """``(kind, payload)`` of a 1-D numpy array: packed bytes for numbers, the values for strings."""
    code = array.dtype.kind
    if code == "f":
        with np.errstate(over="ignore"):
            return "float", array.astype("<f4").tobytes()
    if code in "iub":
        if code == "u" and array.size and array.max() > _INT64_MAX:
            raise ValueError(f"Feature {key!r}: value {array.max()} is out of the int64 range [-2**63, 2**63 - 1].")
        return "int64", _encode_varints(array)
    if code in "SU":
        return "bytes", [v.encode() if isinstance(v, str) else v for v in array.tolist()]
    raise TypeError(f"Feature {key!r} has dtype {array.dtype}; expected strings, floats or integers.")


def _packed_list(key: str, values: list[Any] | tuple[Any, ...]) -> tuple[str | None, bytes | list[bytes]]:
    """``(kind, payload)`` of a list of Python values; kind None for an empty list."""
    if not values:
        return None, []
    kinds = {_kind_of_element(key, i, v) for i, v in enumerate(values)}
    if kinds == {"bytes"}:
        return "bytes", [v.encode() if isinstance(v, str) else v for v in values]
    if "bytes" in kinds:
        raise ValueError(
            f"Feature {key!r} mixes strings and numbers ({list(values)[:5]!r}); "
            "expected one kind per feature: bytes/str, floats or ints."
        )
    if "float" in kinds:
        try:
            return "float", struct.pack(f"<{len(values)}f", *values)
        except OverflowError:  # beyond float32: inf, as TensorFlow stores it
            return _packed_array(key, np.asarray(values, dtype=np.float64))
    ints = [int(v) for v in values]
    bad = next((v for v in ints if not _INT64_MIN <= v <= _INT64_MAX), None)
    if bad is not None:
        raise ValueError(f"Feature {key!r}: value {bad} is out of the int64 range [-2**63, 2**63 - 1].")
    return "int64", b"".join(_varint_bytes(v & _UINT64_MASK) for v in ints)


def _encode_feature(key: str, value: Any) -> bytes:
    """One feature's ``Feature`` message: a scalar, a list or a 1-D numpy array of one kind."""
    if isinstance(value, _SCALARS):
        value = [value]
    if isinstance(value, np.ndarray):
        if value.ndim > 1:
            raise ValueError(
                f"Feature {key!r} is an array of shape {value.shape}; expected a scalar or a 1-D list of values "
                "(a tf.train.Example feature is a flat list: flatten it)."
            )
        value = value.reshape(-1)
        kind, payload = _packed_list(key, value.tolist()) if value.dtype == object else _packed_array(key, value)
    elif isinstance(value, (list, tuple)):
        kind, payload = _packed_list(key, value)
    else:
        raise TypeError(
            f"Feature {key!r} is {type(value).__name__}; expected bytes, str, a float, an int, or a list or 1-D numpy array of them."
        )
    if kind is None:
        return b""
    if kind == "bytes":
        body = b"".join(_length_delimited(0x0A, v) for v in payload)
    else:
        body = _length_delimited(0x0A, payload) if payload else b""  # type: ignore[arg-type]
    return _length_delimited(0x0A + 8 * _KINDS.index(kind), body)


def encode_example(features: Mapping[str, Any]) -> bytes:
    """Serialize a dict of features as a ``tf.train.Example``.

    Each value is a scalar, a list or a 1-D numpy array. ``bytes``/``str`` values become a
    ``bytes_list`` (``str`` as UTF-8), floats a ``float_list`` (rounded to float32), ints and bools
    an ``int64_list``; a list of ints and floats is a ``float_list``. An empty list, which carries no
    kind, becomes a ``Feature`` with no list set (``tf.io.parse_example`` reads it as missing); an
    empty numpy array keeps its dtype's kind. Features are written in sorted name order, so equal
    inputs give equal bytes.

    Example:
        >>> encode_example({"age": 39, "education": "Bachelors", "hours": [40.0]})
    """
    if not isinstance(features, Mapping):
        raise TypeError(f"features must be a mapping of feature name to values; got {type(features).__name__}.")
    for key in features:
        if not isinstance(key, str):
            raise TypeError(f"Feature names must be str; got {key!r} ({type(key).__name__}).")
    entries = b"".join(
        _length_delimited(
            0x0A, _length_delimited(0x0A, key.encode()) + _length_delimited(0x12, _encode_feature(key, features[key]))
        )
        for key in sorted(features)
    )
    return _length_delimited(0x0A, entries)


# ----------------------------------------------------------------------------------------------
# Decoding
# ----------------------------------------------------------------------------------------------
def _shown(serialized: bytes) -> str:
    text = repr(serialized[:_SHOWN_BYTES])[2:-1]
    return text + "..." if len(serialized) > _SHOWN_BYTES else text


def _values_array(kind: str, values: bytes | list[bytes]) -> np.ndarray:
    if kind == "bytes":
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return array
    assert isinstance(values, bytes)
    if kind == "float":
        return np.frombuffer(values, dtype="<f4").astype(np.float32)
    return _decode_varints(values)


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
        for key, span in _scan_example(buf).items():
            name = key.decode("utf-8")
            kind, values = _feature_values(*span)
            if kind is not None:
                decoded[name] = (kind, _values_array(kind, values))
        return decoded
    except (_MalformedError, UnicodeDecodeError) as error:
        reason = "a feature name is not valid UTF-8" if isinstance(error, UnicodeDecodeError) else str(error)
        raise ValueError(f"Could not parse example input, value: '{_shown(buf)}' ({reason}).") from None


# ----------------------------------------------------------------------------------------------
# parse_example
# ----------------------------------------------------------------------------------------------
@dataclasses.dataclass
class _Column:
    """One entry of a parse spec and the values collected for it over a batch."""

    name: str
    kind: str
    shape: tuple[int, ...] | None  # None for a VarLenFeature
    default: np.ndarray | None
    rows: list[int] = dataclasses.field(default_factory=list)
    values: list[Any] = dataclasses.field(default_factory=list)

    @property
    def type_name(self) -> str:
        return _TF_TYPE_NAME[self.kind]

    def counts_and_values(self) -> tuple[np.ndarray, np.ndarray]:
        """The number of values each collected row has, and all of them in one array."""
        if self.kind == "bytes":
            counts = np.fromiter(map(len, self.values), dtype=np.int64, count=len(self.values))
            return counts, _values_array("bytes", list(itertools.chain.from_iterable(self.values)))
        data = b"".join(self.values)
        lengths = np.fromiter(map(len, self.values), dtype=np.int64, count=len(self.values))
        if self.kind == "float":
            return lengths // 4, _values_array("float", data)
        return _varint_counts(data, lengths), _decode_varints(data)


def _default_array(name: str, feature: FixedLenFeature, kind: str, size: int) -> np.ndarray | None:
    """A FixedLenFeature's default_value as a flat array of the feature's dtype, checked like TensorFlow."""
    value = feature.default_value
    if value is None:
        return None
    if kind == "bytes":
        flat = np.asarray(value, dtype=object).reshape(-1).tolist()
        convertible = all(isinstance(v, (bytes, str)) for v in flat)
        array = np.empty(len(flat), dtype=object)
        array[:] = [v.encode() if isinstance(v, str) else v for v in flat]
    else:
        array = np.asarray(value)
        convertible = array.dtype.kind in ("fiub" if kind == "float" else "iub")
    if not convertible:
        raise TypeError(
            f"Cannot convert {value!r} to EagerTensor of dtype {_TF_TYPE_NAME[kind]} (the default_value of feature {name!r})."
        )
    if array.size != size:
        raise ValueError(
            f"Input to reshape is a tensor with {array.size} values, but the requested shape has {size}: "
            f"the default_value of feature {name!r} needs one value per element of shape {list(feature.shape)}."
        )
    with np.errstate(over="ignore"):
        return array.reshape(-1).astype(_NUMPY_DTYPE[kind])


def _column(name: str, feature: Any) -> _Column:
    if not isinstance(name, str):
        raise TypeError(f"feature_spec keys must be feature names (str); got {name!r}.")
    if not isinstance(feature, (FixedLenFeature, VarLenFeature)):
        raise TypeError(f"feature_spec[{name!r}] must be a FixedLenFeature or VarLenFeature; got {feature!r}.")
    kind = _KIND_OF_DTYPE.get(feature.dtype)
    if kind is None:
        raise ValueError(
            f"Feature {name!r}: dtype {feature.dtype} is not in the list of allowed values: float, int64, string "
            "(a tf.train.Example holds only float32, int64 and bytes values); parse it as one of those and cast afterwards."
        )
    if isinstance(feature, VarLenFeature):
        return _Column(name, kind, None, None)
    if any(d is None or not isinstance(d, (int, np.integer)) or d < 0 for d in feature.shape):
        if feature.shape[0] is None:
            problem = f"First dimension of shape for feature {name} unknown"
        else:
            problem = f"All dimensions of shape for feature {name} need to be known non-negative integers"
        raise ValueError(
            f"{problem}; received {list(feature.shape)}. A FixedLenFeature needs a fully defined shape "
            "(use VarLenFeature for variable-length values)."
        )
    shape = tuple(int(d) for d in feature.shape)
    size = math.prod(shape)
    return _Column(name, kind, shape, _default_array(name, feature, kind, size))


def _batch(serialized: Any) -> list[bytes]:
    if isinstance(serialized, (bytes, str)):
        raise TypeError(
            "serialized must be a batch (a list or 1-D array) of serialized tf.train.Example strings; got a single value: wrap it in a list."
        )
    if isinstance(serialized, np.ndarray):
        if serialized.ndim != 1:
            raise ValueError(
                f"serialized must be a 1-D batch of serialized tf.train.Example strings; got an array of shape {serialized.shape}."
            )
        serialized = serialized.tolist()
    batch = []
    for index, item in enumerate(serialized):
        if isinstance(item, str):
            item = item.encode()
        elif isinstance(item, (bytearray, memoryview)):
            item = bytes(item)
        elif not isinstance(item, bytes):
            raise TypeError(
                f"serialized[{index}] is {type(item).__name__}; expected bytes (a serialized tf.train.Example)."
            )
        batch.append(item)
    return batch


def _prefix(column: _Column, index: int) -> str:
    return f"Name: <unknown>, Key: {column.name}, Index: {index}."


def _type_mismatch(column: _Column, kind: str) -> str:
    received, expected = _TF_TYPE_NAME[kind], column.type_name
    if column.shape is None:
        return f"Expected type: {expected}, Actual type: {received}"
    return f"Data type: {received} but expected type: {expected}"


def _finish_fixed(column: _Column, batch_size: int) -> np.ndarray:
    assert column.shape is not None
    size = math.prod(column.shape)
    rows = np.asarray(column.rows, dtype=np.int64)
    counts, values = column.counts_and_values()
    wrong = np.flatnonzero(counts != size)
    if wrong.size:
        index, count = int(rows[wrong[0]]), int(counts[wrong[0]])
        shape = ",".join(map(str, column.shape))
        sizes = f"Number of {column.type_name} values != expected.  Values size: {count} but output shape: [{shape}]"
        # TensorFlow words this error for string features as a failure to parse.
        reason = f"Can't parse serialized Example.  {sizes}" if column.kind == "bytes" else sizes
        raise ValueError(f"{_prefix(column, index)}  {reason}")
    if len(rows) == batch_size:
        return values.reshape((batch_size, *column.shape))
    if column.default is None:
        index = int(np.setdiff1d(np.arange(batch_size), rows)[0])
        raise ValueError(
            f"Name: <unknown>, Feature: {column.name} (data type: {column.type_name}) is required but could not be found. "
            f"Index: {index}: the example has no {column.name!r} and its FixedLenFeature has no default_value."
        )
    out = np.empty((batch_size, size), dtype=_NUMPY_DTYPE[column.kind])
    out[:] = column.default
    out[rows] = values.reshape(len(rows), size)
    return out.reshape((batch_size, *column.shape))


def _finish_var(column: _Column, batch_size: int) -> RaggedValue:
    counts, values = column.counts_and_values()
    lengths = np.zeros(batch_size, dtype=np.int64)
    lengths[np.asarray(column.rows, dtype=np.int64)] = counts
    return RaggedValue.trusted(values, np.concatenate(([0], np.cumsum(lengths))))


def parse_examples(
    serialized: Sequence[bytes] | np.ndarray,
    feature_spec: Mapping[str, FixedLenFeature | VarLenFeature],
) -> dict[str, np.ndarray | RaggedValue]:
    """Parse a batch of serialized ``tf.train.Example`` protos, as ``tf.io.parse_example`` does.

    Args:
        serialized: a list or 1-D array of serialized examples (``bytes``; ``str`` is UTF-8 encoded).
        feature_spec: feature name -> ``FixedLenFeature`` or ``VarLenFeature`` of dtype 'float32',
            'int64' or 'string' (the types an Example holds).

    Returns:
        Feature name -> for a ``FixedLenFeature``, an array of shape ``[batch, *shape]`` (float32,
        int64, or an object array of ``bytes``), a missing feature taking ``default_value``; for a
        ``VarLenFeature``, a ``RaggedValue`` whose rows are each example's values (empty when missing).

    Raises:
        ValueError: a malformed example, a required feature missing, a fixed-length feature with the
            wrong number of values, or a feature whose list kind differs from the spec's dtype, with
            TensorFlow's message text.

    Example:
        >>> spec = {"age": FixedLenFeature([1], "int64"), "tags": VarLenFeature("string")}
        >>> parse_examples([encode_example({"age": 39, "tags": ["a", "b"]})], spec)
    """
    columns = [_column(name, feature) for name, feature in feature_spec.items()]
    wanted = [
        (column.name.encode(), column.kind, column.rows.append, column.values.append, column) for column in columns
    ]
    batch = _batch(serialized)
    for index, buf in enumerate(batch):
        try:
            found = _scan_example(buf)
        except _MalformedError as error:
            raise ValueError(
                f"Could not parse example input, value: '{_shown(buf)}' (Index: {index}: {error})."
            ) from None
        for key, expected_kind, add_row, add_values, column in wanted:
            span = found.get(key)
            if span is None:
                continue
            try:
                kind, values = _feature_values(*span)
            except _MalformedError as error:
                raise ValueError(f"{_prefix(column, index)}  Can't parse serialized Example. ({error})") from None
            if kind != expected_kind:
                if kind is None:  # a Feature with no list set reads as missing
                    continue
                raise ValueError(f"{_prefix(column, index)}  Data types don't match. {_type_mismatch(column, kind)}")
            add_row(index)
            add_values(values)
    return {
        column.name: _finish_var(column, len(batch)) if column.shape is None else _finish_fixed(column, len(batch))
        for column in columns
    }
