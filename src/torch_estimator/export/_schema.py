"""The export file format: ``saved_model.json`` as dataclasses, with ``to_json`` / ``from_json``.

Layout of ``saved_model.json`` (JSON object, in this order)::

    format          "torch_estimator.saved_model/3"
    tags            ["serve"]
    torch_version   the torch that wrote the program
    receiver        {tensors: {name: TensorSpec}, features: {key: ReceiverFeature}, single_feature}
    layers          [feature-column layer configuration], one per layer call  (LayerCall.config)
    host_inputs     [{"<part>/<field>": TensorSpec}], one per layer call       (LayerCall.inputs)
    raw_inputs      {feature: TensorSpec}: numeric features the program takes as they are
    outputs         {program output: TensorSpec}
    string_tables   {program output: [string]}: outputs that are ids into a table of strings
    sample_outputs  {program output: nested lists}: float outputs of the sample batch
    signatures      {name: {output: ExportOutput class, outputs: {key: program output}}}
    signature_defs  {name: {method_name, inputs: {key: receiver tensor}, outputs: {key: program output}}}
    files           {path: {size, crc32c}}: every file but this one and the variables (CRC32C per tensor)
    program         {file, inputs, outputs}: program.onnx's input and output names, dtypes and shapes
    standalone      {file, inputs, outputs}: standalone.onnx's (raw features in), or
                    {file: null, blocked_by: [reason]}: the columns that have no ONNX form
    crc32c          CRC32C of this document without the field, as canonical JSON (sorted keys, no spaces)

A ``TensorSpec`` is ``{dtype, shape}``: receiver tensors have their full shape (-1 for an unknown
dimension, null for an unknown rank); the others the shape of one example (no batch dimension).

``Document.from_json`` checks every field loading reads and the references between them, and
raises a ValueError naming the first field that is missing or wrong, then checks ``crc32c``
(``DataLossError``), so a damaged export fails to load with an error instead of serving wrong numbers.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from typing import Any

import google_crc32c
import numpy as np
import torch

from torch_estimator._core.errors import DataLossError
from torch_estimator._core.parse_spec import FixedLenFeature, VarLenFeature

__all__ = [
    "FORMAT",
    "SAVED_MODEL_FILE",
    "PROGRAM_FILE",
    "STANDALONE_FILE",
    "VARIABLES_FILE",
    "ASSETS_DIR",
    "TensorSpec",
    "ReceiverFeature",
    "Receiver",
    "LayerCall",
    "SignatureOutputs",
    "SignatureDef",
    "FileEntry",
    "ModelRecord",
    "Document",
    "document_checksum",
]

#: Version 2 added the checksums; version 3 holds the program as ONNX (``program.onnx``) instead of
#: a ``torch.export`` archive, whose loading could run code. Earlier exports must be exported again.
FORMAT = "torch_estimator.saved_model/3"
SAVED_MODEL_FILE = "saved_model.json"
PROGRAM_FILE = "program.onnx"
STANDALONE_FILE = "standalone.onnx"
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


class _Node:
    """A JSON value at a field of the document, read with checks that name the field."""

    def __init__(self, value: Any, field: str, path: str) -> None:
        self.value = value
        self.field = field
        self.path = path

    def fail(self, problem: str) -> ValueError:
        return ValueError(f'The export file {self.path} is malformed: field "{self.field}" {problem}.')

    def of(self, *kinds: type) -> Any:
        """The value, if it is one of ``kinds`` (a boolean is not an integer)."""
        value = self.value
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            shown = json.dumps(value)
            shown = shown[:80] + "..." if len(shown) > 80 else shown
            raise self.fail(f"must be {' or '.join(_TYPE_NAMES[k] for k in kinds)}; got {shown}")
        return value

    def __getitem__(self, key: str) -> _Node:
        """The field ``key`` of this object."""
        node = self.of(dict)
        field = f"{self.field}.{key}" if self.field else key
        if key not in node:
            raise _Node(None, field, self.path).fail("is missing")
        return _Node(node[key], field, self.path)

    def get(self, key: str) -> _Node | None:
        """The field ``key`` of this object, or None when it has none."""
        return self[key] if key in self.of(dict) else None

    def entries(self) -> dict[str, _Node]:
        """The values of this object, by key."""
        return {k: _Node(v, f"{self.field}[{k!r}]", self.path) for k, v in self.of(dict).items()}

    def elements(self) -> list[_Node]:
        """The elements of this list."""
        return [_Node(v, f"{self.field}[{i}]", self.path) for i, v in enumerate(self.of(list))]

    def names(self, targets: Mapping[str, Any], target_field: str) -> str:
        """This string, if it names one of ``targets`` (the field ``target_field``)."""
        name = self.of(str)
        if name not in targets:
            raise self.fail(f"names {name!r}, which is not in {target_field} {sorted(targets)}")
        return name

    def shape(self, nullable: bool = False) -> tuple[int, ...] | None:
        """A list of dimensions (or null when ``nullable``)."""
        value = self.of(list, type(None)) if nullable else self.of(list)
        return None if value is None else tuple(e.of(int) for e in self.elements())


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """A tensor's dtype ('float32', 'int64', 'string', ...) and shape (see the module docstring)."""

    dtype: str
    shape: tuple[int, ...] | None

    @classmethod
    def of_example(cls, tensor: torch.Tensor, dtype: str | None = None) -> TensorSpec:
        """One example of a batch ``tensor``: its dtype (or ``dtype``) and shape without the batch."""
        return cls(dtype or str(tensor.dtype).replace("torch.", ""), tuple(tensor.shape[1:]))

    def to_json(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "shape": None if self.shape is None else list(self.shape)}

    @classmethod
    def _read(cls, node: _Node, nullable_shape: bool = False) -> TensorSpec:
        return cls(node["dtype"].of(str), node["shape"].shape(nullable_shape))


