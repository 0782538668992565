"""Loading an export runs nothing it holds: hostile files (pickles, code strings, an ONNX program
reaching for other files or custom operators, an oversized header, the old torch.export format)
are refused with a clear error or ignored, and no code of theirs runs."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

import torch_estimator as te
from torch_estimator._core.errors import DataLossError
from torch_estimator.export._schema import FileEntry, document_checksum

fc = te.feature_column


class _Trap:
    """Unpickling this creates ``path``: proof that a pickle was opened."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: Any) -> str:
    base = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    features = {"x": rng.normal(size=64).astype(np.float32), "color": rng.choice(["a", "b", "c"], 64)}
    columns = [
        fc.numeric_column("x"),
        fc.embedding_column(fc.categorical_column_with_vocabulary_list("color", ["a", "b"]), 2),
    ]
    est = te.DNNRegressor([4], columns, model_dir=str(base / "model"))
    est.train(te.inputs.numpy_input_fn(features, features["x"] * 2, batch_size=16, shuffle=False), steps=3)
    spec = fc.make_parse_example_spec(columns)
    return est.export_saved_model(
        str(base / "export"), te.export.build_parsing_serving_input_receiver_fn(spec)
    ).decode()


def _copy(export_dir: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(export_dir, tmp_path / "1"))


def _rewrite(export: Path, name: str, data: bytes) -> None:
    """Replaces the export's file ``name`` and records it in saved_model.json as the writer would
    (an attacker with write access can do as much)."""
    (export / name).write_bytes(data)
    document_path = export / "saved_model.json"
    document = json.loads(document_path.read_text())
    if name in document["files"]:
        document["files"][name] = FileEntry.of(data).to_json()
    document["crc32c"] = document_checksum(document)
    document_path.write_text(json.dumps(document))


def _edit_document(export: Path, edit: Any) -> None:
    document_path = export / "saved_model.json"
    document = json.loads(document_path.read_text())
    edit(document)
    document["crc32c"] = document_checksum(document)
    document_path.write_text(json.dumps(document))


def test_pickles_and_extra_files_in_an_export_are_never_opened(export_dir: str, tmp_path: Path) -> None:
    export = _copy(export_dir, tmp_path)
    trap = tmp_path / "unpickled"
    payload = pickle.dumps(_Trap(str(trap)))
    for name in ["program.pt2", "data/sample_inputs/model.pt", "variables/extra.pkl", "assets/model.pkl"]:
        (export / name).parent.mkdir(parents=True, exist_ok=True)
        (export / name).write_bytes(payload)
    model = te.saved_model.load(str(export))
    assert "predict" in model.signatures
    assert not trap.exists()


def test_code_in_the_documents_strings_is_data(export_dir: str, tmp_path: Path) -> None:
    export = _copy(export_dir, tmp_path)
    trap = tmp_path / "evaluated"
    code = f"__import__('os').system('touch {trap}')"

    def edit(document: dict[str, Any]) -> None:
        document["torch_version"] = code
        document["tags"] = [code]
        document["program"]["inputs"][0]["shape"] = [code]  # documentation for other runtimes only

    _edit_document(export, edit)
    te.saved_model.load(str(export))
    _edit_document(export, lambda d: d["receiver"]["tensors"]["examples"].update(dtype=code))
    with pytest.raises(ValueError):
        te.saved_model.load(str(export))
    assert not trap.exists()


def _program(export: Path) -> onnx.ModelProto:
    return onnx.load_from_string((export / "program.onnx").read_bytes())


def test_an_onnx_program_reading_other_files_is_refused(export_dir: str, tmp_path: Path) -> None:
    export = _copy(export_dir, tmp_path)
    model = _program(export)
    secret = tmp_path / "secret.bin"
    secret.write_bytes(struct.pack("<f", 1.0))
    tensor = onnx.TensorProto(name="stolen", data_type=onnx.TensorProto.FLOAT, dims=[1])
    tensor.data_location = onnx.TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value=str(secret))
    model.graph.initializer.append(tensor)
    _rewrite(export, "program.onnx", model.SerializeToString())
    with pytest.raises(ValueError, match=r"program\.onnx is refused: graph: tensor 'stolen' refers to external data"):
        te.saved_model.load(str(export))


