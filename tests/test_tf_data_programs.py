"""tf.data input_fns as programs write them, with ``tf.`` renamed to ``te.``: the premade-estimator
tutorial (iris, ``from_tensor_slices((dict(features), labels)).shuffle(1000).repeat()``) and the
official census wide & deep model's (``TextLineDataset`` + ``decode_csv`` + ``map`` + ``shuffle`` +
``repeat`` + ``batch``). ``tf.equal(labels, '>50K')`` is written ``labels == '>50K'`` (numpy)."""

from __future__ import annotations

import gzip
import os
from typing import Any

import numpy as np
import pandas as pd

import torch_estimator as te
import torch_estimator.datasets.census as census_data

# -- the premade-estimator tutorial --------------------------------------------------------------
CSV_COLUMN_NAMES = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth", "Species"]


def _iris_frames(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    species = rng.integers(0, 3, size=n)
    centers = np.array([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]])
    x = centers[species] + rng.normal(scale=0.2, size=(n, 4))
    frame = pd.DataFrame(x.astype(np.float32), columns=CSV_COLUMN_NAMES[:4])
    return frame, pd.Series(species, name="Species")


def input_fn(features: Any, labels: Any, training: bool = True, batch_size: int = 256) -> te.data.Dataset:
    """An input function for training or evaluating"""
    # Convert the inputs to a Dataset.
    dataset = te.data.Dataset.from_tensor_slices((dict(features), labels))
    # Shuffle and repeat if you are in training mode.
    if training:
        dataset = dataset.shuffle(1000).repeat()
    return dataset.batch(batch_size)


def predict_input_fn(features: Any, batch_size: int = 256) -> te.data.Dataset:
    """An input function for prediction."""
    # Convert the inputs to a Dataset without labels.
    return te.data.Dataset.from_tensor_slices(dict(features)).batch(batch_size)


def test_premade_estimator_tutorial(tmp_path: Any) -> None:
    train, train_y = _iris_frames(240, 0)
    test, test_y = _iris_frames(90, 1)
    my_feature_columns = []
    for key in train.keys():
        my_feature_columns.append(te.feature_column.numeric_column(key=key))
    classifier = te.estimator.DNNClassifier(
        feature_columns=my_feature_columns, hidden_units=[30, 10], n_classes=3, model_dir=str(tmp_path),
        optimizer=lambda: te.optimizers.Adagrad(learning_rate=0.1), config=te.RunConfig(tf_random_seed=0),
    )  # fmt: skip  # a higher learning rate than the tutorial's (0.001 for 5000 steps): 300 steps here
    classifier.train(input_fn=lambda: input_fn(train, train_y, training=True), steps=300)
    eval_result = classifier.evaluate(input_fn=lambda: input_fn(test, test_y, training=False))
    assert eval_result["accuracy"] > 0.9 and eval_result["global_step"] == 300
    predict_x = {
        "SepalLength": [5.1, 5.9, 6.9],
        "SepalWidth": [3.3, 3.0, 3.1],
        "PetalLength": [1.7, 4.2, 5.4],
        "PetalWidth": [0.5, 1.5, 2.1],
    }
    predictions = classifier.predict(input_fn=lambda: predict_input_fn(predict_x))
    assert [int(p["class_ids"][0]) for p in predictions] == [0, 1, 2]


# -- the official census wide & deep input_fn ------------------------------------------------------
_CSV_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num",
    "marital_status", "occupation", "relationship", "race", "gender",
    "capital_gain", "capital_loss", "hours_per_week", "native_country",
    "income_bracket",
]  # fmt: skip
_CSV_COLUMN_DEFAULTS = [[0], [""], [0], [""], [0], [""], [""], [""], [""], [""], [0], [0], [0], [""], [""]]
_NUM_EXAMPLES = {"train": 32561, "validation": 16281}


def census_input_fn(data_file: str, num_epochs: int, shuffle: bool, batch_size: int) -> te.data.Dataset:
    """Generate an input function for the Estimator."""

    def parse_csv(value: Any) -> Any:
        columns = te.io.decode_csv(value, record_defaults=_CSV_COLUMN_DEFAULTS)
        features = dict(zip(_CSV_COLUMNS, columns))
        labels = features.pop("income_bracket")
        classes = labels == ">50K"  # binary classification
        return features, classes

    # Extract lines from input files using the Dataset API.
    dataset = te.data.TextLineDataset(data_file)
    if shuffle:
        dataset = dataset.shuffle(buffer_size=_NUM_EXAMPLES["train"])
    dataset = dataset.map(parse_csv, num_parallel_calls=5)
    # We call repeat after shuffling, rather than before, to prevent separate epochs from blending together.
    dataset = dataset.repeat(num_epochs)
    dataset = dataset.batch(batch_size)
    return dataset


def _download_and_clean_file(source: str, filename: str) -> None:
    """The official model's cleaning of the downloaded files: stripped lines, no blank lines,
    no trailing '.' (this copy also drops the header row and the gzip)."""
    with gzip.open(source, "rt") as temp_eval_file, open(filename, "w") as eval_file:
        next(temp_eval_file)
        for line in temp_eval_file:
            line = line.strip().replace(", ", ",")
            if not line or "," not in line:
                continue
            if line[-1] == ".":
                line = line[:-1]
            line += "\n"
            eval_file.write(line)


def test_official_census_input_fn(tmp_path: Any) -> None:
    fc = te.feature_column
    here = os.path.dirname(census_data.__file__)
    columns = [
        fc.numeric_column("age"),
        fc.numeric_column("education_num"),
        fc.numeric_column("capital_gain"),
        fc.numeric_column("hours_per_week"),
        fc.categorical_column_with_vocabulary_list(
            "relationship", ["Husband", "Not-in-family", "Wife", "Own-child", "Unmarried", "Other-relative"]
        ),
        fc.categorical_column_with_hash_bucket("occupation", hash_bucket_size=100),
    ]
    model = te.estimator.LinearClassifier(columns, model_dir=str(tmp_path), config=te.RunConfig(tf_random_seed=0))
    train_file, test_file = str(tmp_path / "adult.data"), str(tmp_path / "adult.test")
    _download_and_clean_file(os.path.join(here, "adult.data.csv.gz"), train_file)
    _download_and_clean_file(os.path.join(here, "adult.test.csv.gz"), test_file)
    model.train(input_fn=lambda: census_input_fn(train_file, 2, True, 40), steps=300)
    first = next(iter(census_input_fn(test_file, 1, False, 4)))
    assert sorted(first[0]) == sorted(_CSV_COLUMNS[:-1]) and first[1].dtype == np.bool_
    assert first[0]["age"].dtype == np.int32 and first[0]["age"].tolist() == [25, 38, 28, 44]
    results = model.evaluate(input_fn=lambda: census_input_fn(test_file, 1, False, 500), steps=8)
    assert results["global_step"] == 300
    assert results["accuracy"] > 0.78  # the majority class is 0.76; measured 0.82
