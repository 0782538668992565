"""The census income wide & deep job: canonical columns, input functions, train / evaluate / report."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch

from torch_estimator import feature_column as fc
from torch_estimator._core.optimizers import Adagrad, Ftrl
from torch_estimator._engine.run_config import RunConfig
from torch_estimator._estimator.estimator import Estimator
from torch_estimator._inputs import numpy_pandas as inputs
from torch_estimator.canned import DNNClassifier, DNNLinearCombinedClassifier, LinearClassifier
from torch_estimator.datasets import load_census
from torch_estimator.export import build_parsing_serving_input_receiver_fn

__all__ = ["census_columns", "census_features", "census_input_fn", "run_census", "NUMERIC_COLUMNS"]

NUMERIC_COLUMNS = ("age", "education-num", "capital-gain", "capital-loss", "hours-per-week")
EDUCATION = [
    "Bachelors",
    "HS-grad",
    "11th",
    "Masters",
    "9th",
    "Some-college",
    "Assoc-acdm",
    "Assoc-voc",
    "7th-8th",
    "Doctorate",
    "Prof-school",
    "5th-6th",
    "10th",
    "1st-4th",
    "Preschool",
    "12th",
]
MARITAL_STATUS = [
    "Married-civ-spouse",
    "Divorced",
    "Married-spouse-absent",
    "Never-married",
    "Separated",
    "Married-AF-spouse",
    "Widowed",
]
RELATIONSHIP = ["Husband", "Not-in-family", "Wife", "Own-child", "Unmarried", "Other-relative"]
WORKCLASS = [
    "Self-emp-not-inc",
    "Private",
    "State-gov",
    "Federal-gov",
    "Local-gov",
    "?",
    "Self-emp-inc",
    "Without-pay",
    "Never-worked",
]
AGE_BOUNDARIES = [18, 25, 30, 35, 40, 45, 50, 55, 60, 65]
CAPITAL_GAIN_BOUNDARIES = [1, 3000, 5000, 7000, 10000, 15000]
CAPITAL_LOSS_BOUNDARIES = [1, 1500, 1800, 2000, 2500]
#: Mean and standard deviation over the training split, for the deep part's scaled inputs.
STANDARDIZE = {"age": (38.58, 13.64), "education-num": (10.08, 2.57), "hours-per-week": (40.44, 12.35)}


def _standardized(name: str) -> fc.FeatureColumn:
    mean, std = STANDARDIZE[name]
    return fc.numeric_column(name, normalizer_fn=lambda x: (x - mean) / std)


def _log_scaled(name: str) -> fc.FeatureColumn:
    """``log1p(x) / 5``: capital amounts (0 to 99,999) to about [0, 2.3]."""
    return fc.numeric_column(name, normalizer_fn=lambda x: torch.log1p(x) / 5.0)


def census_columns(scaled: bool = False) -> tuple[list[fc.FeatureColumn], list[fc.FeatureColumn]]:
    """``(wide, deep)``: the canonical census wide & deep feature columns.

    ``scaled`` (the census job's columns): the deep part's numeric inputs are standardised
    (capital amounts log-scaled) and the wide part buckets the capital amounts as well, which
    makes the job reach its accuracy in a few epochs whatever the seed or platform."""
    age = fc.numeric_column("age")
    education = fc.categorical_column_with_vocabulary_list("education", EDUCATION)
    marital = fc.categorical_column_with_vocabulary_list("marital-status", MARITAL_STATUS)
    relationship = fc.categorical_column_with_vocabulary_list("relationship", RELATIONSHIP)
    workclass = fc.categorical_column_with_vocabulary_list("workclass", WORKCLASS)
    occupation = fc.categorical_column_with_hash_bucket("occupation", 1000)
    age_buckets = fc.bucketized_column(age, AGE_BOUNDARIES)
    wide: list[fc.FeatureColumn] = [
        education,
        marital,
        relationship,
        workclass,
        occupation,
        age_buckets,
        fc.crossed_column(["education", "occupation"], 1000),
        fc.crossed_column([age_buckets, "education", "occupation"], 1000),
    ]
    numeric: list[fc.FeatureColumn] = [fc.numeric_column(name) for name in NUMERIC_COLUMNS]
    if scaled:
        wide += [
            fc.bucketized_column(fc.numeric_column("capital-gain"), CAPITAL_GAIN_BOUNDARIES),
            fc.bucketized_column(fc.numeric_column("capital-loss"), CAPITAL_LOSS_BOUNDARIES),
        ]
        numeric = [_log_scaled(name) if name.startswith("capital") else _standardized(name) for name in NUMERIC_COLUMNS]
    deep = numeric + [
        fc.indicator_column(workclass),
        fc.indicator_column(education),
        fc.indicator_column(marital),
        fc.indicator_column(relationship),
        fc.embedding_column(occupation, 8),
    ]
    return wide, deep


def census_features(frame: pd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Raw features (numeric columns as float32, strings as object arrays) and 0/1 labels."""
    features = {c: frame[c].to_numpy() for c in frame.columns if c != "class"}
    for name in NUMERIC_COLUMNS:
        features[name] = features[name].astype(np.float32)
    labels = (frame["class"].to_numpy() == ">50K").astype(np.int64)
    return features, labels


def census_input_fn(split: str, batch_size: int, num_epochs: int | None, shuffle: bool) -> Callable[[], Any]:
    """An input_fn over the shipped census ``split`` ('train' or 'test')."""
    features, labels = census_features(load_census(split))
    return inputs.numpy_input_fn(features, labels, batch_size=batch_size, num_epochs=num_epochs, shuffle=shuffle)


def build_estimator(
    model_type: str, model_dir: str, dnn_learning_rate: float, linear_learning_rate: float, seed: int
) -> Estimator:
    wide, deep = census_columns(scaled=True)
    config = RunConfig(tf_random_seed=seed, save_checkpoints_steps=2000, log_step_count_steps=200)
    hidden = [100, 75, 50, 25]
    if model_type == "wide":
        return LinearClassifier(
            wide, model_dir=model_dir, optimizer=Ftrl(learning_rate=linear_learning_rate), config=config
        )
    if model_type == "deep":
        return DNNClassifier(
            hidden, deep, model_dir=model_dir, optimizer=Adagrad(learning_rate=dnn_learning_rate), config=config
        )
    if model_type == "wide_deep":
        return DNNLinearCombinedClassifier(
            model_dir=model_dir,
            linear_feature_columns=wide,
            linear_optimizer=Ftrl(learning_rate=linear_learning_rate),
            dnn_feature_columns=deep,
            dnn_optimizer=Adagrad(learning_rate=dnn_learning_rate),
            dnn_hidden_units=hidden,
            config=config,
        )
    raise ValueError(f"model_type must be 'wide', 'deep' or 'wide_deep'; got {model_type!r}.")


def run_census(
    model_type: str = "wide_deep",
    epochs: int = 8,
    batch_size: int = 256,
    model_dir: str | None = None,
    dnn_learning_rate: float = 0.05,
    linear_learning_rate: float = 0.1,
    seed: int = 0,
) -> dict[str, Any]:
    """Trains on the census training split, evaluates on the test split, exports a servable model
    under ``model_dir/export/census``, prints and returns the metrics (and ``export_dir``)."""
    model_dir = model_dir or tempfile.mkdtemp(prefix="census-")
    estimator = build_estimator(model_type, model_dir, dnn_learning_rate, linear_learning_rate, seed)
    print(
        f"Census {model_type}: {epochs} epochs, batch size {batch_size}, "
        f"Adagrad learning rate {dnn_learning_rate} (deep), "
        f"Ftrl learning rate {linear_learning_rate} (wide); model_dir {model_dir}"
    )
    start = time.time()
    estimator.train(census_input_fn("train", batch_size, epochs, shuffle=True))
    train_secs = time.time() - start
    result = estimator.evaluate(census_input_fn("test", 4096, 1, shuffle=False))
    rows = 32561 * epochs
    print(f"\nTrained {result['global_step']} steps in {train_secs:.1f}s ({rows / train_secs:,.0f} examples/s)")
    print("Evaluation on the 16,281 test rows:")
    for key in sorted(result):
        print(f"  {key:<24} {result[key]!s}")
    wide, deep = census_columns(scaled=True)
    columns = {"wide": wide, "deep": deep}.get(model_type, wide + deep)
    receiver = build_parsing_serving_input_receiver_fn(fc.make_parse_example_spec(columns))
    export_dir = estimator.export_saved_model(os.path.join(model_dir, "export", "census"), receiver).decode()
    print(f"\nExported a servable model to {export_dir}")
    print(f"Serve it with: torch-estimator serve --model_base_path {os.path.dirname(export_dir)} --model_name census")
    result["export_dir"] = export_dir
    return result
