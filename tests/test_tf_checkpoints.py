"""Model_dirs tf.estimator 2.15 trained (``tools/write_tf_model_dirs.py``): read with no
TensorFlow, restored by the same estimators, giving TF's predictions, metrics and further
training; damaged files raise errors naming the file and tensor."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import torch_estimator as te
from torch_estimator._core import checkpoint
from torch_estimator._core.errors import DataLossError, NotFoundError
from torch_estimator._core.tf_checkpoint import TfCheckpoint, slice_key

fc = te.feature_column
GOLDEN_DIR = Path(__file__).parent / "golden"
GOLDEN = json.loads((GOLDEN_DIR / "tf_model_dirs.json").read_text())
COLORS = ["red", "green", "blue"]
ESTIMATOR_MODELS = ["linear", "dnn", "dnn_linear_combined", "dnn_regressor", "custom", "partitioned"]


def _columns() -> tuple[Any, ...]:
    x, x2 = fc.numeric_column("x"), fc.numeric_column("x2")
    color = fc.categorical_column_with_vocabulary_list("color", COLORS, num_oov_buckets=1)
    city = fc.categorical_column_with_hash_bucket("city", 10)
    idn = fc.categorical_column_with_identity("idn", 4)
    cross = fc.crossed_column([color, "city"], 20)
    return x, x2, color, city, idn, cross


def _custom_model_fn(features: dict[str, Any], labels: Any, mode: str) -> te.EstimatorSpec:
    """The tool's ``custom_model_fn`` (input_layer, two tf.compat.v1.layers.dense, mean squared
    error, gradient descent), with the import changed."""
    net = fc.input_layer(features, [fc.numeric_column("x"), fc.numeric_column("x2")])
    net = te.layers.dense(net, 8, activation="relu")
    net = te.layers.dense(net, 1)
    if mode == te.ModeKeys.PREDICT:
        return te.EstimatorSpec(mode, predictions={"y": net})
    squared = (labels.to(net.dtype) - net) ** 2
    loss = squared.mean()
    if mode == te.ModeKeys.EVAL:
        return te.EstimatorSpec(mode, loss=loss, eval_metric_ops={"mse": te.metrics.mean(squared)})
    return te.EstimatorSpec(mode, loss=loss, train_op=te.optimizers.SGD(0.05).minimize(loss))


def _partitioned_model_fn(features: dict[str, Any], labels: Any, mode: str) -> te.EstimatorSpec:
    """The tool's ``partitioned_model_fn``: TF partitioned ``emb`` in two; here it is one variable."""
    emb = te.get_variable("emb", [4, 3])
    with te.variable_scope("extras"):
        te.get_variable("f64", [2], torch.float64, "zeros", trainable=False)
        te.get_variable("i32", [1, 3], torch.int32, "zeros", trainable=False)
        te.get_variable("flag", [2], torch.bool, "zeros", trainable=False)
    logits = emb.index_select(0, features["idn"]).sum(1, keepdim=True) + features["x"][:, None]
    if mode == te.ModeKeys.PREDICT:
        return te.EstimatorSpec(mode, predictions={"y": logits})
    loss = ((labels - logits) ** 2).mean()
    train_op = te.optimizers.SGD(0.05).minimize(loss) if mode == te.ModeKeys.TRAIN else None
    return te.EstimatorSpec(mode, loss=loss, train_op=train_op)


def _estimator(name: str, model_dir: str) -> te.Estimator:
    x, x2, color, city, idn, cross = _columns()
    if name == "linear":
        return te.LinearClassifier([x, color, city, cross], model_dir=model_dir)
    if name == "dnn":
        columns = [x, fc.embedding_column(color, 3), fc.embedding_column(city, 2)]
        return te.DNNClassifier([8, 4], columns, n_classes=3, model_dir=model_dir)
    if name == "dnn_linear_combined":
        return te.DNNLinearCombinedClassifier(
            model_dir=model_dir, linear_feature_columns=[color, city, cross],
            dnn_feature_columns=[x, x2, fc.embedding_column(color, 2), fc.indicator_column(idn)],
            dnn_hidden_units=[6, 4],
        )  # fmt: skip
    if name == "dnn_regressor":
        return te.DNNRegressor([5], [x, x2, fc.embedding_column(color, 2)], label_dimension=2, model_dir=model_dir)
    return te.Estimator(_custom_model_fn if name == "custom" else _partitioned_model_fn, model_dir=model_dir)