def _specs(node: _Node, nullable_shape: bool = False) -> dict[str, TensorSpec]:
    return {k: TensorSpec._read(v, nullable_shape) for k, v in node.entries().items()}


def _specs_json(specs: Mapping[str, TensorSpec]) -> dict[str, Any]:
    return {k: v.to_json() for k, v in specs.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.decode("utf-8") if isinstance(value, bytes) else value


@dataclasses.dataclass(frozen=True)
class ReceiverFeature:
    """A feature of the model: receiver tensor ``receiver`` itself, or its ``tf.Example`` protos'
    feature ``parse_example`` parsed with ``spec``."""

    receiver: str
    parse_example: str | None = None
    spec: FixedLenFeature | VarLenFeature | None = None

    def to_json(self) -> dict[str, Any]:
        if self.spec is None:
            return {"receiver": self.receiver}
        spec: dict[str, Any] = {"dtype": self.spec.dtype}
        if isinstance(self.spec, FixedLenFeature):
            default = self.spec.default_value
            default = None if default is None else _jsonable(np.asarray(default).tolist())
            spec.update(kind="fixed", shape=list(self.spec.shape), default_value=default)
        else:
            spec["kind"] = "var"
        return {"receiver": self.receiver, "parse_example": self.parse_example, "spec": spec}

    @classmethod
    def _read(cls, node: _Node, tensors: Mapping[str, TensorSpec]) -> ReceiverFeature:
        receiver = node["receiver"].names(tensors, "receiver.tensors")
        key = node.get("parse_example")
        if key is None:
            return cls(receiver)
        spec_node = node["spec"]
        dtype = spec_node["dtype"].of(str)
        kind = spec_node["kind"].of(str)
        if kind == "var":
            return cls(receiver, key.of(str), VarLenFeature(dtype))
        if kind != "fixed":
            raise spec_node["kind"].fail(f"must be 'fixed' or 'var'; got {kind!r}")
        default = spec_node["default_value"].value
        if default is not None and dtype == "string":
            default = np.asarray(default, dtype=object)
        return cls(receiver, key.of(str), FixedLenFeature(spec_node["shape"].shape(), dtype, default))


@dataclasses.dataclass(frozen=True)
class Receiver:
    """The serving input receiver as data: the tensors a request provides and the features made
    from them (``single_feature``: the model_fn takes the one feature itself, not a dict)."""

    tensors: Mapping[str, TensorSpec]
    features: Mapping[str, ReceiverFeature]
    single_feature: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "tensors": _specs_json(self.tensors),
            "features": {k: v.to_json() for k, v in self.features.items()},
            "single_feature": self.single_feature,
        }

    @classmethod
    def _read(cls, node: _Node) -> Receiver:
        single = node["single_feature"].of(bool)
        tensors = _specs(node["tensors"], nullable_shape=True)
        features = {k: ReceiverFeature._read(v, tensors) for k, v in node["features"].entries().items()}
        return cls(tensors, features, single)


