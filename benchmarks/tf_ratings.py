"""The ratings workload of ``engine.py`` in tf.estimator 2.15 (run with the side virtualenv's python).

Usage: PY tf_ratings.py DIR BATCH EPOCHS (DIR written by ``ratings_data.py write``); one JSON line.
"""

import json
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402
from _measure import train_evaluate_predict  # noqa: E402
from ratings_data import columns, load, ratings_result  # noqa: E402

tf.get_logger().setLevel("ERROR")
directory, batch, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
train_x, train_y = load(os.path.join(directory, "ratings_train.csv"))
test_x, test_y = load(os.path.join(directory, "ratings_test.csv"))
wide, deep = columns(tf.feature_column)
config = tf.estimator.RunConfig(
    tf_random_seed=0, save_checkpoints_secs=None, save_checkpoints_steps=10**9, log_step_count_steps=10**9
)
est = tf.estimator.DNNLinearCombinedRegressor(
    model_dir=tempfile.mkdtemp(),
    linear_feature_columns=wide,
    dnn_feature_columns=deep,
    dnn_hidden_units=[64, 32],
    config=config,
)


def input_fn(x, y, shuffle, num_epochs):
    def fn():
        ds = tf.data.Dataset.from_tensor_slices((dict(x), y) if y is not None else dict(x))
        if shuffle:
            ds = ds.shuffle(10000, seed=0)
        return ds.repeat(num_epochs).batch(batch).prefetch(2)

    return fn


result = train_evaluate_predict(
    est,
    input_fn(train_x, train_y, True, epochs),
    input_fn(test_x, test_y, False, 1),
    input_fn(test_x, None, False, 1),
    len(train_y) * epochs,
    len(test_y),
)
print(json.dumps(ratings_result("tf.estimator " + tf.__version__, batch, epochs, result)))