def _features(part: str) -> dict[str, np.ndarray]:
    dtypes = {"x": np.float32, "x2": np.float32, "idn": np.int64, "color": object, "city": object}
    return {k: np.array(v, dtype=dtypes[k]) for k, v in GOLDEN["data"][part]["features"].items()}


def _labels(part: str, name: str) -> np.ndarray:
    labels = np.array(GOLDEN["data"][part][GOLDEN["models"][name]["label"]])
    return labels.astype(np.float32) if labels.dtype.kind == "f" else labels


def _input(part: str, name: str | None, batch_size: int, num_epochs: int | None = 1) -> Any:
    labels = None if name is None else _labels(part, name)
    return te.inputs.numpy_input_fn(
        _features(part), labels, batch_size=batch_size, shuffle=False, num_epochs=num_epochs
    )


def _copy(name: str, tmp_path: Path) -> str:
    model_dir = tmp_path / name
    shutil.copytree(GOLDEN_DIR / "tf_model_dirs" / name, model_dir)
    return str(model_dir)


def _digests(directory: str) -> dict[str, str]:
    return {f: hashlib.sha256((Path(directory) / f).read_bytes()).hexdigest() for f in sorted(os.listdir(directory))}


class _Losses(te.SessionRunHook):
    def __init__(self) -> None:
        self.losses: list[float] = []

    def before_run(self, run_context: Any) -> te.SessionRunArgs:
        return te.SessionRunArgs(["loss"])

    def after_run(self, run_context: Any, run_values: Any) -> None:
        self.losses.append(float(run_values.results[0]))


# -- the reader -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(GOLDEN["models"]))
def test_reader_gives_tensorflows_names_shapes_and_values(name: str) -> None:
    model = GOLDEN["models"][name]
    reader = TfCheckpoint(str(GOLDEN_DIR / "tf_model_dirs" / name / "model.ckpt-30"))
    assert [[n, s] for n, s in reader.shapes().items()] == model["variables"]
    for variable, expected in model["values"].items():
        value = reader.read(variable)
        if value.dtype == object:
            assert [v.decode() for v in value.reshape(-1)] == expected
        else:
            np.testing.assert_array_equal(value, np.array(expected, dtype=value.dtype))


def test_partitioned_variables_are_reassembled_from_their_slices() -> None:
    reader = TfCheckpoint(str(GOLDEN_DIR / "tf_model_dirs" / "partitioned" / "model.ckpt-30"))
    # TF saved "emb" [4, 3] as two slices of two rows; the reader put them back in place.
    assert reader._entries["emb"].slices == (((0, 2), (0, 3)), ((2, 2), (0, 3)))
    dtypes = {n: reader.dtype_name(n) for n in reader.names()}
    assert dtypes == {"emb": "float32", "extras/f64": "float64", "extras/flag": "bool", "extras/i32": "int32",
                      "global_step": "int64"}  # fmt: skip
    assert reader.read("extras/flag").dtype == np.bool_ and reader.read("extras/i32").dtype == np.int32
    strings = TfCheckpoint(str(GOLDEN_DIR / "tf_model_dirs" / "strings" / "model.ckpt-0"))
    assert len(strings._entries["scope/wide"].slices) == 3  # rows 3 + 2 + 2
    expected = GOLDEN["strings"]["values"]["scope/wide"]
    np.testing.assert_array_equal(strings.read("scope/wide"), np.array(expected, np.float32))


def test_string_tensors_read_as_bytes_and_are_refused_by_a_restore() -> None:
    prefix = str(GOLDEN_DIR / "tf_model_dirs" / "strings" / "model.ckpt-0")
    reader = TfCheckpoint(prefix)
    assert [[n, s] for n, s in reader.shapes().items()] == GOLDEN["strings"]["variables"]
    names = reader.read("names")
    assert names.shape == (2, 3) and names.dtype == object
    assert [v.decode() for v in names.reshape(-1)] == GOLDEN["strings"]["values"]["names"]
    # a string tensor cannot become a variable: loading the checkpoint says which and why
    with pytest.raises(ValueError, match=r"'names', a string tensor"):
        checkpoint.load(prefix)
    assert checkpoint.load_variable(prefix, "scope/wide").dtype == torch.float32


def test_slice_keys_encode_large_and_negative_numbers_in_order() -> None:
    # OrderedCode's signed numbers keep numeric order as byte order, so slices sort by start.
    starts = [-(2**40), -70, -1, 0, 1, 63, 64, 8191, 8192, 2**20, 2**40, 2**62]
    keys = [slice_key("v", [(s, -1)]) for s in starts]
    assert keys == sorted(keys)
    assert slice_key("emb", [(2, 2), (0, 3)]) == b"\x00emb\x00\x01\x01\x02\x82\x82\x80\x83"  # as TF keyed it
    assert slice_key("v", [(0, -1)]) == b"\x00v\x00\x01\x01\x01\x80\x7f"  # a whole dimension
    assert slice_key("a\x00b", []) == b"\x00a\x00\xffb\x00\x01\x00"  # a 0 byte in a name is escaped


