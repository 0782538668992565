"""Read golden warm-starting behaviour off real TensorFlow.

This is a developer tool, NOT part of the package: TensorFlow is never a dependency of
torch_estimator.  Run it by hand with an interpreter that has tensorflow 2.15 and
tensorflow-estimator 2.15 installed, e.g.

    /tmp/tf215/bin/python tools/read_tf_warm_start_golden.py

It writes ``tests/golden/warm_start.json`` (path overridable with ``--out``):

* ``remap``: ``tf.compat.v1.train.warm_start`` of one variable with a ``VocabInfo``: the old
  matrix and vocabularies, the VocabInfo arguments and the resulting matrix.  The backup
  initializer is either None (zeros) or ``range_from_100``: a tensor of the requested shape
  holding 100, 101, ... in row-major order, so the order in which TF fills new and OOV entries
  is visible.
* ``selection``: which of the variables ``dense/kernel``, ``dense/bias`` (trainable) and
  ``bn/moving_mean`` (not trainable) each ``vars_to_warm_start`` warm-starts, and TF's count.
* ``messages``: the texts of TF's errors (checkpoint paths replaced by ``{ckpt}``).
* ``estimator_logs``: the warm-start log lines of ``Estimator.train`` warm-started from an
  export directory, in order, with the lines around them.
"""

import argparse
import json
import logging
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf
import tensorflow_estimator as tfe
from tensorflow.python.training import warm_starting_util as ws

tf.get_logger().setLevel("ERROR")

OLD_VOCAB = ["a", "b", "c", "d"]
NEW_VOCAB = ["c", "x", "a", "y", "b"]
OLD = (np.arange(12, dtype=np.float32).reshape(4, 3) + 1).tolist()
REMAP_CASES = [
    {
        "name": "axis0_zeros",
        "shape": [7, 3],
        "new_vocab_size": 5,
        "num_oov_buckets": 2,
        "old_vocab_size": -1,
        "backup": None,
        "axis": 0,
    },
    {
        "name": "axis0_range",
        "shape": [7, 3],
        "new_vocab_size": 5,
        "num_oov_buckets": 2,
        "old_vocab_size": -1,
        "backup": "range_from_100",
        "axis": 0,
    },
    {
        "name": "axis0_old_size_2",
        "shape": [7, 3],
        "new_vocab_size": 5,
        "num_oov_buckets": 2,
        "old_vocab_size": 2,
        "backup": "range_from_100",
        "axis": 0,
    },
    {
        "name": "axis0_new_size_3",
        "shape": [4, 3],
        "new_vocab_size": 3,
        "num_oov_buckets": 1,
        "old_vocab_size": -1,
        "backup": None,
        "axis": 0,
    },
    {
        "name": "axis1_range",
        "shape": [4, 6],
        "new_vocab_size": 5,
        "num_oov_buckets": 1,
        "old_vocab_size": 3,
        "backup": "range_from_100",
        "axis": 1,
    },
]


def range_from_100(shape, dtype=tf.float32, partition_info=None):
    del partition_info
    count = tf.reduce_prod(shape)
    return tf.reshape(tf.range(100, 100 + tf.cast(count, tf.float32), dtype=tf.float32), shape)


def write_lines(directory, name, lines):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    return path


def save_checkpoint(directory, values, trainable=()):
    with tf.Graph().as_default():
        for name, value in values.items():
            tf.compat.v1.get_variable(name, initializer=np.asarray(value, np.float32), trainable=name in trainable)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return tf.compat.v1.train.Saver().save(sess, os.path.join(directory, "model.ckpt"))


def warm_start_values(ckpt, variables, vars_to_warm_start=".*", vocab_info=None, prev=None):
    """Values of ``variables`` ({name: (shape, trainable)}, initialised to -7) after warm_start."""
    with tf.Graph().as_default():
        created = {
            name: tf.compat.v1.get_variable(
                name, shape, initializer=tf.compat.v1.constant_initializer(-7.0), trainable=trainable
            )
            for name, (shape, trainable) in variables.items()
        }
        ws.warm_start(ckpt, vars_to_warm_start, vocab_info, prev)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return {name: sess.run(v).tolist() for name, v in created.items()}