@dataclasses.dataclass(frozen=True)
class LayerCall:
    """One feature-column layer call: the layer's configuration (its ``export_config``) and the
    host inputs the program takes for it."""

    config: Mapping[str, Any]
    inputs: Mapping[str, TensorSpec]


@dataclasses.dataclass(frozen=True)
class SignatureOutputs:
    """A signature as the model_fn exported it: its ``ExportOutput`` class and program outputs."""

    kind: str
    outputs: Mapping[str, str]

    def to_json(self) -> dict[str, Any]:
        return {"output": self.kind, "outputs": dict(self.outputs)}

    @classmethod
    def _read(cls, node: _Node, outputs: Mapping[str, TensorSpec]) -> SignatureOutputs:
        return cls(node["output"].of(str), _references(node["outputs"], outputs, "outputs"))


@dataclasses.dataclass(frozen=True)
class SignatureDef:
    """A servable signature: TF Serving's method, its inputs (receiver tensors) and outputs."""

    method_name: str
    inputs: Mapping[str, str]
    outputs: Mapping[str, str]

    def to_json(self) -> dict[str, Any]:
        return {"method_name": self.method_name, "inputs": dict(self.inputs), "outputs": dict(self.outputs)}

    @classmethod
    def _read(cls, node: _Node, tensors: Mapping[str, TensorSpec], outputs: Mapping[str, TensorSpec]) -> SignatureDef:
        return cls(
            node["method_name"].of(str),
            _references(node["inputs"], tensors, "receiver.tensors"),
            _references(node["outputs"], outputs, "outputs"),
        )


def _references(node: _Node, targets: Mapping[str, Any], target_field: str) -> dict[str, str]:
    return {k: v.names(targets, target_field) for k, v in node.entries().items()}


@dataclasses.dataclass(frozen=True)
class FileEntry:
    """A file's size and CRC32C, as ``files`` records them."""

    size: int
    crc32c: int

    @classmethod
    def of(cls, data: bytes) -> FileEntry:
        """The entry of a file's content."""
        return cls(len(data), int(google_crc32c.value(data)))

    def to_json(self) -> dict[str, int]:
        return {"size": self.size, "crc32c": self.crc32c}

    @classmethod
    def _read(cls, node: _Node) -> FileEntry:
        return cls(node["size"].of(int), node["crc32c"].of(int))


@dataclasses.dataclass(frozen=True)
class ModelRecord:
    """What tracing the model recorded: the receiver, the layer calls (the host half as data),
    the program's raw inputs and outputs, string tables, the sample batch's float outputs, and
    the signatures the model_fn exports."""

    receiver: Receiver
    layers: tuple[LayerCall, ...]
    raw_inputs: Mapping[str, TensorSpec]
    outputs: Mapping[str, TensorSpec]
    string_tables: Mapping[str, tuple[bytes, ...]]
    sample_outputs: Mapping[str, list[Any]]
    signatures: Mapping[str, SignatureOutputs]

    def to_json(self) -> dict[str, Any]:
        return {
            "receiver": self.receiver.to_json(),
            "layers": [dict(layer.config) for layer in self.layers],
            "host_inputs": [_specs_json(layer.inputs) for layer in self.layers],
            "raw_inputs": _specs_json(self.raw_inputs),
            "outputs": _specs_json(self.outputs),
            "string_tables": {
                k: [s.decode("utf-8", "surrogateescape") for s in v] for k, v in self.string_tables.items()
            },
            "sample_outputs": dict(self.sample_outputs),
            "signatures": {k: v.to_json() for k, v in self.signatures.items()},
        }

    @classmethod
    def _read(cls, node: _Node) -> ModelRecord:
        configs = [element.of(dict) for element in node["layers"].elements()]
        host_inputs = node["host_inputs"]
        inputs = [_specs(element) for element in host_inputs.elements()]
        if len(inputs) != len(configs):
            raise host_inputs.fail(f"must have one entry per layer ({len(configs)}); got {len(inputs)}")
        outputs = _specs(node["outputs"])
        tables = {
            _output_name(k, v, outputs): tuple(e.of(str).encode("utf-8", "surrogateescape") for e in v.elements())
            for k, v in node["string_tables"].entries().items()
        }
        samples = node["sample_outputs"].entries()
        for name, sample in samples.items():
            _output_name(name, sample, outputs)
            sample.of(list)
        signatures = {k: SignatureOutputs._read(v, outputs) for k, v in node["signatures"].entries().items()}
        return cls(
            Receiver._read(node["receiver"]),
            tuple(LayerCall(c, i) for c, i in zip(configs, inputs)),
            _specs(node["raw_inputs"]),
            outputs,
            tables,
            {k: v.value for k, v in samples.items()},
            signatures,
        )


