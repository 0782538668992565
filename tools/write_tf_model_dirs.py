"""Train small tf.estimator models and keep their model_dirs and TensorFlow's numbers.

This is a developer tool, NOT part of the package: TensorFlow is never a dependency of
torch_estimator.  Run it by hand with an interpreter that has tensorflow 2.15 and
tensorflow-estimator 2.15 installed, e.g.

    /tmp/tf215/bin/python tools/write_tf_model_dirs.py

It writes ``tests/golden/tf_model_dirs/<model>/`` (each model's ``checkpoint`` and final
``model.ckpt-N.{index,data-00000-of-00001}``, as tf.estimator left them; the graph files and
event files are deleted to keep the fixtures small, except ``custom``'s ``.meta``, kept as a
real model_dir has one), ``tests/golden/tf_model_dirs/strings/`` (a checkpoint of a string tensor
and a three-slice partitioned variable, written by TF's v1 Saver) and
``tests/golden/tf_model_dirs.json``:

* ``data``: the features and labels (train / eval / predict), as lists;
* per model: ``variables`` (``tf.train.list_variables``: name, shape), ``values``
  (``tf.train.load_variable`` of each; strings decoded, flattened), ``global_step``,
  ``predictions`` on the predict rows, ``metrics`` of ``evaluate`` on the eval rows and
  ``further_losses``: the loss of each of 20 more training steps from the kept checkpoint (in a
  copy of the model_dir), on the train rows in order (``numpy_input_fn``, no shuffle).
"""

import argparse
import json
import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

tf.get_logger().setLevel("ERROR")
fc = tf.feature_column
inputs = tf.compat.v1.estimator.inputs

TRAIN_STEPS = 30
FURTHER_STEPS = 20
BATCH = 8
COLORS = ["red", "green", "blue"]
CITIES = ["paris", "oslo", "lima", "rome", "kyiv", "bern", "doha"]


def make_data(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n).astype(np.float32)
    x2 = rng.normal(size=n).astype(np.float32)
    color = rng.choice(COLORS + ["pink"], size=n, p=[0.3, 0.3, 0.3, 0.1])
    city = rng.choice(CITIES, size=n)
    idn = rng.integers(0, 4, size=n).astype(np.int64)
    score = x + 0.5 * x2 + (color == "red") - 0.5 * (city == "oslo") + 0.3 * idn
    return {
        "features": {"x": x, "x2": x2, "color": color, "city": city, "idn": idn},
        "binary": (score > 0.6).astype(np.int64),
        "classes": np.digitize(score, [0.0, 1.2]).astype(np.int64),
        "pair": np.stack([score, x - x2], axis=1).astype(np.float32),
        "scalar": (2.0 * x - x2 + 0.5).astype(np.float32).reshape(-1, 1),
    }


def columns():
    x, x2 = fc.numeric_column("x"), fc.numeric_column("x2")
    color = fc.categorical_column_with_vocabulary_list("color", COLORS, num_oov_buckets=1)
    city = fc.categorical_column_with_hash_bucket("city", 10)
    idn = fc.categorical_column_with_identity("idn", 4)
    cross = fc.crossed_column([color, "city"], 20)
    return x, x2, color, city, idn, cross


