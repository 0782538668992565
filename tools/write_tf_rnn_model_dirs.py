"""Train small tf.estimator.experimental.RNNClassifier models on sequence feature columns and keep
their model_dirs and TensorFlow's numbers.

Run with an interpreter that has tensorflow 2.15 and tensorflow-estimator 2.15:
/tmp/tf215/bin/python tools/write_tf_rnn_model_dirs.py

It writes ``tests/golden/tf_rnn_model_dirs/<model>/`` (``checkpoint`` and the final
``model.ckpt-N.{index,data-00000-of-00001}``; graph and event files deleted) and
``tests/golden/tf_rnn.json``: the data (ragged sequences as lists), and per model its arguments,
``variables`` (name, shape), the ``sequence_input``/``sequence_length`` TF's SequenceFeatures gives
for the model's sequence columns on the data, the ``predictions`` (logits) and ``metrics`` of the
kept checkpoint, and ``further_losses``: the loss of each of 5 more training steps from it.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf

tf.get_logger().setLevel("ERROR")
fc = tf.feature_column
seq = tf.feature_column  # the sequence_* functions live here in TF 2.15
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "golden")
VOCAB = ["a", "b", "c", "d"]

TOKENS = [["a", "b"], ["c"], ["d", "a", "z", "b"], ["b", "b", "c"], ["a"], ["c", "d", "a"]]
X = [[0.5, -1.0], [2.0], [0.1, 0.2, -0.3, 0.4], [1.5, -0.5, 0.0], [-2.0], [0.3, 0.9, -1.2]]
IDS = [[1, 3], [0], [2, 2, 1, 0], [3, 1, 2], [0], [1, 0, 3]]
CTX = [0.2, -1.0, 0.5, 1.5, -0.3, 0.0]
BINARY = [1, 0, 1, 1, 0, 0]
CLASSES = [2, 0, 1, 2, 0, 1]


def _sparse(rows: list[list], dtype: tf.DType) -> tf.sparse.SparseTensor:
    indices = [[i, j] for i, row in enumerate(rows) for j in range(len(row))]
    values = [v for row in rows for v in row]
    return tf.sparse.SparseTensor(indices, tf.constant(values, dtype), [len(rows), max(len(r) for r in rows)])


def _features() -> dict:
    return {
        "tokens": _sparse(TOKENS, tf.string),
        "x": _sparse(X, tf.float32),
        "ids": _sparse(IDS, tf.int64),
        "ctx": tf.constant(CTX, tf.float32)[:, None],
    }


def _columns(kind: str) -> tuple[list, list]:
    tokens = seq.sequence_categorical_column_with_vocabulary_list("tokens", VOCAB)
    ids = seq.sequence_categorical_column_with_identity("ids", 4)
    x = seq.sequence_numeric_column("x")
    if kind == "lstm":
        return [fc.embedding_column(tokens, 3), x], [fc.numeric_column("ctx")]
    if kind == "gru":
        return [fc.embedding_column(tokens, 2), fc.indicator_column(ids)], []
    return [fc.indicator_column(tokens), x, fc.embedding_column(ids, 2)], [fc.numeric_column("ctx")]


MODELS = {
    "lstm": {"units": 4, "cell_type": "lstm", "n_classes": 2},
    "gru": {"units": [4, 3], "cell_type": "gru", "n_classes": 3},
    "simple_rnn": {"units": [5], "n_classes": 2},
}


def _estimator(name: str, model_dir: str) -> tf.estimator.Estimator:
    sequence_columns, context_columns = _columns(name)
    return tf.estimator.experimental.RNNClassifier(
        sequence_feature_columns=sequence_columns,
        context_feature_columns=context_columns or None,
        model_dir=model_dir,
        config=tf.estimator.RunConfig(tf_random_seed=11),
        **MODELS[name],
    )


def _labels(name: str) -> tf.Tensor:
    return tf.constant(CLASSES if MODELS[name]["n_classes"] == 3 else BINARY, tf.int64)[:, None]


def _sequence_input(name: str, model_dir: str) -> tuple[list, list]:
    """TF's SequenceFeatures output for the model's sequence columns, with its trained variables."""
    sequence_columns, _ = _columns(name)
    layer = tf.keras.experimental.SequenceFeatures(sequence_columns, name="sequence_features")
    sequence_input, sequence_length = layer(_features())
    reader = tf.train.load_checkpoint(model_dir)
    for var in layer.variables:
        key = var.name.split(":")[0]
        var.assign(reader.get_tensor(key))
    sequence_input, sequence_length = layer(_features())
    return sequence_input.numpy().tolist(), sequence_length.numpy().tolist()


def main() -> None:
    root = os.path.join(OUT, "tf_rnn_model_dirs")
    shutil.rmtree(root, ignore_errors=True)
    golden: dict = {
        "data": {"tokens": TOKENS, "x": X, "ids": IDS, "ctx": CTX, "binary": BINARY, "classes": CLASSES},
        "vocabulary": VOCAB,
        "models": {},
    }
    for name in MODELS:
        model_dir = os.path.join(root, name)
        est = _estimator(name, model_dir)
        est.train(lambda name=name: (_features(), _labels(name)), steps=10)
        metrics = est.evaluate(lambda name=name: (_features(), _labels(name)), steps=1)
        # constant-tensor input repeats forever: the first batch is the data
        predictions = list(itertools.islice(est.predict(lambda: _features()), len(TOKENS)))
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, "m")
            shutil.copytree(model_dir, copy)
            further: list[float] = []
            inner = _estimator(name, copy)

            recorder = tf.estimator.Estimator(_recording(inner, further), copy, inner.config)
            recorder.train(lambda name=name: (_features(), _labels(name)), steps=5)
        sequence_input, sequence_length = _sequence_input(name, model_dir)
        golden["models"][name] = {
            "arguments": {k: v for k, v in MODELS[name].items()},
            "variables": [[n, s] for n, s in tf.train.list_variables(model_dir)],
            "sequence_input": sequence_input,
            "sequence_length": sequence_length,
            "logits": [p["logits"].tolist() for p in predictions],
            "probabilities": [p["probabilities"].tolist() for p in predictions],
            "metrics": {k: float(v) for k, v in metrics.items()},
            "further_losses": further,
        }
        for f in os.listdir(model_dir):
            if not (f == "checkpoint" or f.startswith("model.ckpt-10.")) or f.endswith(".meta"):
                path = os.path.join(model_dir, f)
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    with open(os.path.join(OUT, "tf_rnn.json"), "w") as f:
        json.dump(golden, f, indent=1)
    print("wrote", sorted(golden["models"]))


def _recording(inner: tf.estimator.Estimator, losses: list):
    """``inner``'s model_fn, whose TRAIN spec also records its loss into ``losses``."""

    def model_fn(features, labels, mode, config):
        spec = inner.model_fn(features, labels, mode, config)
        if mode == tf.estimator.ModeKeys.TRAIN:
            spec = spec._replace(training_hooks=[*spec.training_hooks, _LossHook(spec.loss, losses)])
        return spec

    return model_fn


class _LossHook(tf.estimator.SessionRunHook):
    """Records the EstimatorSpec's loss at every training step."""

    def __init__(self, loss, losses: list):
        self.loss = loss
        self.losses = losses

    def before_run(self, run_context):
        return tf.estimator.SessionRunArgs(self.loss)

    def after_run(self, run_context, run_values):
        self.losses.append(float(run_values.results))


if __name__ == "__main__":
    main()
