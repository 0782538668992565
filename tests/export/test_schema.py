"""The export file format (export/_schema.py): a Document written with to_json reads back equal
with from_json, and a wrong field is named (its path in the document) before the checksum is."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from torch_estimator._core.errors import DataLossError
from torch_estimator._core.parse_spec import FixedLenFeature, VarLenFeature
from torch_estimator.export._schema import (
    FORMAT,
    PROGRAM_FILE,
    Document,
    FileEntry,
    LayerCall,
    ModelRecord,
    Receiver,
    ReceiverFeature,
    SignatureDef,
    SignatureOutputs,
    TensorSpec,
    document_checksum,
)

PATH = "/exports/1/saved_model.json"
RECORD = ModelRecord(
    receiver=Receiver(
        tensors={"examples": TensorSpec("string", (-1,))},
        features={
            "age": ReceiverFeature("examples", "age", FixedLenFeature((1,), "float32", [0.0])),
            "tags": ReceiverFeature("examples", "tags", VarLenFeature("string")),
        },
        single_feature=False,
    ),
    layers=(
        LayerCall(
            {"layer": "DenseFeatures", "name": "dense_features", "columns": []},
            {"0/block": TensorSpec("float32", (1,)), "1/ids": TensorSpec("int64", ())},
        ),
    ),
    raw_inputs={},
    outputs={"logits": TensorSpec("float32", (1,)), "classes": TensorSpec("string", (2,))},
    string_tables={"classes": (b"no", b"yes", b"\xff")},
    sample_outputs={"logits": [[0.5], [0.25], [0.0]]},
    signatures={"predict": SignatureOutputs("PredictOutput", {"logits": "logits", "classes": "classes"})},
)
DOCUMENT = Document(
    RECORD,
    signature_defs={
        "predict": SignatureDef("tensorflow/serving/predict", {"examples": "examples"}, {"logits": "logits"})
    },
    files={PROGRAM_FILE: FileEntry.of(b"program")},
    torch_version="2.13.0",
)


def test_a_document_reads_back_as_written():
    data = DOCUMENT.to_json()
    assert list(data) == [
        "format",
        "tags",
        "torch_version",
        "receiver",
        "layers",
        "host_inputs",
        "raw_inputs",
        "outputs",
        "string_tables",
        "sample_outputs",
        "signatures",
        "signature_defs",
        "files",
        "program",
        "standalone",
        "crc32c",
    ]
    assert data["format"] == FORMAT and data["crc32c"] == document_checksum(data)
    assert data["receiver"]["features"]["age"] == {
        "receiver": "examples",
        "parse_example": "age",
        "spec": {"dtype": "float32", "kind": "fixed", "shape": [1], "default_value": [0.0]},
    }
    assert data["string_tables"]["classes"] == ["no", "yes", "\udcff"]  # bytes kept through surrogates
    assert Document.from_json(copy.deepcopy(data), PATH) == DOCUMENT
    assert FileEntry.of(b"program") == FileEntry(7, FileEntry.of(b"program").crc32c)


def test_a_string_default_value_reads_back_as_an_object_array():
    feature = ReceiverFeature("examples", "name", FixedLenFeature((1,), "string", b"unknown"))
    data = feature.to_json()
    assert data["spec"]["default_value"] == "unknown"
    document = Document(
        ModelRecord(
            **{**vars(RECORD), "receiver": Receiver({"examples": TensorSpec("string", (-1,))}, {"n": feature}, False)}
        ),
        DOCUMENT.signature_defs,
        DOCUMENT.files,
    )
    read = Document.from_json(document.to_json(), PATH).model.receiver.features["n"].spec
    assert isinstance(read.default_value, np.ndarray) and read.default_value.dtype == object
    assert read.default_value.tolist() == "unknown"


def _edit(change) -> dict:
    data = copy.deepcopy(DOCUMENT.to_json())
    change(data)
    data["crc32c"] = document_checksum(data)
    return data


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("host_inputs"), 'field "host_inputs" is missing'),
        (lambda d: d["host_inputs"].append({}), 'field "host_inputs" must have one entry per layer (1); got 2'),
        (lambda d: d["layers"].__setitem__(0, []), 'field "layers[0]" must be an object; got []'),
        (
            lambda d: d["receiver"]["features"]["age"]["spec"].update(kind="sparse"),
            "field \"receiver.features['age'].spec.kind\" must be 'fixed' or 'var'; got 'sparse'",
        ),
        (
            lambda d: d["receiver"]["features"]["age"].update(receiver="images"),
            "field \"receiver.features['age'].receiver\" names 'images', which is not in receiver.tensors ['examples']",
        ),
        (
            lambda d: d["receiver"]["tensors"]["examples"].update(shape=[-1, "2"]),
            'field "receiver.tensors[\'examples\'].shape[1]" must be an integer; got "2"',
        ),
        (
            lambda d: d["outputs"]["logits"].update(shape=None),
            "field \"outputs['logits'].shape\" must be a list; got null",
        ),
        (
            lambda d: d["string_tables"].update(scores=["a"]),
            "field \"string_tables['scores']\" is not an output; the outputs are ['classes', 'logits']",
        ),
        (
            lambda d: d["string_tables"]["classes"].append(3),
            "field \"string_tables['classes'][3]\" must be a string; got 3",
        ),
        (
            lambda d: d["sample_outputs"].update(probabilities=[]),
            "field \"sample_outputs['probabilities']\" is not an output",
        ),
        (
            lambda d: d["signatures"]["predict"]["outputs"].update(x="y"),
            "field \"signatures['predict'].outputs['x']\" names 'y', which is not in outputs",
        ),
        (
            lambda d: d["signature_defs"]["predict"]["inputs"].update(examples="images"),
            "field \"signature_defs['predict'].inputs['examples']\" names 'images', which is not in receiver.tensors",
        ),
        (lambda d: d["files"].pop(PROGRAM_FILE), "field \"files['program.onnx']\" is missing"),
        (
            lambda d: d["files"][PROGRAM_FILE].update(size=True),
            "field \"files['program.onnx'].size\" must be an integer",
        ),
        (lambda d: d.update(tags="serve"), 'field "tags" must be a list; got "serve"'),
    ],
)
def test_a_wrong_field_is_named(change, message):
    with pytest.raises(ValueError) as error:
        Document.from_json(_edit(change), PATH)
    assert str(error.value).startswith(f"The export file {PATH} is malformed: ")
    assert message in str(error.value)


def test_fields_are_checked_before_the_checksum_and_the_checksum_last():
    data = DOCUMENT.to_json()
    data["outputs"]["logits"]["dtype"] = 1  # wrong, and the checksum no longer matches: the field is named
    with pytest.raises(ValueError, match="outputs\\['logits'\\].dtype\" must be a string; got 1"):
        Document.from_json(data, PATH)
    data = DOCUMENT.to_json()
    data["sample_outputs"]["logits"][0][0] = 0.75  # valid, but not what was written
    with pytest.raises(DataLossError, match=f"Checksum mismatch in the export file {PATH}: .*modified or is corrupted"):
        Document.from_json(data, PATH)


def test_a_document_of_another_format_or_kind():
    with pytest.raises(ValueError, match='field "crc32c" must be an integer; got "1"'):
        Document.from_json({**DOCUMENT.to_json(), "crc32c": "1"}, PATH)
    with pytest.raises(ValueError, match="must hold a JSON object; got a list"):
        Document.from_json([], PATH)
    with pytest.raises(ValueError, match="has format 'torch_estimator.saved_model/1'; .*Export the model again"):
        Document.from_json({**DOCUMENT.to_json(), "format": "torch_estimator.saved_model/1"}, PATH)


def test_a_document_written_before_standalone_models_reads_with_none():
    data = DOCUMENT.to_json()
    del data["standalone"]
    data["crc32c"] = document_checksum(data)
    assert Document.from_json(data, PATH).standalone == {"file": None, "blocked_by": []}
