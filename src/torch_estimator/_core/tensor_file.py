"""Tensor files (checkpoints, export variables): safetensors with a CRC32C per tensor.

``serialize`` stores each tensor's CRC32C (as TensorFlow's checkpoints do) in the file's
metadata; ``read`` / ``read_tensor`` verify them. Tensors read are copies, never mapped from the
file (a file rewritten in place would otherwise crash the reader with SIGBUS). Every failure to
read names the file and what is wrong: ``NotFoundError`` for a missing file or tensor,
``DataLossError`` for a damaged one (truncated, not a safetensors file, checksums missing or not
matching). Nothing is unpickled.
"""

from __future__ import annotations

import json

import google_crc32c
import torch
from safetensors import safe_open
from safetensors.torch import save

from torch_estimator._core.errors import DataLossError, NotFoundError

__all__ = ["serialize", "read", "read_tensor", "read_specs", "read_shapes", "crc32c", "CHECKSUMS_KEY"]

#: Metadata key of the ``{tensor name: crc32c}`` JSON object.
CHECKSUMS_KEY = "torch_estimator.crc32c"


def crc32c(tensor: torch.Tensor) -> int:
    """CRC32C of a tensor's bytes as stored (contiguous, little-endian, C order)."""
    data = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy()
    data.setflags(write=False)
    return int(google_crc32c.value(data if data.size else b""))


def serialize(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> bytes:
    """The safetensors bytes of ``tensors`` with ``metadata`` and their checksums."""
    contiguous = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    checksums = {k: crc32c(v) for k, v in contiguous.items()}
    return save(contiguous, metadata={**metadata, CHECKSUMS_KEY: json.dumps(checksums, sort_keys=True)})


def _open(path: str, what: str) -> safe_open:
    try:
        return safe_open(path, framework="pt")
    except FileNotFoundError:
        raise NotFoundError(f"The {what} file {path} does not exist.") from None
    except Exception as e:  # safetensors reports damage as SafetensorError, OSError or ValueError
        raise DataLossError(
            f"Unable to read the {what} file {path}: {e} (the file is truncated or is not a safetensors file)."
        ) from None


def _checksums(path: str, what: str, metadata: dict[str, str], names: list[str]) -> dict[str, int]:
    text = metadata.get(CHECKSUMS_KEY)
    if text is None:
        raise DataLossError(
            f"The {what} file {path} has no checksums ({CHECKSUMS_KEY!r} metadata): it was not written by "
            "torch_estimator or is damaged."
        )
    try:
        checksums = json.loads(text)
        if not isinstance(checksums, dict) or not all(isinstance(v, int) for v in checksums.values()):
            raise ValueError("not an object of integers")
    except ValueError as e:
        raise DataLossError(
            f"The checksums of the {what} file {path} are unreadable ({e}): the file is damaged."
        ) from None
    if set(checksums) != set(names):
        missing, extra = sorted(set(names) - set(checksums)), sorted(set(checksums) - set(names))
        raise DataLossError(
            f"The {what} file {path} is damaged: its tensors and checksums disagree (tensors without a checksum: "
            f"{missing}; checksums without a tensor: {extra})."
        )
    return checksums


def _verify(path: str, what: str, name: str, tensor: torch.Tensor, expected: int) -> None:
    actual = crc32c(tensor)
    if actual != expected:
        raise DataLossError(
            f"Checksum mismatch in the {what} file {path}: tensor {name!r} has CRC32C {actual:#010x} but "
            f"{expected:#010x} was stored; the file is corrupted."
        )


def read(path: str, what: str = "checkpoint") -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """All tensors of ``path`` (each verified against its checksum) and the file's metadata."""
    with _open(path, what) as f:
        try:
            metadata = dict(f.metadata() or {})
            names = list(f.keys())
            checksums = _checksums(path, what, metadata, names)
            # Copies, not file-mapped: safe if the file is rewritten.
            tensors = {name: f.get_tensor(name).clone() for name in names}
        except DataLossError:
            raise
        except Exception as e:
            raise DataLossError(f"Unable to read the {what} file {path}: {e}.") from None
    for name, tensor in tensors.items():
        _verify(path, what, name, tensor, checksums[name])
    metadata.pop(CHECKSUMS_KEY)
    return tensors, metadata


def read_tensor(path: str, name: str, what: str = "checkpoint") -> torch.Tensor:
    """The tensor ``name`` of ``path``, verified against its checksum."""
    with _open(path, what) as f:
        names = list(f.keys())
        if name not in names:
            raise NotFoundError(f"Key {name} not found in the {what} file {path}.")
        checksums = _checksums(path, what, dict(f.metadata() or {}), names)
        try:
            tensor = f.get_tensor(name).clone()
        except Exception as e:
            raise DataLossError(f"Unable to read tensor {name!r} of the {what} file {path}: {e}.") from None
    _verify(path, what, name, tensor, checksums[name])
    return tensor


#: safetensors' dtype codes, by the names torch (and TensorFlow) give them.
_DTYPE_NAMES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64", "I32": "int32",
    "I16": "int16", "I8": "int8", "U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8", "BOOL": "bool",
}  # fmt: skip


def read_specs(path: str, what: str = "checkpoint") -> dict[str, tuple[str, list[int]]]:
    """``{name: (dtype, shape)}`` from the file's header (tensor data is not read)."""
    with _open(path, what) as f:
        names = list(f.keys())
        _checksums(path, what, dict(f.metadata() or {}), names)
        specs = {name: f.get_slice(name) for name in names}
        return {
            name: (_DTYPE_NAMES.get(s.get_dtype(), s.get_dtype().lower()), list(s.get_shape()))
            for name, s in specs.items()
        }


def read_shapes(path: str, what: str = "checkpoint") -> dict[str, list[int]]:
    """``{name: shape}`` from the file's header (tensor data is not read)."""
    return {name: shape for name, (_, shape) in read_specs(path, what).items()}
