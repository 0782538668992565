"""A damaged, incomplete or mismatched export fails to load with an error naming the file and what
is wrong (checksums on every file, variables checked against the program, a sample batch checked
against the outputs the export recorded); killed exports leave no temp-* directory behind."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

import torch_estimator as te
from torch_estimator._core import tensor_file as _tensor_file
from torch_estimator._core.errors import DataLossError, NotFoundError
from torch_estimator.export._schema import document_checksum
from torch_estimator.export._temp_dirs import LOCK_FILE, UNLOCKED_MAX_AGE_SECONDS

fc = te.feature_column
VARIABLES = os.path.join("variables", "variables.safetensors")
ASSET = os.path.join("assets", "education.txt")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A trained wide & deep classifier with a vocabulary file (an asset) and its receiver."""
    root = tmp_path_factory.mktemp("integrity")
    vocabulary = root / "education.txt"
    vocabulary.write_text("Bachelors\nHS-grad\nMasters\n")
    rng = np.random.default_rng(0)
    features = {
        "age": rng.uniform(20, 60, 200).astype(np.float32),
        "education": rng.choice(["Bachelors", "HS-grad", "Masters"], 200).astype(object),
    }
    labels = (features["age"] > 40).astype(np.int64)
    education = fc.categorical_column_with_vocabulary_file("education", str(vocabulary))
    age = fc.numeric_column("age")
    est = te.DNNLinearCombinedClassifier(
        model_dir=str(root / "model"),
        linear_feature_columns=[education],
        dnn_feature_columns=[age, fc.embedding_column(education, 2)],
        dnn_hidden_units=[4],
    )
    est.train(te.inputs.numpy_input_fn(features, labels, batch_size=50, num_epochs=None, shuffle=True), steps=3)
    receiver = te.export.build_parsing_serving_input_receiver_fn(fc.make_parse_example_spec([age, education]))
    return est, receiver


@pytest.fixture(scope="module")
def export(trained, tmp_path_factory):
    est, receiver = trained
    return est.export_saved_model(str(tmp_path_factory.mktemp("exports")), receiver).decode()


@pytest.fixture
def copy(export, tmp_path):
    """A fresh copy of the export to damage."""
    return shutil.copytree(export, str(tmp_path / "export"))


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _flipped(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 4]) + data[middle + 4 :]


def _garbage(data: bytes) -> bytes:
    return np.random.default_rng(1).integers(0, 256, len(data), dtype=np.uint8).tobytes()


DAMAGES = {"truncated": _truncated, "flipped": _flipped, "empty": lambda data: b"", "garbage": _garbage}
FILES = ["saved_model.json", "program.onnx", VARIABLES, ASSET]


def _flip_a_digit(data: bytes) -> bytes:
    """saved_model.json with one digit of a recorded output changed: still valid JSON."""
    position = data.index(b'"sample_outputs"')
    while not chr(data[position]).isdigit() or data[position] == ord("0"):
        position += 1
    return data[:position] + bytes([data[position] ^ 1]) + data[position + 1 :]


def _rewrite(path: str, change) -> None:
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(change(data))


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_file_is_data_loss_naming_it(copy, name, damage):
    path = os.path.join(copy, name)
    _rewrite(path, DAMAGES[damage])
    with pytest.raises(DataLossError) as error:
        te.saved_model.load(copy)
    assert path in str(error.value)


def test_bit_rot_in_a_number_of_saved_model_json_fails_its_checksum(copy):
    _rewrite(os.path.join(copy, "saved_model.json"), _flip_a_digit)
    with pytest.raises(
        DataLossError, match="Checksum mismatch in the export file .*saved_model.json: .*modified or is corrupted"
    ):
        te.saved_model.load(copy)


@pytest.mark.parametrize("name", FILES)
def test_a_missing_file_is_not_found_naming_it(copy, name):
    os.remove(os.path.join(copy, name))
    with pytest.raises(NotFoundError, match=re.escape(f"{os.path.join(copy, name)} does not exist")):
        te.saved_model.load(copy)


def test_a_directory_that_is_no_export_is_not_found(tmp_path):
    for path in (tmp_path, tmp_path / "missing"):
        with pytest.raises(
            NotFoundError,
            match=re.escape(
                f"The export file {path / 'saved_model.json'} does not exist: {path} is not an export directory."
            ),
        ):
            te.saved_model.load(str(path))


