"""Sequence feature columns and ``RNNClassifier`` against TensorFlow 2.15 (tests/golden/tf_rnn.json and
tests/golden/tf_rnn_model_dirs/, written by tools/write_tf_rnn_model_dirs.py): pointed at a model_dir
TF trained, the estimator has TF's variables, gives TF's sequence inputs, logits and metrics, and
trains on with TF's losses (LSTM, stacked GRU and SimpleRNN cells, context columns)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import torch_estimator as te

GOLDEN_DIR = Path(__file__).parent.parent / "golden"
GOLDEN = json.load(open(GOLDEN_DIR / "tf_rnn.json"))
DATA = GOLDEN["data"]
fc = te.feature_column


def _features() -> dict[str, Any]:
    return {
        "tokens": te.RaggedValue.from_lists(DATA["tokens"]),
        "x": te.RaggedValue.from_lists(DATA["x"]),
        "ids": te.RaggedValue.from_lists(DATA["ids"]),
        "ctx": np.array(DATA["ctx"], np.float32)[:, None],
    }


def _columns(name: str) -> tuple[list, list]:
    tokens = fc.sequence_categorical_column_with_vocabulary_list("tokens", GOLDEN["vocabulary"])
    ids = fc.sequence_categorical_column_with_identity("ids", 4)
    x = fc.sequence_numeric_column("x")
    if name == "lstm":
        return [fc.embedding_column(tokens, 3), x], [fc.numeric_column("ctx")]
    if name == "gru":
        return [fc.embedding_column(tokens, 2), fc.indicator_column(ids)], []
    return [fc.indicator_column(tokens), x, fc.embedding_column(ids, 2)], [fc.numeric_column("ctx")]


def _labels(name: str) -> np.ndarray:
    n_classes = GOLDEN["models"][name]["arguments"]["n_classes"]
    return np.array(DATA["classes"] if n_classes == 3 else DATA["binary"], np.int64)[:, None]


def _estimator(name: str, model_dir: str) -> te.estimator.experimental.RNNClassifier:
    sequence, context = _columns(name)
    return te.estimator.experimental.RNNClassifier(
        sequence_feature_columns=sequence, context_feature_columns=context or None, model_dir=model_dir,
        **GOLDEN["models"][name]["arguments"],
    )  # fmt: skip


class _Losses(te.SessionRunHook):
    def __init__(self) -> None:
        self.losses: list[float] = []

    def before_run(self, run_context: Any) -> te.SessionRunArgs:
        return te.SessionRunArgs(["loss"])

    def after_run(self, run_context: Any, run_values: Any) -> None:
        self.losses.append(float(run_values.results[0]))


@pytest.mark.parametrize("name", sorted(GOLDEN["models"]))
def test_rnn_classifier_restores_tensorflows_model_and_gives_its_numbers(name: str, tmp_path: Path) -> None:
    model = GOLDEN["models"][name]
    model_dir = tmp_path / name
    shutil.copytree(GOLDEN_DIR / "tf_rnn_model_dirs" / name, model_dir)
    est = _estimator(name, str(model_dir))
    tf_names = {n for n, _ in model["variables"]}
    assert set(est.get_variable_names()) == tf_names
    predictions = list(est.predict(lambda: _features()))
    np.testing.assert_allclose([p["logits"] for p in predictions], model["logits"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose([p["probabilities"] for p in predictions], model["probabilities"], rtol=1e-5, atol=1e-6)
    metrics = est.evaluate(lambda: (_features(), _labels(name)), steps=1)
    assert set(metrics) == set(model["metrics"])
    for key, value in model["metrics"].items():
        assert metrics[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    losses = _Losses()
    est.train(lambda: (_features(), _labels(name)), steps=5, hooks=[losses])
    np.testing.assert_allclose(losses.losses, model["further_losses"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(GOLDEN["models"]))
def test_sequence_features_give_tensorflows_inputs_and_lengths(name: str) -> None:
    model = GOLDEN["models"][name]
    sequence, _ = _columns(name)
    layer = fc.SequenceFeatures(sequence)
    tf_dir = GOLDEN_DIR / "tf_rnn_model_dirs" / name
    from torch_estimator._core.tf_checkpoint import TfCheckpoint

    tf = TfCheckpoint(str(tf_dir / "model.ckpt-10"))
    layer(_features())  # builds the tables
    for var_name, var in layer.variables.items():
        with torch.no_grad():
            var.copy_(torch.from_numpy(np.asarray(tf.read(var_name))))
    sequence_input, sequence_length = layer(_features())
    np.testing.assert_allclose(sequence_input.numpy(), model["sequence_input"], rtol=1e-6, atol=1e-7)
    assert sequence_length.tolist() == model["sequence_length"]


def test_dense_padded_sequences_and_empty_steps() -> None:
    tokens = fc.sequence_categorical_column_with_vocabulary_list("t", ["a", "b"])
    layer = fc.SequenceFeatures([fc.indicator_column(tokens), fc.sequence_numeric_column("v", shape=2)])
    features = {
        "t": np.array([["a", "", "b"], ["b", "", ""], ["", "", ""]]),  # '' is an empty step
        "v": te.RaggedValue.from_lists([[1.0, 2.0, 0.0, 0.0, 5.0, 6.0], [3.0, 4.0], []]),
    }
    inputs, lengths = layer(features)
    assert lengths.tolist() == [3, 1, 0]
    np.testing.assert_array_equal(
        inputs.numpy(),
        [
            [[1, 0, 1, 2], [0, 0, 0, 0], [0, 1, 5, 6]],
            [[0, 1, 3, 4], [0, 0, 0, 0], [0, 0, 0, 0]],
            [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
        ],
    )


def test_sequence_column_errors_name_the_problem() -> None:
    tokens = fc.sequence_categorical_column_with_identity("t", 3)
    with pytest.raises(ValueError, match="must not be of type SequenceCategoricalColumn"):
        fc.DenseFeatures([fc.indicator_column(tokens)])({"t": te.RaggedValue.from_lists([[1]])})
    with pytest.raises(ValueError, match="Items of feature_columns must be a sequence column"):
        fc.SequenceFeatures([fc.numeric_column("x")])
    layer = fc.SequenceFeatures([fc.indicator_column(tokens), fc.sequence_numeric_column("v")])
    with pytest.raises(ValueError, match="Sequence lengths differ between columns 't_indicator' .* and 'v'"):
        layer({"t": te.RaggedValue.from_lists([[1, 2]]), "v": te.RaggedValue.from_lists([[1.0]])})
    with pytest.raises(ValueError, match="must have a sequence per example"):
        fc.SequenceFeatures([fc.sequence_numeric_column("v")])({"v": np.array([1.0, 2.0])})
    with pytest.raises(ValueError, match="units and cell_type must not be specified when using rnn_cell_fn"):
        te.estimator.experimental.RNNClassifier([fc.sequence_numeric_column("v")], units=[3], rnn_cell_fn=lambda: None)
    with pytest.raises(ValueError, match="Supported strings are"):
        te.estimator.experimental.RNNClassifier([fc.sequence_numeric_column("v")], units=[3], cell_type="tcn")
    with pytest.raises(ValueError, match="return_sequences=True needs TF's sequential heads"):
        te.estimator.experimental.RNNClassifier([fc.sequence_numeric_column("v")], units=3, return_sequences=True)


def test_rnn_classifier_learns_a_sequence_rule_with_torch_cells(tmp_path: Path) -> None:
    """Label: whether 'b' follows 'a' somewhere in the sequence; a torch LSTMCell from rnn_cell_fn."""
    rng = np.random.default_rng(0)
    rows = [list(rng.choice(["a", "b", "c"], size=rng.integers(1, 7))) for _ in range(400)]
    labels = np.array([[int(any(p == "a" and q == "b" for p, q in zip(r, r[1:])))] for r in rows])
    tokens = fc.sequence_categorical_column_with_vocabulary_list("tokens", ["a", "b", "c"])
    est = te.estimator.experimental.RNNClassifier(
        [fc.indicator_column(tokens)], rnn_cell_fn=lambda: torch.nn.LSTMCell(3, 8), model_dir=str(tmp_path),
        optimizer=lambda: te.optimizers.Adam(0.05), config=te.RunConfig(tf_random_seed=0),
    )  # fmt: skip

    def batches():
        for start in range(0, len(rows), 50):
            yield {"tokens": te.RaggedValue.from_lists(rows[start : start + 50])}, labels[start : start + 50]

    for _ in range(8):
        est.train(batches)
    result = est.evaluate(batches)
    assert result["accuracy"] > 0.95
    assert "rnn_model/rnn/cell_0/weight_ih" in est.get_variable_names()


def test_exporting_a_sequence_model_says_it_cannot(tmp_path: Path) -> None:
    tokens = fc.sequence_categorical_column_with_vocabulary_list("tokens", ["a", "b"])
    est = te.estimator.experimental.RNNClassifier(
        [fc.embedding_column(tokens, 2)], units=3, cell_type="lstm", model_dir=str(tmp_path / "m")
    )
    est.train(lambda: ({"tokens": te.RaggedValue.from_lists([["a"], ["b", "a"]])}, np.array([[1], [0]])), steps=1)
    spec = fc.make_parse_example_spec([fc.embedding_column(tokens, 2)])
    receiver = te.estimator.export.build_parsing_serving_input_receiver_fn(spec)
    with pytest.raises(te.export.NotExportableError, match="sequence feature columns .* cannot be exported"):
        est.export_saved_model(str(tmp_path / "export"), receiver)
