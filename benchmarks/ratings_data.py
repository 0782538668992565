"""The ratings-style workload of ``engine.py``: synthetic MovieLens-100k-shaped ratings (943 users,
1,682 items, 18 genres, user ages) and torch_estimator's wide & deep regressor on them.

    python ratings_data.py write DIR              # DIR/ratings_train.csv, DIR/ratings_test.csv
    python ratings_data.py train DIR BATCH EPOCHS  # one JSON line (as the reference scripts print)

``tf_ratings.py`` is the same model in tf.estimator 2.15.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from typing import Any

import numpy as np
import pandas as pd
from _measure import train_evaluate_predict

USERS, ITEMS, ROWS = 943, 1682, 100_000
GENRES = [
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
    "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
]  # fmt: skip
AGE_BOUNDARIES = [18, 25, 35, 45, 50, 56]


def write(directory: str) -> None:
    """Writes the data set (seeded: the same files every time)."""
    rng = np.random.default_rng(0)
    user_age = rng.integers(7, 74, USERS)
    item_genre = rng.integers(0, len(GENRES), ITEMS)
    user_bias, item_bias = rng.normal(0, 0.5, USERS), rng.normal(0, 0.7, ITEMS)
    taste = rng.normal(0, 0.6, (len(AGE_BOUNDARIES) + 1, len(GENRES)))
    users = np.minimum(rng.zipf(1.3, ROWS) - 1, USERS - 1)
    items = np.minimum(rng.zipf(1.2, ROWS) - 1, ITEMS - 1)
    users, items = rng.permutation(USERS)[users], rng.permutation(ITEMS)[items]
    age, genre = user_age[users], item_genre[items]
    score = 3.5 + user_bias[users] + item_bias[items] + taste[np.searchsorted(AGE_BOUNDARIES, age, side="right"), genre]
    rating = np.clip(np.round(score + rng.normal(0, 0.8, ROWS)), 1, 5).astype(np.float32)
    frame = pd.DataFrame(
        {
            "user_id": users,
            "item_id": items,
            "genre": np.array(GENRES)[genre],
            "age": age.astype(np.float32),
            "rating": rating,
        }
    )
    os.makedirs(directory, exist_ok=True)
    split = int(ROWS * 0.9)
    frame.iloc[:split].to_csv(os.path.join(directory, "ratings_train.csv"), index=False)
    frame.iloc[split:].to_csv(os.path.join(directory, "ratings_test.csv"), index=False)
    print(json.dumps({"rows": ROWS, "directory": directory}))


def load(path: str) -> tuple[pd.DataFrame, np.ndarray]:
    frame = pd.read_csv(path)
    y = frame.pop("rating").to_numpy(np.float32)
    frame["age"] = frame["age"].astype(np.float32)
    return frame, y


def columns(fc: Any) -> tuple[list, list]:
    """The model's (linear, dnn) feature columns, built with ``fc``: ``te.feature_column`` or
    ``tf.feature_column`` (the same names and arguments)."""
    user = fc.categorical_column_with_identity("user_id", USERS)
    item = fc.categorical_column_with_identity("item_id", ITEMS)
    genre = fc.categorical_column_with_vocabulary_list("genre", GENRES)
    age = fc.bucketized_column(fc.numeric_column("age"), AGE_BOUNDARIES)
    wide = [user, item, genre, age, fc.crossed_column([age, "genre"], 1000)]
    deep = [
        fc.embedding_column(user, 16),
        fc.embedding_column(item, 16),
        fc.indicator_column(genre),
        fc.numeric_column("age"),
    ]
    return wide, deep


def train(directory: str, batch: int, epochs: int) -> None:
    import torch_estimator as te

    fc = te.feature_column
    logging.getLogger("torch_estimator").setLevel(logging.WARNING)
    train_x, train_y = load(os.path.join(directory, "ratings_train.csv"))
    test_x, test_y = load(os.path.join(directory, "ratings_test.csv"))
    wide, deep = columns(fc)
    config = te.RunConfig(
        tf_random_seed=0, save_checkpoints_secs=None, save_checkpoints_steps=10**9, log_step_count_steps=10**9
    )
    est = te.DNNLinearCombinedRegressor(
        model_dir=tempfile.mkdtemp(), linear_feature_columns=wide, dnn_feature_columns=deep, dnn_hidden_units=[64, 32],
        config=config,
    )  # fmt: skip

    def input_fn(x: pd.DataFrame, y: np.ndarray | None, shuffle: bool, num_epochs: int):
        labels = None if y is None else pd.Series(y, index=x.index)
        return te.inputs.pandas_input_fn(x, labels, batch_size=batch, num_epochs=num_epochs, shuffle=shuffle)

    result = train_evaluate_predict(
        est, input_fn(train_x, train_y, True, epochs), input_fn(test_x, test_y, False, 1),
        input_fn(test_x, None, False, 1), len(train_y) * epochs, len(test_y),
    )  # fmt: skip
    print(json.dumps(ratings_result("torch_estimator " + te.__version__, batch, epochs, result)))


def ratings_result(system: str, batch: int, epochs: int, result: dict) -> dict:
    """The JSON line of a ratings run (``train_evaluate_predict``'s result, RMSE from the loss)."""
    metrics = result.pop("metrics")
    return {
        "system": system, "batch": batch, "epochs": epochs, **result,
        "rmse": round(float(np.sqrt(metrics["average_loss"])), 4), "global_step": int(metrics["global_step"]),
    }  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        train(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