# -- estimators on TF's model_dirs ----------------------------------------------------------------
@pytest.mark.parametrize("name", ESTIMATOR_MODELS)
def test_predictions_and_metrics_equal_tensorflows(name: str, tmp_path: Path, caplog: Any) -> None:
    model = GOLDEN["models"][name]
    est = _estimator(name, _copy(name, tmp_path))
    assert est.get_variable_names() == [n for n, _ in model["variables"]]
    assert int(est.get_variable_value("global_step")) == model["global_step"]
    with caplog.at_level(logging.INFO, logger="torch_estimator"):
        predicted = list(est.predict(_input("predict", None, batch_size=5)))
    assert any("(a TensorFlow checkpoint)" in r.getMessage() for r in caplog.records)
    assert len(predicted) == len(model["predictions"])
    for ours, theirs in zip(predicted, model["predictions"]):
        for key, value in theirs.items():
            if isinstance(value[0], str):
                assert [
                    v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(ours[key]).reshape(-1)
                ] == value
            else:
                np.testing.assert_allclose(np.asarray(ours[key], np.float64).reshape(-1), value, rtol=0, atol=1e-5)
    metrics = est.evaluate(_input("eval", name, batch_size=16))
    expected = dict(model["metrics"])
    if name == "custom":  # TF's streaming RMSE is the square root of the mean squared error
        expected["mse"] = expected.pop("rmse") ** 2
    assert set(expected) <= set(metrics)
    for key, value in expected.items():
        assert float(metrics[key]) == pytest.approx(value, abs=1e-4 if key.startswith("auc") else 1e-5), key


@pytest.mark.parametrize("name", ESTIMATOR_MODELS)
def test_training_continues_from_tensorflows_step_and_slots_leaving_its_files(name: str, tmp_path: Path) -> None:
    model = GOLDEN["models"][name]
    model_dir = _copy(name, tmp_path)
    tf_files = _digests(model_dir)
    tf_files.pop("checkpoint")  # the state file is shared: it names the newest checkpoint of either format
    losses = _Losses()
    est = _estimator(name, model_dir)
    est.train(_input("train", name, batch_size=8, num_epochs=None), steps=GOLDEN["further_steps"], hooks=[losses])
    # TF's own 20 further steps from the same checkpoint, same batches: the same losses.
    np.testing.assert_allclose(losses.losses, model["further_losses"], rtol=1e-5, atol=1e-6)
    assert est.get_variable_value("global_step") == model["global_step"] + GOLDEN["further_steps"]
    assert {f: d for f, d in _digests(model_dir).items() if f in tf_files} == tf_files
    latest = est.latest_checkpoint()
    assert latest is not None and latest.endswith("model.ckpt-50") and not checkpoint.is_tensorflow(latest)


def test_warm_start_from_a_tensorflow_model_dir(tmp_path: Path) -> None:
    source = _copy("dnn_linear_combined", tmp_path)
    x, x2, color, city, idn, cross = _columns()
    est = te.DNNLinearCombinedClassifier(
        model_dir=str(tmp_path / "new"), linear_feature_columns=[color, city, cross],
        dnn_feature_columns=[x, x2, fc.embedding_column(color, 2), fc.indicator_column(idn)], dnn_hidden_units=[6, 4],
        linear_optimizer=te.optimizers.SGD(0.0), dnn_optimizer=te.optimizers.SGD(0.0),
        warm_start_from=te.WarmStartSettings(source, vars_to_warm_start=".*linear.*"),
    )  # fmt: skip
    est.train(_input("train", "dnn_linear_combined", batch_size=8), steps=1)
    tf = TfCheckpoint(os.path.join(source, "model.ckpt-30"))
    assert est.get_variable_value("global_step") == 1  # the global step is not warm-started
    for name in tf.names():
        if name.startswith("linear/"):
            np.testing.assert_array_equal(est.get_variable_value(name), tf.read(name))
        elif name.startswith("dnn/hiddenlayer"):
            assert not np.array_equal(est.get_variable_value(name), tf.read(name)), name


