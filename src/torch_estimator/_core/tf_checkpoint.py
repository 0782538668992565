"""Reading TensorFlow's checkpoints (the tensor bundle format), with no TensorFlow installed.

A checkpoint ``model.ckpt-N`` is ``model.ckpt-N.index``, a table (``_core.sstable``) whose
empty key holds a ``BundleHeaderProto`` (shard count, endianness, version) and every other key a
``BundleEntryProto`` (dtype, shape, shard, offset, size, CRC32C, slices), and the shards
``model.ckpt-N.data-0000K-of-0000M`` holding the raw tensor bytes. Each tensor's bytes are
verified against its masked CRC32C. A partitioned variable is one entry listing its slices,
each stored under a key encoding the variable's name and the slice; they are reassembled into
the whole tensor. Strings are length-prefixed byte strings, read as numpy object arrays.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import struct
from typing import Any

import google_crc32c
import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from torch_estimator._core.errors import DataLossError, NotFoundError
from torch_estimator._core.sstable import mask_crc, read_table, read_varint, unmask_crc

__all__ = ["INDEX_SUFFIX", "is_checkpoint", "TfCheckpoint", "slice_key"]

INDEX_SUFFIX = ".index"
_STRING = 7
#: TensorFlow DataType enum -> numpy dtype (little-endian) and name.
_DTYPES: dict[int, tuple[str, str]] = {
    1: ("<f4", "float32"),
    2: ("<f8", "float64"),
    3: ("<i4", "int32"),
    4: ("u1", "uint8"),
    5: ("<i2", "int16"),
    6: ("i1", "int8"),
    9: ("<i8", "int64"),
    10: ("?", "bool"),
    17: ("<u2", "uint16"),
    19: ("<f2", "float16"),
    22: ("<u4", "uint32"),
    23: ("<u8", "uint64"),
}
_BUNDLE_VERSION = 1


@functools.cache
def _messages() -> dict[str, Any]:
    """Message classes of tensor_bundle.proto's records (and the protos they use), built from a
    descriptor here: the wire format is all a reader needs, not TensorFlow's generated code."""
    file = descriptor_pb2.FileDescriptorProto(name="torch_estimator_tf_bundle.proto", package="te_tf", syntax="proto3")
    F = descriptor_pb2.FieldDescriptorProto

    def message(name: str, fields: list[tuple[str, int, int, str | None, bool]], nested: tuple[Any, ...] = ()) -> Any:
        proto = descriptor_pb2.DescriptorProto(name=name)
        proto.nested_type.extend(nested)
        for field_name, number, kind, type_name, repeated in fields:
            field = proto.field.add(name=field_name, number=number, type=kind)
            field.label = F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL
            if type_name:
                field.type_name = type_name
        return proto

    dim = message("Dim", [("size", 1, F.TYPE_INT64, None, False), ("name", 2, F.TYPE_STRING, None, False)])
    extent = message("Extent", [("start", 1, F.TYPE_INT64, None, False), ("length", 2, F.TYPE_INT64, None, False)])
    extent.oneof_decl.add(name="has_length")
    extent.field[1].oneof_index = 0
    file.message_type.extend(
        [
            message(
                "VersionDef",
                [
                    ("producer", 1, F.TYPE_INT32, None, False),
                    ("min_consumer", 2, F.TYPE_INT32, None, False),
                    ("bad_consumers", 3, F.TYPE_INT32, None, True),
                ],
            ),
            message(
                "TensorShapeProto",
                [
                    ("dim", 2, F.TYPE_MESSAGE, ".te_tf.TensorShapeProto.Dim", True),
                    ("unknown_rank", 3, F.TYPE_BOOL, None, False),
                ],
                (dim,),
            ),
            message(
                "TensorSliceProto", [("extent", 1, F.TYPE_MESSAGE, ".te_tf.TensorSliceProto.Extent", True)], (extent,)
            ),
            message(
                "BundleHeaderProto",
                [
                    ("num_shards", 1, F.TYPE_INT32, None, False),
                    ("endianness", 2, F.TYPE_INT32, None, False),
                    ("version", 3, F.TYPE_MESSAGE, ".te_tf.VersionDef", False),
                ],
            ),
            message(
                "BundleEntryProto",
                [
                    ("dtype", 1, F.TYPE_INT32, None, False),
                    ("shape", 2, F.TYPE_MESSAGE, ".te_tf.TensorShapeProto", False),
                    ("shard_id", 3, F.TYPE_INT32, None, False),
                    ("offset", 4, F.TYPE_INT64, None, False),
                    ("size", 5, F.TYPE_INT64, None, False),
                    ("crc32c", 6, F.TYPE_FIXED32, None, False),
                    ("slices", 7, F.TYPE_MESSAGE, ".te_tf.TensorSliceProto", True),
                ],
            ),
        ]
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"te_tf.{name}"))
        for name in ("BundleHeaderProto", "BundleEntryProto")
    }


