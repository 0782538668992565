"""Reading an immutable sorted table in the LevelDB format, as TensorFlow writes checkpoint
indexes (``model.ckpt-N.index``).

A table is data blocks of prefix-compressed key/value entries, an index block naming each data
block, and a 48-byte footer. Every block is followed by its compression type and the masked
CRC32C of both, which is verified: a damaged table raises ``DataLossError`` naming the file.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import google_crc32c

from torch_estimator._core.errors import DataLossError

__all__ = ["read_table", "read_varint", "unmask_crc", "mask_crc"]

_MAGIC = 0xDB4775248B80FB57
_FOOTER = 48
_TRAILER = 5
_MASK_DELTA = 0xA282EAD8


def mask_crc(crc: int) -> int:
    """A CRC32C as LevelDB and TensorFlow store it (rotated and offset, so that a CRC of data
    holding CRCs is not degenerate)."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def unmask_crc(masked: int) -> int:
    """The CRC32C that ``mask_crc`` stored as ``masked``."""
    rotated = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rotated >> 17) | (rotated << 15)) & 0xFFFFFFFF


def read_varint(data: bytes, pos: int, what: str) -> tuple[int, int]:
    """``(value, next position)`` of the base-128 varint at ``pos``."""
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise DataLossError(f"{what}: a varint runs past its data (truncated or corrupted).")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _block(data: bytes, offset: int, size: int, path: str) -> bytes:
    """The contents of the block at ``offset`` (checksum verified)."""
    end = offset + size
    if offset < 0 or end + _TRAILER > len(data):
        raise DataLossError(
            f"Checkpoint index {path} is truncated or corrupted: a block at bytes {offset}..{end} runs past the "
            f"file's {len(data)} bytes."
        )
    contents, kind = data[offset:end], data[end]
    (stored,) = struct.unpack_from("<I", data, end + 1)
    actual = google_crc32c.extend(google_crc32c.value(contents), bytes([kind]))
    if unmask_crc(stored) != actual:
        raise DataLossError(
            f"Checkpoint index {path} is corrupted: the block at byte {offset} fails its CRC32C check "
            f"(stored {unmask_crc(stored):#010x}, computed {actual:#010x})."
        )
    if kind != 0:
        raise DataLossError(
            f"Checkpoint index {path}: block at byte {offset} is compressed (type {kind}); TensorFlow writes "
            "checkpoint indexes uncompressed and only those can be read."
        )
    return contents


def _entries(block: bytes, path: str) -> Iterator[tuple[bytes, bytes]]:
    """The ``(key, value)`` entries of a block, keys expanded from their shared prefixes."""
    what = f"Checkpoint index {path}"
    if len(block) < 4:
        raise DataLossError(f"{what} is corrupted: a block of {len(block)} bytes has no restart array.")
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 - 4 * restarts
    if limit < 0:
        raise DataLossError(f"{what} is corrupted: a block claims {restarts} restart points it cannot hold.")
    pos, key = 0, b""
    while pos < limit:
        shared, pos = read_varint(block, pos, what)
        unshared, pos = read_varint(block, pos, what)
        length, pos = read_varint(block, pos, what)
        if shared > len(key) or pos + unshared + length > limit:
            raise DataLossError(f"{what} is corrupted: an entry at byte {pos} runs past its block.")
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        yield key, block[pos : pos + length]
        pos += length


def _handle(data: bytes, pos: int, path: str) -> tuple[int, int, int]:
    what = f"Checkpoint index {path}"
    offset, pos = read_varint(data, pos, what)
    size, pos = read_varint(data, pos, what)
    return offset, size, pos


def read_table(path: str) -> list[tuple[bytes, bytes]]:
    """Every ``(key, value)`` of the table in file ``path``, in key order."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < _FOOTER:
        raise DataLossError(
            f"Checkpoint index {path} is truncated: {len(data)} bytes, shorter than a table's {_FOOTER}-byte footer."
        )
    footer = data[-_FOOTER:]
    (magic,) = struct.unpack_from("<Q", footer, _FOOTER - 8)
    if magic != _MAGIC:
        raise DataLossError(
            f"Checkpoint index {path} is truncated or not a TensorFlow checkpoint index (no table magic number at "
            "its end)."
        )
    _, _, pos = _handle(footer, 0, path)  # the meta-index block (unused by checkpoints)
    index_offset, index_size, _ = _handle(footer, pos, path)
    out: list[tuple[bytes, bytes]] = []
    for _, handle in _entries(_block(data, index_offset, index_size, path), path):
        offset, size, _ = _handle(handle, 0, path)
        out.extend(_entries(_block(data, offset, size, path), path))
    return out
