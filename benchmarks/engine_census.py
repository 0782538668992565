"""torch_estimator's side of ``engine.py``'s census workload: ``../shared/bench/tf_census.py`` with
the import changed (same columns, default optimizers, raw pandas features, shuffled epochs).

Usage: python engine_census.py DATA_DIR BATCH EPOCHS; prints one JSON line as the reference does.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile

import numpy as np
import pandas as pd
from _measure import train_evaluate_predict

import torch_estimator as te

fc = te.feature_column
COLS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
    "relationship", "race", "gender", "capital_gain", "capital_loss", "hours_per_week", "native_country",
    "income_bracket",
]  # fmt: skip
VOCABULARIES = {
    "education": [
        "Bachelors", "HS-grad", "11th", "Masters", "9th", "Some-college", "Assoc-acdm", "Assoc-voc", "7th-8th",
        "Doctorate", "Prof-school", "5th-6th", "10th", "1st-4th", "Preschool", "12th",
    ],
    "marital_status": [
        "Married-civ-spouse", "Divorced", "Married-spouse-absent", "Never-married", "Separated", "Married-AF-spouse",
        "Widowed",
    ],
    "relationship": ["Husband", "Not-in-family", "Wife", "Own-child", "Unmarried", "Other-relative"],
    "workclass": [
        "Self-emp-not-inc", "Private", "State-gov", "Federal-gov", "Local-gov", "?", "Self-emp-inc", "Without-pay",
        "Never-worked",
    ],
}  # fmt: skip


def load(path: str) -> tuple[pd.DataFrame, np.ndarray]:
    df = pd.read_csv(path, header=0, names=COLS, skipinitialspace=True).dropna(how="all")
    y = df.pop("income_bracket").str.rstrip(".").eq(">50K").astype(np.int64).values
    for c in ["age", "education_num", "capital_gain", "capital_loss", "hours_per_week", "fnlwgt"]:
        df[c] = df[c].astype(np.float32)
    return df, y


def columns() -> tuple[list, list]:
    age = fc.numeric_column("age")
    vocab = {k: fc.categorical_column_with_vocabulary_list(k, v) for k, v in VOCABULARIES.items()}
    occupation = fc.categorical_column_with_hash_bucket("occupation", hash_bucket_size=1000)
    age_buckets = fc.bucketized_column(age, boundaries=[18, 25, 30, 35, 40, 45, 50, 55, 60, 65])
    wide = [
        vocab["education"], vocab["marital_status"], vocab["relationship"], vocab["workclass"], occupation, age_buckets,
        fc.crossed_column(["education", "occupation"], hash_bucket_size=1000),
        fc.crossed_column([age_buckets, "education", "occupation"], hash_bucket_size=1000),
    ]  # fmt: skip
    deep = [age] + [fc.numeric_column(n) for n in ("education_num", "capital_gain", "capital_loss", "hours_per_week")]
    deep += [fc.indicator_column(vocab[k]) for k in ("workclass", "education", "marital_status", "relationship")]
    deep += [fc.embedding_column(occupation, dimension=8)]
    return wide, deep


def main() -> None:
    data_dir, batch, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    logging.getLogger("torch_estimator").setLevel(logging.WARNING)
    train_x, train_y = load(os.path.join(data_dir, "adult.data.csv"))
    test_x, test_y = load(os.path.join(data_dir, "adult.test.csv"))
    wide, deep = columns()
    config = te.RunConfig(
        tf_random_seed=0, save_checkpoints_secs=None, save_checkpoints_steps=10**9, log_step_count_steps=10**9
    )
    est = te.DNNLinearCombinedClassifier(
        model_dir=tempfile.mkdtemp(), linear_feature_columns=wide, dnn_feature_columns=deep,
        dnn_hidden_units=[100, 75, 50, 25], config=config,
    )  # fmt: skip

    def input_fn(x: pd.DataFrame, y: np.ndarray | None, shuffle: bool, num_epochs: int):
        return te.inputs.pandas_input_fn(
            x,
            None if y is None else pd.Series(y, index=x.index),
            batch_size=batch,
            num_epochs=num_epochs,
            shuffle=shuffle,
        )

    result = train_evaluate_predict(
        est, input_fn(train_x, train_y, True, epochs), input_fn(test_x, test_y, False, 1),
        input_fn(test_x, None, False, 1), len(train_y) * epochs, len(test_y),
    )  # fmt: skip
    metrics = result.pop("metrics")
    print(json.dumps({
        "system": "torch_estimator " + te.__version__, "batch": batch, "epochs": epochs, **result,
        "accuracy": round(float(metrics["accuracy"]), 4), "auc": round(float(metrics["auc"]), 4),
        "loss": round(float(metrics["average_loss"]), 4), "global_step": int(metrics["global_step"]),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