def test_warm_start_of_named_variables_with_vocab_remapping_from_tensorflow(tmp_path: Path) -> None:
    source = _copy("dnn", tmp_path)
    x, x2, _, city, _, _ = _columns()
    new_colors = ["blue", "red", "violet"]
    color = fc.categorical_column_with_vocabulary_list("color", new_colors, num_oov_buckets=1)
    name = "dnn/input_from_feature_columns/input_layer/color_embedding/embedding_weights"
    vocab_dir = tmp_path / "vocab"
    vocab_dir.mkdir()
    (vocab_dir / "old.txt").write_text("\n".join(COLORS) + "\n")
    (vocab_dir / "new.txt").write_text("\n".join(new_colors) + "\n")
    settings = te.WarmStartSettings(
        source, vars_to_warm_start=[name],
        var_name_to_vocab_info={name: te.VocabInfo(str(vocab_dir / "new.txt"), 3, 1, str(vocab_dir / "old.txt"))},
    )  # fmt: skip
    est = te.DNNClassifier(
        [8, 4], [x, fc.embedding_column(color, 3), fc.embedding_column(city, 2)], n_classes=3,
        model_dir=str(tmp_path / "new"), warm_start_from=settings, optimizer=te.optimizers.SGD(0.0),
    )  # fmt: skip
    est.train(_input("train", "dnn", batch_size=8), steps=1)
    old = TfCheckpoint(os.path.join(source, "model.ckpt-30")).read(name)
    new = est.get_variable_value(name)
    np.testing.assert_array_equal(new[0], old[2])  # blue
    np.testing.assert_array_equal(new[1], old[0])  # red
    np.testing.assert_array_equal(new[2:], np.zeros((2, 3), np.float32))  # violet and the OOV bucket: zeros


# -- names that do not map ------------------------------------------------------------------------
def test_a_model_that_does_not_match_tensorflows_names_lists_both_sides(tmp_path: Path) -> None:
    model_dir = _copy("dnn", tmp_path)
    x, _, color, _, _, _ = _columns()
    town = fc.categorical_column_with_hash_bucket("town", 10)  # TF's model had "city" there: same shapes
    est = te.DNNClassifier([8, 4], [x, fc.embedding_column(color, 3), fc.embedding_column(town, 2)], n_classes=3,
                           model_dir=model_dir)  # fmt: skip
    features = {**_features("predict"), "town": _features("predict")["city"]}
    with pytest.raises(NotFoundError) as raised:
        list(est.predict(te.inputs.numpy_input_fn(features, batch_size=5, shuffle=False, num_epochs=1)))
    message = str(raised.value)
    assert (
        "In the checkpoint, not in the model: ['dnn/input_from_feature_columns/input_layer/city_embedding/" in message
    )
    assert (
        "In the model, not in the checkpoint: ['dnn/input_from_feature_columns/input_layer/town_embedding/" in message
    )
    wider = te.DNNClassifier([9, 4], [x, fc.embedding_column(color, 3), fc.embedding_column(town, 2)], n_classes=3,
                             model_dir=model_dir)  # fmt: skip
    with pytest.raises(ValueError, match=r"dnn/hiddenlayer_0/kernel has shape \[6, 9\] in the model but \[6, 8\]"):
        list(wider.predict(te.inputs.numpy_input_fn(features, batch_size=5, shuffle=False, num_epochs=1)))


def test_training_needs_every_optimizer_slot_of_tensorflows_checkpoint(tmp_path: Path) -> None:
    model_dir = _copy("dnn", tmp_path)
    x, _, color, city, _, _ = _columns()
    columns = [x, fc.embedding_column(color, 3), fc.embedding_column(city, 2)]
    est = te.DNNClassifier([8, 4], columns, n_classes=3, model_dir=model_dir, optimizer=te.optimizers.Adam(0.01))
    with pytest.raises(NotFoundError) as raised:
        est.train(_input("train", "dnn", batch_size=8), steps=1)
    message = str(raised.value)
    assert "'training/Adagrad/dnn/logits/kernel/accumulator'" in message  # TF's slots Adam cannot use
    assert "training/Adam/dnn/logits/kernel/m" in message  # and the slots Adam needs, which TF's lacks


