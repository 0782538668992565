"""The ratings workload of ``engine.py`` in tf.estimator 2.15 (run with the side virtualenv's python).

Usage: PY tf_ratings.py DIR BATCH EPOCHS (DIR written by ``ratings_data.py write``); one JSON line.
"""

import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")
fc = tf.feature_column
USERS, ITEMS = 943, 1682
GENRES = [
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
    "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
]  # fmt: skip
directory, batch, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def load(path):
    frame = pd.read_csv(path)
    y = frame.pop("rating").to_numpy(np.float32)
    frame["age"] = frame["age"].astype(np.float32)
    return frame, y


train_x, train_y = load(os.path.join(directory, "ratings_train.csv"))
test_x, test_y = load(os.path.join(directory, "ratings_test.csv"))
user = fc.categorical_column_with_identity("user_id", USERS)
item = fc.categorical_column_with_identity("item_id", ITEMS)
genre = fc.categorical_column_with_vocabulary_list("genre", GENRES)
age = fc.bucketized_column(fc.numeric_column("age"), [18, 25, 35, 45, 50, 56])
wide = [user, item, genre, age, fc.crossed_column([age, "genre"], 1000)]
deep = [
    fc.embedding_column(user, 16),
    fc.embedding_column(item, 16),
    fc.indicator_column(genre),
    fc.numeric_column("age"),
]
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


start = time.perf_counter()
est.train(input_fn(train_x, train_y, True, epochs))
train_s = time.perf_counter() - start
metrics = est.evaluate(input_fn(test_x, test_y, False, 1))
start = time.perf_counter()
n = sum(1 for _ in est.predict(input_fn(test_x, None, False, 1)))
predict_s = time.perf_counter() - start
print(json.dumps({
    "system": "tf.estimator " + tf.__version__, "batch": batch, "epochs": epochs,
    "train_examples_per_s": round(len(train_y) * epochs / train_s), "train_s": round(train_s, 2),
    "predict_examples_per_s": round(n / predict_s), "rmse": round(float(np.sqrt(metrics["average_loss"])), 4),
    "global_step": int(metrics["global_step"]),
}))  # fmt: skip