def _output_name(name: str, node: _Node, outputs: Mapping[str, TensorSpec]) -> str:
    """``name``, the key of ``node``, if it is one of the program's outputs."""
    if name not in outputs:
        raise node.fail(f"is not an output; the outputs are {sorted(outputs)}")
    return name


def document_checksum(document: Mapping[str, Any]) -> int:
    """CRC32C of a JSON document without its ``crc32c`` field, in canonical JSON (sorted keys, no spaces)."""
    content = {k: v for k, v in document.items() if k != _CHECKSUM_FIELD}
    return int(google_crc32c.value(json.dumps(content, sort_keys=True, separators=(",", ":")).encode("utf-8")))


@dataclasses.dataclass(frozen=True)
class Document:
    """``saved_model.json``: the model record, the servable signatures and the files' checksums."""

    model: ModelRecord
    signature_defs: Mapping[str, SignatureDef]
    files: Mapping[str, FileEntry]
    tags: tuple[str, ...] = ("serve",)
    torch_version: str = torch.__version__
    #: The ONNX program's ``inputs`` and ``outputs``: ``{name, dtype, shape}`` each (for other runtimes).
    program: Mapping[str, Any] = dataclasses.field(default_factory=lambda: {"inputs": [], "outputs": []})
    #: The standalone model: ``{file, inputs, outputs}``, or ``{file: null, blocked_by: [reason]}``.
    standalone: Mapping[str, Any] = dataclasses.field(default_factory=lambda: {"file": None, "blocked_by": []})

    def to_json(self) -> dict[str, Any]:
        """The document as JSON data, its ``crc32c`` included."""
        document = {
            "format": FORMAT,
            "tags": list(self.tags),
            "torch_version": self.torch_version,
            **self.model.to_json(),
            "signature_defs": {k: v.to_json() for k, v in self.signature_defs.items()},
            "files": {k: v.to_json() for k, v in self.files.items()},
            "program": {"file": PROGRAM_FILE, **self.program},
            "standalone": dict(self.standalone),
        }
        document[_CHECKSUM_FIELD] = document_checksum(document)
        return document

    @classmethod
    def from_json(cls, data: Any, path: str) -> Document:
        """The document in JSON ``data`` read from ``path``: a ValueError names a missing or wrong
        field, a DataLossError a checksum that does not match."""
        if not isinstance(data, dict):
            kind = _TYPE_NAMES.get(type(data), type(data).__name__)
            raise ValueError(f"The export file {path} is malformed: it must hold a JSON object; got {kind}.")
        node = _Node(data, "", path)
        version = node["format"].of(str)
        if version != FORMAT:
            older = (
                " Its program is a torch.export archive (program.pt2), which is not loaded: loading one can run "
                "code it contains."
                if version == "torch_estimator.saved_model/2"
                else ""
            )
            raise ValueError(
                f"The export file {path} has format {version!r}; this version of torch_estimator reads {FORMAT!r}."
                f"{older} Export the model again with this version (Estimator.export_saved_model)."
            )
        expected = node[_CHECKSUM_FIELD].of(int)
        model = ModelRecord._read(node)
        signature_defs = {
            k: SignatureDef._read(v, model.receiver.tensors, model.outputs)
            for k, v in node["signature_defs"].entries().items()
        }
        files = {k: FileEntry._read(v) for k, v in node["files"].entries().items()}
        if PROGRAM_FILE not in files:
            raise _Node(None, f"files[{PROGRAM_FILE!r}]", path).fail("is missing")
        tags = tuple(e.of(str) for e in node["tags"].elements())
        torch_version = node["torch_version"].of(str)
        program = node["program"]
        io = {key: [e.of(dict) for e in program[key].elements()] for key in ("inputs", "outputs")}
        entry = node.get("standalone")  # absent in the first exports of this format
        standalone = entry.of(dict) if entry is not None else {"file": None, "blocked_by": []}
        actual = document_checksum(data)
        if actual != expected:
            raise DataLossError(
                f"Checksum mismatch in the export file {path}: its content has CRC32C {actual:#010x} but "
                f"{expected:#010x} was recorded; the file was modified or is corrupted."
            )
        return cls(model, signature_defs, files, tags, torch_version, io, standalone)