# -- damaged files ----------------------------------------------------------------------------------
def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "flip":
        data[len(data) // 2] ^= 0x10
    else:
        del data[len(data) * 2 // 3 :]
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["flip", "truncate"])
def test_damaged_data_file_names_the_file_and_tensor(how: str, tmp_path: Path) -> None:
    model_dir = Path(_copy("linear", tmp_path))
    name = "linear/linear_model/city_X_color/weights"
    entry = TfCheckpoint(str(model_dir / "model.ckpt-30"))._entries[name]
    data_path = model_dir / "model.ckpt-30.data-00000-of-00001"
    data = bytearray(data_path.read_bytes())
    if how == "flip":
        data[entry.offset + entry.size // 2] ^= 0x10
    else:
        del data[entry.offset + 1 :]
    data_path.write_bytes(bytes(data))
    est = _estimator("linear", str(model_dir))
    with pytest.raises(DataLossError) as raised:
        est.get_variable_value(name)
    message = str(raised.value)
    assert str(data_path) in message and repr(name) in message
    assert ("CRC32C" if how == "flip" else "truncated") in message
    with pytest.raises(DataLossError, match=r"No intact checkpoint"):
        list(est.predict(_input("predict", None, batch_size=5)))


@pytest.mark.parametrize("how", ["flip", "truncate"])
def test_damaged_index_file_names_the_file(how: str, tmp_path: Path) -> None:
    model_dir = Path(_copy("dnn_linear_combined", tmp_path))
    index = model_dir / "model.ckpt-30.index"
    _damage(index, how)
    with pytest.raises(DataLossError) as raised:
        _estimator("dnn_linear_combined", str(model_dir)).get_variable_names()
    assert str(index) in str(raised.value)


def test_every_single_byte_flip_of_a_data_file_is_caught(tmp_path: Path) -> None:
    model_dir = Path(_copy("dnn_regressor", tmp_path))
    data_path = model_dir / "model.ckpt-30.data-00000-of-00001"
    original = data_path.read_bytes()
    for i in range(0, len(original), 7):
        flipped = bytearray(original)
        flipped[i] ^= 0x01
        data_path.write_bytes(bytes(flipped))
        with pytest.raises(DataLossError, match="CRC32C"):
            checkpoint.load(str(model_dir / "model.ckpt-30"))


# -- inspection ---------------------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "torch_estimator", *args], capture_output=True, text=True, check=False)


def test_inspect_lists_either_format_and_prints_a_tensor(tmp_path: Path) -> None:
    tf_dir = str(GOLDEN_DIR / "tf_model_dirs" / "partitioned")
    listed = _cli("inspect", tf_dir)
    assert listed.returncode == 0, listed.stderr
    assert "format: TensorFlow" in listed.stdout
    assert "emb (float32) [4, 3]" in listed.stdout and "extras/i32 (int32) [1, 3]" in listed.stdout
    shown = _cli("inspect", tf_dir, "--tensor", "extras/i32")
    assert shown.returncode == 0 and "[[ 7 -8  9]]" in shown.stdout
    strings_dir = str(GOLDEN_DIR / "tf_model_dirs" / "strings")
    strings = _cli("inspect", strings_dir + "/model.ckpt-0", "--tensor", "names")
    assert strings.returncode == 0 and "[[b'a' b'bc' b'']" in strings.stdout
    assert "names (string) [2, 3]" in _cli("inspect", strings_dir).stdout
    ours = _copy("linear", tmp_path)
    _estimator("linear", ours).train(_input("train", "linear", batch_size=8), steps=1)
    listed = _cli("inspect", ours)
    assert listed.returncode == 0 and "format: torch_estimator" in listed.stdout
    assert "linear/linear_model/city/weights (float32) [10, 1]" in listed.stdout
    missing = _cli("inspect", tf_dir, "--tensor", "nope")
    assert missing.returncode != 0 and "nope" in missing.stderr
    nothing = _cli("inspect", str(tmp_path / "empty"))
    assert nothing.returncode != 0 and "no checkpoint" in nothing.stderr.lower()


def test_export_from_a_tensorflow_model_dir_serves_tensorflows_predictions(tmp_path: Path) -> None:
    from torch_estimator.export.tfexample import encode_example

    est = _estimator("dnn_linear_combined", _copy("dnn_linear_combined", tmp_path))
    x, x2, color, city, idn, cross = _columns()
    spec = fc.make_parse_example_spec([x, x2, color, city, idn])
    path = est.export_saved_model(str(tmp_path / "export"), te.export.build_parsing_serving_input_receiver_fn(spec))
    features = GOLDEN["data"]["predict"]["features"]
    examples = np.array(
        [encode_example({k: [features[k][i]] for k in ("x", "x2", "color", "city", "idn")}) for i in range(12)],
        dtype=object,
    )
    out = te.saved_model.load(path).signatures["predict"](examples=examples)
    expected = [p["logits"] for p in GOLDEN["models"]["dnn_linear_combined"]["predictions"]]
    np.testing.assert_allclose(out["logits"], expected, rtol=0, atol=1e-5)