def test_an_onnx_program_with_custom_operators_is_refused(export_dir: str, tmp_path: Path) -> None:
    export = _copy(export_dir, tmp_path)
    model = _program(export)
    model.graph.node.append(onnx.helper.make_node("Run", [], ["side_effect"], domain="evil.ops"))
    model.opset_import.append(onnx.helper.make_opsetid("evil.ops", 1))
    _rewrite(export, "program.onnx", model.SerializeToString())
    with pytest.raises(ValueError, match=r"operator evil\.ops::Run is not a standard onnxruntime one"):
        te.saved_model.load(str(export))


def test_a_program_that_is_not_onnx_is_refused_by_name(export_dir: str, tmp_path: Path) -> None:
    export = _copy(export_dir, tmp_path)
    _rewrite(export, "program.onnx", pickle.dumps(_Trap(str(tmp_path / "unpickled"))))
    with pytest.raises(ValueError, match=r"program\.onnx"):
        te.saved_model.load(str(export))
    assert not (tmp_path / "unpickled").exists()


def test_an_oversized_variables_header_is_data_loss(export_dir: str, tmp_path: Path) -> None:
    export = _copy(export_dir, tmp_path)
    name = os.path.join("variables", "variables.safetensors")
    _rewrite(export, name, struct.pack("<Q", 2**62) + b"{}")
    with pytest.raises(DataLossError, match=r"variables\.safetensors"):
        te.saved_model.load(str(export))


def test_an_export_of_the_torch_export_format_must_be_exported_again(export_dir: str, tmp_path: Path) -> None:
    export = _copy(export_dir, tmp_path)
    trap = tmp_path / "unpickled"
    (export / "program.pt2").write_bytes(pickle.dumps(_Trap(str(trap))))
    _edit_document(export, lambda d: d.update(format="torch_estimator.saved_model/2"))
    with pytest.raises(
        ValueError, match=r"torch\.export archive \(program\.pt2\), which is not loaded.*Export the model"
    ):
        te.saved_model.load(str(export))
    assert not trap.exists()


def test_the_program_runs_in_plain_onnxruntime_on_the_documented_inputs(export_dir: str) -> None:
    import onnxruntime as ort

    from torch_estimator.export.tfexample import encode_example

    model = te.saved_model.load(export_dir)
    examples = np.array([encode_example({"x": [0.5 * i], "color": ["ab"[i % 2]]}) for i in range(5)], dtype=object)
    feed = model.program_feed({"examples": examples})
    documented = json.loads(Path(export_dir, "saved_model.json").read_text())["program"]
    assert documented["file"] == "program.onnx"
    assert sorted(i["name"] for i in documented["inputs"]) == sorted(feed)
    for spec in documented["inputs"]:
        value = feed[spec["name"]]
        assert value.dtype == np.dtype(spec["dtype"]) and value.ndim == len(spec["shape"]), spec
        assert all(isinstance(d, str) or d == n for d, n in zip(spec["shape"], value.shape)), spec
    session = ort.InferenceSession(str(Path(export_dir, "program.onnx")), providers=["CPUExecutionProvider"])
    names = [o["name"] for o in documented["outputs"]]
    plain = dict(zip(names, session.run(names, feed)))
    served = model.signatures["predict"](examples=examples)
    np.testing.assert_allclose(plain["predictions"], served["predictions"], rtol=0, atol=0)


def test_a_constant_operator_reading_another_file_is_refused(export_dir: str, tmp_path: Path) -> None:
    export = _copy(export_dir, tmp_path)
    model = _program(export)
    secret = tmp_path / "secret.bin"
    secret.write_bytes(struct.pack("<f", 1.0))
    value = onnx.TensorProto(data_type=onnx.TensorProto.FLOAT, dims=[1])  # unnamed, as Constant values are
    value.data_location = onnx.TensorProto.EXTERNAL
    value.external_data.add(key="location", value=str(secret))
    model.graph.node.append(onnx.helper.make_node("Constant", [], ["leak"], value=value))
    _rewrite(export, "program.onnx", model.SerializeToString())
    with pytest.raises(ValueError, match=r"program\.onnx is refused: graph: tensor '' refers to external data"):
        te.saved_model.load(str(export))