def test_bit_rot_in_a_kernel_names_the_file_and_the_tensor(copy):
    path = os.path.join(copy, VARIABLES)
    with open(path, "rb") as f:
        data = f.read()
    header_size = int.from_bytes(data[:8], "little")
    start, _ = json.loads(data[8 : 8 + header_size])["dnn/hiddenlayer_0/kernel"]["data_offsets"]
    offset = 8 + header_size + start
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(bytes(b ^ 0x40 for b in data[offset : offset + 4]))
    with pytest.raises(
        DataLossError,
        match=r"Checksum mismatch in the export variables file .*variables.safetensors: "
        r"tensor 'dnn/hiddenlayer_0/kernel'",
    ):
        te.saved_model.load(copy)


def _edit_document(export_dir: str, edit, recompute_checksum: bool = False) -> None:
    path = os.path.join(export_dir, "saved_model.json")
    with open(path, encoding="utf-8") as f:
        document = json.load(f)
    edit(document)
    if recompute_checksum:
        document["crc32c"] = document_checksum(document)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(document, f)


MALFORMED = [
    (lambda d: d.pop("layers"), 'field "layers" is missing'),
    (lambda d: d["receiver"].pop("tensors"), 'field "receiver.tensors" is missing'),
    (
        lambda d: d["receiver"]["tensors"]["examples"].update(dtype=7),
        "field \"receiver.tensors['examples'].dtype\" must be a string; got 7",
    ),
    (
        lambda d: d["signature_defs"]["predict"]["outputs"].update(logits="nope"),
        "field \"signature_defs['predict'].outputs['logits']\" names 'nope', which is not in outputs",
    ),
    (lambda d: d.pop("crc32c"), 'field "crc32c" is missing'),
    (
        lambda d: d.update(format="torch_estimator.saved_model/1"),
        "has format 'torch_estimator.saved_model/1'; this version of torch_estimator reads",
    ),
]


@pytest.mark.parametrize("edit, message", MALFORMED)
def test_a_malformed_saved_model_json_names_the_field(copy, edit, message):
    _edit_document(copy, edit)
    with pytest.raises(ValueError) as error:
        te.saved_model.load(copy)
    assert str(error.value).startswith(f"The export file {os.path.join(copy, 'saved_model.json')} ")
    assert message in str(error.value)


def test_a_valid_but_modified_saved_model_json_fails_its_checksum(copy):
    _edit_document(copy, lambda d: d["string_tables"]["classes"].reverse())
    with pytest.raises(
        DataLossError, match="Checksum mismatch in the export file .*saved_model.json: .*modified or is corrupted"
    ):
        te.saved_model.load(copy)


def _replace_variables(export_dir: str, change) -> None:
    path = os.path.join(export_dir, VARIABLES)
    tensors, metadata = _tensor_file.read(path, "export variables")
    tensors = {k: v.clone() for k, v in tensors.items()}  # not mapped from the file rewritten below
    change(tensors)
    with open(path, "wb") as f:
        f.write(_tensor_file.serialize(tensors, metadata))


VARIABLE_MISMATCHES = [
    (lambda t: t.pop("dnn/logits/bias"), "missing variables ['dnn/logits/bias']"),
    (
        lambda t: t.update({"dnn/logits/kernel": torch.zeros(4, 2)}),
        "'dnn/logits/kernel' is [4, 2] float32 but the program expects [4, 1] float32",
    ),
    (
        lambda t: t.update({"dnn/logits/bias": t["dnn/logits/bias"].double()}),
        "'dnn/logits/bias' is [1] float64 but the program expects [1] float32",
    ),
    (lambda t: t.update({"dnn/extra": torch.zeros(1)}), "unexpected variables ['dnn/extra']"),
]


@pytest.mark.parametrize("change, message", VARIABLE_MISMATCHES)
def test_variables_that_do_not_fit_the_program_are_named(copy, change, message):
    _replace_variables(copy, change)
    with pytest.raises(ValueError) as error:
        te.saved_model.load(copy)
    assert f"The export variables file {os.path.join(copy, VARIABLES)} does not match the program" in str(error.value)
    assert message in str(error.value)


