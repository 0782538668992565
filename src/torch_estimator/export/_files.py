"""The files of an export directory and their integrity.

``saved_model.json`` records the CRC32C of its own content (``crc32c``, over the document without
that field in canonical JSON form) and the size and CRC32C of every other file loading reads
(``files``: ``program.pt2`` and ``assets/``); ``variables/variables.safetensors`` carries a
CRC32C per tensor (``_tensor_file``). Reading verifies all of it, so a damaged export fails to load
with an error naming the file and what is wrong instead of serving wrong numbers:
``NotFoundError`` for a missing file, ``DataLossError`` for a damaged one, ``ValueError`` naming the
field for a ``saved_model.json`` that is valid JSON but not what an export holds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import google_crc32c

from torch_estimator._core.errors import DataLossError, NotFoundError

__all__ = [
    "FORMAT",
    "SAVED_MODEL_FILE",
    "PROGRAM_FILE",
    "VARIABLES_FILE",
    "ASSETS_DIR",
    "write_file",
    "fsync_dir",
    "file_entry",
    "document_checksum",
    "read_document",
    "read_verified",
]

#: Version 2 added the checksums; version 1 exports must be exported again.
FORMAT = "torch_estimator.saved_model/2"
SAVED_MODEL_FILE = "saved_model.json"
PROGRAM_FILE = "program.pt2"
VARIABLES_FILE = os.path.join("variables", "variables.safetensors")
ASSETS_DIR = "assets"
_CHECKSUM_FIELD = "crc32c"
_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    list: "a list",
    dict: "an object",
    type(None): "null",
}


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


def file_entry(data: bytes) -> dict[str, int]:
    """The ``files`` entry of a file's content: its size and CRC32C."""
    return {"size": len(data), "crc32c": int(google_crc32c.value(data))}


def document_checksum(document: Mapping[str, Any]) -> int:
    """CRC32C of the document without its ``crc32c`` field, in canonical JSON (sorted keys, no spaces)."""
    content = {k: v for k, v in document.items() if k != _CHECKSUM_FIELD}
    return int(google_crc32c.value(json.dumps(content, sort_keys=True, separators=(",", ":")).encode("utf-8")))


def read_verified(export_dir: str, name: str, entry: Mapping[str, int], what: str) -> bytes:
    """The content of ``export_dir/name``, checked against its ``files`` entry."""
    path = os.path.join(export_dir, name)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise NotFoundError(
            f"The {what} file {path} does not exist (the export's {SAVED_MODEL_FILE} lists it)."
        ) from None
    if len(data) != entry["size"]:
        raise DataLossError(
            f"The {what} file {path} has {len(data)} bytes but {entry['size']} were written: it is truncated or damaged."
        )
    actual = file_entry(data)["crc32c"]
    if actual != entry["crc32c"]:
        raise DataLossError(
            f"Checksum mismatch in the {what} file {path}: its CRC32C is {actual:#010x} but {entry['crc32c']:#010x} was recorded; the file is corrupted."
        )
    return data


def read_document(export_dir: str) -> dict[str, Any]:
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
            f"The export file {path} is not valid JSON ({e.msg} at line {e.lineno} column {e.colno}, byte {e.pos} of {len(data)}): "
            "the file is truncated or damaged."
        ) from None
    except RecursionError:
        raise DataLossError(
            f"The export file {path} is not valid JSON (nested too deeply): the file is damaged."
        ) from None
    _Fields(path).check(document)
    expected, actual = document[_CHECKSUM_FIELD], document_checksum(document)
    if actual != expected:
        raise DataLossError(
            f"Checksum mismatch in the export file {path}: its content has CRC32C {actual:#010x} but {expected:#010x} was recorded; "
            "the file was modified or is corrupted."
        )
    return document


class _Fields:
    """Checks that a document has the fields loading reads, with their types and references; a
    ValueError names the first field that is missing or wrong."""

    def __init__(self, path: str) -> None:
        self.path = path

    def _fail(self, field: str, problem: str) -> ValueError:
        return ValueError(f'The export file {self.path} is malformed: field "{field}" {problem}.')

    def _get(self, node: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
        field = where + key
        if key not in node:
            raise self._fail(field, "is missing")
        return self._typed(node[key], kind, field)

    def _typed(self, value: Any, kind: type | tuple[type, ...], field: str) -> Any:
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            expected = " or ".join(_TYPE_NAMES[k] for k in kinds)
            shown = json.dumps(value)
            raise self._fail(field, f"must be {expected}; got {shown[:80] + '...' if len(shown) > 80 else shown}")
        return value

    def _entries(
        self, node: Mapping[str, Any], key: str, fields: Mapping[str, type | tuple[type, ...]], where: str = ""
    ) -> dict[str, Any]:
        """``node[key]``: an object whose values are objects with ``fields``."""
        mapping = self._get(node, key, dict, where)
        for name, entry in mapping.items():
            field = f"{where}{key}[{name!r}]"
            self._typed(entry, dict, field)
            for sub, kind in fields.items():
                self._get(entry, sub, kind, field + ".")
        return mapping

    def _references(self, values: Mapping[str, Any], targets: Mapping[str, Any], field: str, target_field: str) -> None:
        for name, target in values.items():
            self._typed(target, str, f"{field}[{name!r}]")
            if target not in targets:
                raise self._fail(
                    f"{field}[{name!r}]", f"names {target!r}, which is not in {target_field} {sorted(targets)}"
                )

    def check(self, document: Any) -> None:
        if not isinstance(document, dict):
            raise ValueError(
                f"The export file {self.path} is malformed: it must hold a JSON object; got {_TYPE_NAMES.get(type(document), type(document).__name__)}."
            )
        version = self._get(document, "format", str, "")
        if version != FORMAT:
            raise ValueError(
                f"The export file {self.path} has format {version!r}; this version of torch_estimator reads {FORMAT!r}. "
                "Export the model again with this version."
            )
        for key, kind in (
            ("tags", list),
            ("torch_version", str),
            ("layers", list),
            ("raw_inputs", dict),
            ("string_tables", dict),
            (_CHECKSUM_FIELD, int),
        ):
            self._get(document, key, kind, "")
        receiver = self._get(document, "receiver", dict, "")
        self._get(receiver, "single_feature", bool, "receiver.")
        tensors = self._entries(receiver, "tensors", {"dtype": str, "shape": (list, type(None))}, "receiver.")
        features = self._entries(receiver, "features", {"receiver": str}, "receiver.")
        self._references(
            {k: f["receiver"] for k, f in features.items()}, tensors, "receiver.features", "receiver.tensors"
        )
        outputs = self._entries(document, "outputs", {"dtype": str, "shape": list})
        signatures = self._entries(document, "signature_defs", {"method_name": str, "inputs": dict, "outputs": dict})
        for name, entry in signatures.items():
            self._references(entry["inputs"], tensors, f"signature_defs[{name!r}].inputs", "receiver.tensors")
            self._references(entry["outputs"], outputs, f"signature_defs[{name!r}].outputs", "outputs")
        samples = self._get(document, "sample_outputs", dict, "")
        for name in samples:
            if name not in outputs:
                raise self._fail(f"sample_outputs[{name!r}]", f"is not an output; the outputs are {sorted(outputs)}")
        self._entries(document, "files", {"size": int, "crc32c": int})
        if PROGRAM_FILE not in document["files"]:
            raise self._fail(f"files[{PROGRAM_FILE!r}]", "is missing")