def is_checkpoint(prefix: str) -> bool:
    """Whether ``prefix`` names a TensorFlow checkpoint (its ``.index`` file exists)."""
    return os.path.isfile(prefix + INDEX_SUFFIX)


# -- slice keys (OrderedCode, as tensor_slice / checkpoint keys encode them) --------------------
_SIGNED_HEADER = [(0, 0), (0x80, 0), (0xC0, 0), (0xE0, 0), (0xF0, 0), (0xF8, 0), (0xFC, 0), (0xFE, 0), (0xFF, 0),
                  (0xFF, 0x80), (0xFF, 0xC0)]  # fmt: skip


def _num_increasing(value: int) -> bytes:
    body = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
    return bytes([len(body)]) + body


def _signed_num_increasing(value: int) -> bytes:
    magnitude = ~value if value < 0 else value
    if magnitude < 64:
        return bytes([(0x80 ^ value) & 0xFF])
    length = magnitude.bit_length() // 7 + 1
    buf = bytearray((b"\xff\xff" if value < 0 else b"\x00\x00") + (value & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big"))
    out = buf[len(buf) - length :]
    out[0] ^= _SIGNED_HEADER[length][0]
    out[1] ^= _SIGNED_HEADER[length][1]
    return bytes(out)


def _ordered_string(value: bytes) -> bytes:
    """OrderedCode's string: 0x00 and 0xff escaped (as 0x00 0xff and 0xff 0x00), then 0x00 0x01."""
    escaped = bytearray()
    for byte in value:
        escaped += b"\x00\xff" if byte == 0 else b"\xff\x00" if byte == 0xFF else bytes([byte])
    return bytes(escaped) + b"\x00\x01"


def slice_key(name: str, extents: list[tuple[int, int]]) -> bytes:
    """The table key of one slice of variable ``name``: ``(start, length)`` per dimension, length
    -1 for the whole dimension."""
    key = _num_increasing(0) + _ordered_string(name.encode()) + _num_increasing(len(extents))
    for start, length in extents:
        key += _signed_num_increasing(start) + _signed_num_increasing(length)
    return key


@dataclasses.dataclass(frozen=True)
class _Entry:
    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc32c: int
    slices: tuple[tuple[tuple[int, int], ...], ...]


class TfCheckpoint:
    """One TensorFlow checkpoint: its variables' names, shapes and dtypes, and their values."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.index_path = prefix + INDEX_SUFFIX
        try:
            table = read_table(self.index_path)
        except FileNotFoundError:
            raise NotFoundError(f"The TensorFlow checkpoint index {self.index_path} does not exist.") from None
        if not table or table[0][0] != b"":
            raise DataLossError(f"Checkpoint index {self.index_path} has no bundle header (its empty key).")
        header = self._parse("BundleHeaderProto", table[0][1], "its header")
        if header.version.min_consumer > _BUNDLE_VERSION or _BUNDLE_VERSION in header.version.bad_consumers:
            raise DataLossError(
                f"Checkpoint {prefix} needs a reader of tensor bundle version {header.version.min_consumer} or later; "
                f"this one reads version {_BUNDLE_VERSION}."
            )
        self._big_endian = header.endianness == 1
        self.num_shards = max(int(header.num_shards), 1)
        self._entries: dict[str, _Entry] = {}
        self._slice_entries: dict[bytes, _Entry] = {}
        for key, value in table[1:]:
            what = f"the entry of {key!r}"
            entry = self._entry(self._parse("BundleEntryProto", value, what))
            if key.startswith(b"\x00"):
                self._slice_entries[key] = entry
            else:
                try:
                    self._entries[key.decode("utf-8")] = entry
                except UnicodeDecodeError:
                    raise DataLossError(
                        f"Checkpoint index {self.index_path} holds a key that is not a name: {key!r}."
                    ) from None
        for name, entry in self._entries.items():
            if entry.dtype != _STRING and entry.dtype not in _DTYPES:
                raise DataLossError(
                    f"Checkpoint {prefix}: tensor {name!r} has TensorFlow dtype enum {entry.dtype}, which this reader "
                    f"does not read (it reads {', '.join(n for _, n in _DTYPES.values())} and string)."
                )

    def _parse(self, message: str, data: bytes, what: str) -> Any:
        proto = _messages()[message]()
        try:
            proto.ParseFromString(data)
        except Exception as e:  # protobuf's DecodeError
            raise DataLossError(
                f"Checkpoint index {self.index_path} is corrupted: {what} does not parse ({e})."
            ) from None
        return proto

    @staticmethod
    def _entry(proto: Any) -> _Entry:
        slices = tuple(
            tuple((int(e.start), int(e.length) if e.HasField("length") else -1) for e in s.extent) for s in proto.slices
        )
        return _Entry(
            int(proto.dtype), tuple(int(d.size) for d in proto.shape.dim), int(proto.shard_id), int(proto.offset),
            int(proto.size), int(proto.crc32c), slices,
        )  # fmt: skip

    # -- what it holds ---------------------------------------------------------------------------
    def names(self) -> list[str]:
        """The variable names, sorted."""
        return sorted(self._entries)

    def shapes(self) -> dict[str, list[int]]:
        return {name: list(entry.shape) for name, entry in sorted(self._entries.items())}

    def dtype_name(self, name: str) -> str:
        """The variable's dtype as TensorFlow names it ('float32', 'string', ...)."""
        dtype = self._require(name).dtype
        return "string" if dtype == _STRING else _DTYPES[dtype][1]

    def _require(self, name: str) -> _Entry:
        entry = self._entries.get(name)
        if entry is None:
            raise NotFoundError(f"Key {name} not found in checkpoint {self.prefix}.")
        return entry

    # -- values ----------------------------------------------------------------------------------
    def read(self, name: str) -> np.ndarray:
        """The value of variable ``name`` (checksum verified; slices reassembled); strings as an
        object array of bytes."""
        entry = self._require(name)
        if not entry.slices:
            return self._read_entry(name, entry)
        dtype = object if entry.dtype == _STRING else np.dtype(_DTYPES[entry.dtype][0])
        out = np.empty(entry.shape, dtype=dtype)
        covered = 0
        for extents in entry.slices:
            key = slice_key(name, list(extents))
            part = self._slice_entries.get(key)
            if part is None:
                raise DataLossError(f"Checkpoint {self.prefix}: slice {list(extents)} of {name!r} is not in its index.")
            region = tuple(
                slice(start, start + length) if length >= 0 else slice(None)
                for start, length in extents
            )  # fmt: skip
            value = self._read_entry(f"{name} slice {list(extents)}", part)
            if out[region].shape != value.shape:
                raise DataLossError(
                    f"Checkpoint {self.prefix}: slice {list(extents)} of {name!r} holds shape {list(value.shape)}, "
                    f"not the slice's {list(out[region].shape)}."
                )
            out[region] = value
            covered += value.size
        if covered != out.size:
            raise DataLossError(
                f"Checkpoint {self.prefix}: the slices of {name!r} cover {covered} of its {out.size} elements."
            )
        return out

    def _data_path(self, shard: int) -> str:
        return f"{self.prefix}.data-{shard:05d}-of-{self.num_shards:05d}"

    def _bytes(self, name: str, entry: _Entry) -> tuple[str, bytes]:
        path = self._data_path(entry.shard)
        try:
            with open(path, "rb") as f:
                f.seek(entry.offset)
                data = f.read(entry.size)
        except FileNotFoundError:
            raise NotFoundError(
                f"Checkpoint {self.prefix}: data file {path} (holding {name!r}) does not exist."
            ) from None
        if len(data) != entry.size:
            raise DataLossError(
                f"Checkpoint data file {path} is truncated: tensor {name!r} needs bytes {entry.offset}.."
                f"{entry.offset + entry.size}, the file ends at byte {entry.offset + len(data)}."
            )
        return path, data

    def _read_entry(self, name: str, entry: _Entry) -> np.ndarray:
        path, data = self._bytes(name, entry)
        count = int(np.prod(entry.shape, dtype=np.int64))
        if entry.dtype == _STRING:
            value, crc = self._strings(name, path, data, count)
            value = value.reshape(entry.shape)
        else:
            dtype = np.dtype(_DTYPES[entry.dtype][0]).newbyteorder(">" if self._big_endian else "<")
            if len(data) != count * dtype.itemsize:
                raise DataLossError(
                    f"Checkpoint {self.prefix}: tensor {name!r} of shape {list(entry.shape)} needs "
                    f"{count * dtype.itemsize} bytes, its entry holds {len(data)}."
                )
            crc = google_crc32c.value(data)
            value = np.frombuffer(data, dtype=dtype).astype(dtype.newbyteorder("="), copy=True).reshape(entry.shape)
        if crc != unmask_crc(entry.crc32c):
            raise DataLossError(
                f"Checkpoint data file {path} is corrupted: tensor {name!r} fails its CRC32C check (stored "
                f"{unmask_crc(entry.crc32c):#010x}, computed {crc:#010x})."
            )
        return value

    def _strings(self, name: str, path: str, data: bytes, count: int) -> tuple[np.ndarray, int]:
        """A string tensor's elements: varint lengths, the masked CRC32C of the lengths (as
        uint32s), then the bytes; and the CRC32C TensorFlow keeps over all three."""
        what = f"Checkpoint data file {path}, tensor {name!r}"
        pos, lengths = 0, []
        crc = 0
        for _ in range(count):
            length, pos = read_varint(data, pos, what)
            lengths.append(length)
            crc = google_crc32c.extend(crc, struct.pack("<Q" if length > 0xFFFFFFFF else "<I", length))
        if pos + 4 > len(data):
            raise DataLossError(f"{what}: the string lengths run past the tensor's bytes (corrupted).")
        (length_crc,) = struct.unpack_from("<I", data, pos)
        if length_crc != mask_crc(crc):
            raise DataLossError(f"{what} is corrupted: its string lengths fail their CRC32C check.")
        crc = google_crc32c.extend(crc, data[pos : pos + 4])
        pos += 4
        values = np.empty(count, dtype=object)
        for i, length in enumerate(lengths):
            if pos + length > len(data):
                raise DataLossError(f"{what}: string {i} runs past the tensor's bytes (corrupted).")
            values[i] = data[pos : pos + length]
            pos += length
        if pos != len(data):
            raise DataLossError(f"{what}: {len(data) - pos} bytes follow its last string (corrupted).")
        crc = google_crc32c.extend(crc, b"".join(values.tolist()))
        return values, crc
