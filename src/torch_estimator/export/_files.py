"""Writing the files of an export directory durably, and reading them verified.

``saved_model.json`` (its format in ``_schema``) records the CRC32C of its own content and the
size and CRC32C of every other file loading reads (``program.pt2`` and ``assets/``);
``variables/variables.safetensors`` carries a CRC32C per tensor (``_tensor_file``). Reading
verifies all of it, so a damaged export fails to load with an error naming the file and what is
wrong: ``NotFoundError`` for a missing file, ``DataLossError`` for a damaged one, ``ValueError``
naming the field for a ``saved_model.json`` that is valid JSON but not what an export holds.
"""

from __future__ import annotations

import json
import os

from torch_estimator._core.errors import DataLossError, NotFoundError
from torch_estimator.export._schema import SAVED_MODEL_FILE, Document, FileEntry

__all__ = ["write_file", "fsync_dir", "read_document", "read_verified"]


def write_file(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` and flushes it to disk."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def fsync_dir(path: str) -> None:
    """Flushes a directory's entries (new names, renames) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_verified(export_dir: str, name: str, entry: FileEntry, what: str) -> bytes:
    """The content of ``export_dir/name``, checked against its ``files`` entry."""
    path = os.path.join(export_dir, name)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise NotFoundError(
            f"The {what} file {path} does not exist (the export's {SAVED_MODEL_FILE} lists it)."
        ) from None
    if len(data) != entry.size:
        raise DataLossError(
            f"The {what} file {path} has {len(data)} bytes but {entry.size} were written: it is truncated or damaged."
        )
    actual = FileEntry.of(data).crc32c
    if actual != entry.crc32c:
        raise DataLossError(
            f"Checksum mismatch in the {what} file {path}: its CRC32C is {actual:#010x} but {entry.crc32c:#010x} "
            "was recorded; the file is corrupted."
        )
    return data


def read_document(export_dir: str) -> Document:
    """``export_dir/saved_model.json``, its fields checked and its checksum verified."""
    path = os.path.join(export_dir, SAVED_MODEL_FILE)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except (FileNotFoundError, NotADirectoryError):
        raise NotFoundError(
            f"The export file {path} does not exist: {export_dir} is not an export directory."
        ) from None
    except IsADirectoryError:
        raise DataLossError(f"The export file {path} is a directory, not a file.") from None
    if not data.strip():
        raise DataLossError(f"The export file {path} is empty: the export is damaged.")
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise DataLossError(
            f"The export file {path} is not UTF-8 text (byte {e.start} is {data[e.start]:#04x}): the file is damaged."
        ) from None
    except json.JSONDecodeError as e:
        raise DataLossError(
            f"The export file {path} is not valid JSON ({e.msg} at line {e.lineno} column {e.colno}, byte {e.pos} "
            f"of {len(data)}): the file is truncated or damaged."
        ) from None
    except RecursionError:
        raise DataLossError(
            f"The export file {path} is not valid JSON (nested too deeply): the file is damaged."
        ) from None
    return Document.from_json(document, path)