def custom_model_fn(features, labels, mode):
    net = tf.compat.v1.feature_column.input_layer(features, [fc.numeric_column("x"), fc.numeric_column("x2")])
    net = tf.compat.v1.layers.dense(net, 8, activation=tf.nn.relu)
    net = tf.compat.v1.layers.dense(net, 1)
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"y": net})
    loss = tf.compat.v1.losses.mean_squared_error(labels, net)
    if mode == tf.estimator.ModeKeys.EVAL:
        rmse = tf.compat.v1.metrics.root_mean_squared_error(labels, net)
        return tf.estimator.EstimatorSpec(mode, loss=loss, eval_metric_ops={"rmse": rmse})
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(0.05)
    train_op = optimizer.minimize(loss, global_step=tf.compat.v1.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def partitioned_model_fn(features, labels, mode):
    """A variable in two partitions (saved as slices of one tensor) and variables of other dtypes
    (float64, int32, bool)."""
    emb = tf.compat.v1.get_variable(
        "emb", [4, 3], partitioner=tf.compat.v1.fixed_size_partitioner(2),
        initializer=tf.compat.v1.random_normal_initializer(seed=3),
    )  # fmt: skip
    with tf.compat.v1.variable_scope("extras"):
        tf.compat.v1.get_variable("f64", initializer=tf.constant([1.5, -2.25], tf.float64), trainable=False)
        tf.compat.v1.get_variable("i32", initializer=tf.constant([[7, -8, 9]], tf.int32), trainable=False)
        tf.compat.v1.get_variable("flag", initializer=tf.constant([True, False]), trainable=False)
    vec = tf.nn.embedding_lookup(emb, features["idn"])
    logits = tf.reduce_sum(vec, axis=1, keepdims=True) + tf.expand_dims(features["x"], 1)
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"y": logits})
    loss = tf.compat.v1.losses.mean_squared_error(labels, logits)
    if mode == tf.estimator.ModeKeys.EVAL:
        return tf.estimator.EstimatorSpec(mode, loss=loss)
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(0.05)
    train_op = optimizer.minimize(loss, global_step=tf.compat.v1.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def models():
    """``name -> (make(model_dir, config), label key)``."""
    x, x2, color, city, idn, cross = columns()
    return {
        "linear": (
            lambda d, c: tf.estimator.LinearClassifier([x, color, city, cross], model_dir=d, config=c),
            "binary",
        ),
        "dnn": (
            lambda d, c: tf.estimator.DNNClassifier(
                [8, 4],
                [x, fc.embedding_column(color, 3), fc.embedding_column(city, 2)],
                n_classes=3,
                model_dir=d,
                config=c,
            ),
            "classes",
        ),
        "dnn_linear_combined": (
            lambda d, c: tf.estimator.DNNLinearCombinedClassifier(
                model_dir=d,
                linear_feature_columns=[color, city, cross],
                dnn_feature_columns=[x, x2, fc.embedding_column(color, 2), fc.indicator_column(idn)],
                dnn_hidden_units=[6, 4],
                config=c,
            ),
            "binary",
        ),
        "dnn_regressor": (
            lambda d, c: tf.estimator.DNNRegressor(
                [5], [x, x2, fc.embedding_column(color, 2)], label_dimension=2, model_dir=d, config=c
            ),
            "pair",
        ),
        "custom": (lambda d, c: tf.estimator.Estimator(custom_model_fn, model_dir=d, config=c), "scalar"),
        "partitioned": (lambda d, c: tf.estimator.Estimator(partitioned_model_fn, model_dir=d, config=c), "scalar"),
    }


class LossRecorder(tf.estimator.SessionRunHook):
    """Records the value of ``loss`` (the EstimatorSpec's) at every training step."""

    def __init__(self, losses: list):
        self.losses = losses
        self.loss = None

    def before_run(self, run_context):
        return tf.estimator.SessionRunArgs(self.loss)

    def after_run(self, run_context, run_values):
        self.losses.append(float(run_values.results))


def recording(estimator, losses: list):
    """A model_fn: ``estimator``'s, whose TRAIN spec also records its loss into ``losses``."""

    def model_fn(features, labels, mode, config):
        spec = estimator.model_fn(features, labels, mode, config)
        if mode == tf.estimator.ModeKeys.TRAIN:
            hook = LossRecorder(losses)
            hook.loss = spec.loss
            spec = spec._replace(training_hooks=list(spec.training_hooks) + [hook])
        return spec

    return model_fn


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist() if value.dtype.kind not in "SO" else [v.decode() for v in value.reshape(-1)]
    if isinstance(value, bytes):
        return value.decode()
    return value


def write_strings_checkpoint(directory: str) -> dict:
    """A checkpoint (TF's v1 Saver, no estimator) holding a string tensor and a variable
    partitioned in three slices; returns its variables and their values."""
    with tf.Graph().as_default():
        tf.compat.v1.get_variable(
            "names", initializer=tf.constant([["a", "bc", ""], ["\u00e9t\u00e9", "x" * 300, "z"]])
        )
        tf.compat.v1.get_variable(
            "scope/wide", [7, 2], partitioner=tf.compat.v1.fixed_size_partitioner(3),
            initializer=tf.compat.v1.random_uniform_initializer(seed=5),
        )  # fmt: skip
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.train.Saver().save(session, os.path.join(directory, "model.ckpt"), global_step=0)
    return {
        "variables": [[n, list(s)] for n, s in tf.train.list_variables(directory)],
        "values": {n: _plain(tf.train.load_variable(directory, n)) for n, _ in tf.train.list_variables(directory)},
    }


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(here, "..", "tests", "golden"))
    args = parser.parse_args()
    out_dirs = os.path.join(args.out, "tf_model_dirs")
    shutil.rmtree(out_dirs, ignore_errors=True)
    os.makedirs(out_dirs)
    data = {"train": make_data(64, 1), "eval": make_data(32, 2), "predict": make_data(12, 3)}
    golden = {"train_steps": TRAIN_STEPS, "further_steps": FURTHER_STEPS, "batch_size": BATCH, "models": {}}
    golden["data"] = {
        part: {"features": _plain(d["features"]), **{k: d[k].tolist() for k in ("binary", "classes", "pair", "scalar")}}
        for part, d in data.items()
    }
    for name, (make, label_key) in models().items():
        model_dir = os.path.join(out_dirs, name)
        config = tf.estimator.RunConfig(tf_random_seed=7, keep_checkpoint_max=1)
        est = make(model_dir, config)

        def train_input(num_epochs=None, label_key=label_key):
            d = data["train"]
            return inputs.numpy_input_fn(
                d["features"], d[label_key], batch_size=BATCH, shuffle=False, num_epochs=num_epochs
            )

        est.train(train_input(), steps=TRAIN_STEPS)
        ev = data["eval"]
        metrics = est.evaluate(
            inputs.numpy_input_fn(ev["features"], ev[label_key], batch_size=16, shuffle=False, num_epochs=1)
        )
        predicted = list(
            est.predict(inputs.numpy_input_fn(data["predict"]["features"], batch_size=5, shuffle=False, num_epochs=1))
        )
        variables = [[n, list(s)] for n, s in tf.train.list_variables(model_dir)]
        values = {n: _plain(tf.train.load_variable(model_dir, n)) for n, _ in variables}
        further_dir = tempfile.mkdtemp()
        shutil.copytree(model_dir, further_dir, dirs_exist_ok=True)
        losses: list = []
        further = tf.estimator.Estimator(recording(make(further_dir, config), losses), further_dir, config)
        further.train(train_input(), steps=FURTHER_STEPS)
        shutil.rmtree(further_dir)
        for f in os.listdir(model_dir):
            path = os.path.join(model_dir, f)
            keep_meta = name == "custom" and f.endswith(".meta")
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif f.startswith("events.") or f == "graph.pbtxt" or (f.endswith(".meta") and not keep_meta):
                os.remove(path)
        golden["models"][name] = {
            "label": label_key,
            "variables": variables,
            "values": values,
            "global_step": int(metrics["global_step"]),
            "metrics": {k: float(v) for k, v in metrics.items()},
            "predictions": [_plain({k: v for k, v in p.items()}) for p in predicted],
            "further_losses": losses,
        }
        print(name, metrics, len(losses))
    strings_dir = os.path.join(out_dirs, "strings")
    os.makedirs(strings_dir)
    golden["strings"] = write_strings_checkpoint(strings_dir)
    for f in os.listdir(strings_dir):
        if f.endswith(".meta"):
            os.remove(os.path.join(strings_dir, f))
    with open(os.path.join(args.out, "tf_model_dirs.json"), "w") as f:
        json.dump(golden, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