def error_text(fn, ckpt):
    try:
        fn()
    except ValueError as e:
        return str(e).replace(ckpt, "{ckpt}")
    raise AssertionError("expected a ValueError")


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def estimator_logs(directory):
    def model_fn(features, labels, mode):
        logits = tf.compat.v1.layers.dense(features["x"], 1, name="dense")
        if mode == tfe.estimator.ModeKeys.PREDICT:
            return tfe.estimator.EstimatorSpec(mode, predictions={"y": logits})
        loss = tf.reduce_mean(tf.square(logits - labels))
        train_op = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss, tf.compat.v1.train.get_global_step())
        return tfe.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)

    def input_fn():
        return tf.data.Dataset.from_tensors(({"x": [[1.0, 2.0]]}, [[1.0]])).repeat()

    old = tfe.estimator.Estimator(model_fn, os.path.join(directory, "old"))
    old.train(input_fn, steps=2)
    receiver = tfe.estimator.export.build_raw_serving_input_receiver_fn(
        {"x": tf.compat.v1.placeholder(tf.float32, [None, 2])}
    )
    export_dir = old.export_saved_model(os.path.join(directory, "export"), receiver).decode()
    handler = Lines()
    logger = tf.get_logger()
    logger.addHandler(handler)
    logger.setLevel("INFO")
    try:
        new = tfe.estimator.Estimator(model_fn, os.path.join(directory, "new"), warm_start_from=export_dir)
        new.train(input_fn, steps=1)
    finally:
        logger.removeHandler(handler)
        logger.setLevel("ERROR")
    keep = ("warm-start", "calling model_fn", "create checkpointsaverhook")
    lines = [line.replace(export_dir, "{export_dir}") for line in handler.lines if any(k in line.lower() for k in keep)]
    step = int(new.get_variable_value("global_step"))
    kernel_equal = bool(np.array_equal(new.get_variable_value("dense/kernel"), old.get_variable_value("dense/kernel")))
    return {"lines": lines, "global_step_after_one_step": step, "kernel_changed_by_one_step": not kernel_equal}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "warm_start.json")
    )
    args = parser.parse_args()
    tf.compat.v1.disable_eager_execution()
    directory = tempfile.mkdtemp()
    old_vocab = write_lines(directory, "old_vocab.txt", OLD_VOCAB)
    new_vocab = write_lines(directory, "new_vocab.txt", NEW_VOCAB)
    ckpt = save_checkpoint(directory, {"emb": OLD})

    remap = []
    for case in REMAP_CASES:
        info = ws.VocabInfo(
            new_vocab,
            case["new_vocab_size"],
            case["num_oov_buckets"],
            old_vocab,
            case["old_vocab_size"],
            range_from_100 if case["backup"] else None,
            case["axis"],
        )
        values = warm_start_values(ckpt, {"emb": (case["shape"], True)}, ".*", {"emb": info})
        remap.append({**case, "expected": values["emb"]})

    sel_dir = tempfile.mkdtemp()
    sel_values = {"dense/kernel": np.ones((2, 3)), "dense/bias": np.ones(3), "bn/moving_mean": np.ones(3)}
    sel_ckpt = save_checkpoint(sel_dir, sel_values, trainable=("dense/kernel", "dense/bias"))
    variables = {"dense/kernel": ([2, 3], True), "dense/bias": ([3], True), "bn/moving_mean": ([3], False)}
    selection = []
    for pattern in [".*", "dense", "kernel", ".*kernel$", ".*kernel:0$", ["dense"], ["bn"], [".*"], "", []]:
        values = warm_start_values(sel_ckpt, variables, pattern)
        selection.append(
            {
                "vars_to_warm_start": pattern,
                "warm_started": sorted(n for n, v in values.items() if np.all(np.asarray(v) == 1.0)),
            }
        )

    messages = {
        "shape_mismatch": error_text(lambda: warm_start_values(ckpt, {"emb": ([5, 3], True)}), ckpt),
        "not_found": error_text(lambda: warm_start_values(ckpt, {"other": ([4, 3], True)}), ckpt),
        "prev_not_used": error_text(
            lambda: warm_start_values(ckpt, {"emb": ([4, 3], True)}, ".*", None, {"zzz": "emb"}), ckpt
        ),
        "vocab_not_used": error_text(
            lambda: warm_start_values(
                ckpt, {"emb": ([4, 3], True)}, ".*", {"zzz": ws.VocabInfo(new_vocab, 5, 0, old_vocab)}
            ),
            ckpt,
        ),
        "axis": error_text(lambda: ws.VocabInfo(new_vocab, 5, 0, old_vocab, axis=2), ckpt),
        "empty_ckpt": error_text(lambda: tfe.estimator.WarmStartSettings(""), ckpt),
        "warm_start_from_type": error_text(
            lambda: tfe.estimator.Estimator(lambda features: None, warm_start_from=3), ckpt
        ),
        "settings_repr": repr(tfe.estimator.WarmStartSettings("/x", vars_to_warm_start=".*linear.*")),
        "vocab_info_repr": repr(ws.VocabInfo("new.txt", 5, 1, "old.txt")),
    }

    golden = {
        "tensorflow_version": tf.__version__,
        "old_vocab": OLD_VOCAB,
        "new_vocab": NEW_VOCAB,
        "old": OLD,
        "remap": remap,
        "selection": selection,
        "messages": messages,
        "estimator_logs": estimator_logs(tempfile.mkdtemp()),
    }
    with open(args.out, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print("wrote", os.path.abspath(args.out))


if __name__ == "__main__":
    main()