def test_variables_of_another_model_fail_the_sample_batch(copy):
    _replace_variables(copy, lambda t: t["dnn/logits/bias"].add_(1.0))
    with pytest.raises(
        ValueError, match=r"output 'logits' on the sample batch is .* but the export recorded .*do not belong together"
    ):
        te.saved_model.load(copy)


SERVE_WHILE_REWRITTEN = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch_estimator as te
    from torch_estimator.export.tfexample import encode_example
    model = te.saved_model.load(sys.argv[1])
    open(sys.argv[2], "wb").close()  # the variables file truncated in place under the loaded model
    examples = np.array([encode_example({"age": [30.0], "education": [b"Masters"]})], dtype=object)
    print(model.signatures["predict"](examples=examples)["logistic"].shape)
    """
)


def test_a_loaded_model_survives_its_files_being_rewritten(copy):
    result = subprocess.run(
        [sys.executable, "-c", SERVE_WHILE_REWRITTEN, copy, os.path.join(copy, VARIABLES)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (result.returncode, result.stdout) == (0, "(1, 1)\n"), result.stderr[-2000:]


def test_an_intact_export_loads_after_its_checks(export):
    model = te.saved_model.load(export)
    assert sorted(model.signatures) == ["classification", "predict", "regression", "serving_default"]
    assert sorted(_tensor_file.read(os.path.join(export, VARIABLES), "export variables")[0]) == sorted(model.variables)


# -- temporary directories --------------------------------------------------------------------------


def _temp_dir(base, name: str, lock: str | None = None, age: float = 0.0) -> str:
    """A leftover temp-* directory: with a lock file holding ``lock`` (None: no lock file), unchanged for
    ``age`` seconds."""
    path = os.path.join(base, name)
    os.makedirs(os.path.join(path, "variables"))
    with open(os.path.join(path, "variables", "variables.safetensors"), "wb") as f:
        f.write(b"partial")
    if lock is not None:
        with open(os.path.join(path, LOCK_FILE), "w") as f:
            f.write(lock)
    then = time.time() - age
    for root, _, files in os.walk(path):
        for entry in [root] + [os.path.join(root, n) for n in files]:
            os.utime(entry, (then, then))
    return path


def test_the_next_export_removes_what_killed_exports_left(trained, tmp_path, caplog):
    est, receiver = trained
    base = tmp_path / "exports"
    killed = _temp_dir(base, "temp-100", lock="pid 999999999 on host gone\n")
    old_style = _temp_dir(base, "temp-101", age=2 * UNLOCKED_MAX_AGE_SECONDS)
    recent_unlocked = _temp_dir(base, "temp-102")
    just_created = _temp_dir(base, "temp-103", lock="")
    with caplog.at_level(logging.WARNING, logger="torch_estimator"):
        path = est.export_saved_model(str(base), receiver).decode()
    assert not os.path.exists(killed) and not os.path.exists(old_style)
    assert os.path.isdir(recent_unlocked) and os.path.isdir(just_created)
    assert sorted(os.listdir(base)) == sorted(["temp-102", "temp-103", os.path.basename(path)])
    assert (
        f"Removed the temporary export directory {killed} left by an interrupted export: "
        "its writer (pid 999999999 on host gone) is gone." in caplog.text
    )
    assert LOCK_FILE not in os.listdir(path)


WRITER = textwrap.dedent(
    """
    import sys, time
    from torch_estimator.export._temp_dirs import TempExportDir
    with TempExportDir(sys.argv[1]):
        print("writing", flush=True)
        time.sleep(600)
    """
)


def test_an_export_in_flight_is_kept_and_removed_once_killed(trained, tmp_path):
    est, receiver = trained
    base = tmp_path / "exports"
    os.makedirs(base)
    in_flight = str(base / "temp-200")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, in_flight], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline() == "writing\n"
        est.export_saved_model(str(base), receiver)
        assert os.path.isdir(in_flight)  # its lock is held: not removed
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert os.path.isdir(in_flight)  # a SIGKILL leaves it
    est.export_saved_model(str(base), receiver)
    assert not os.path.exists(in_flight)
    assert not [n for n in os.listdir(base) if n.startswith("temp-")]
