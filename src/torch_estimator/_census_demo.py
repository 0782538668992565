"""The census demo: train, evaluate and report a binary income classifier on the shipped data."""

from __future__ import annotations

import tempfile
import time
from typing import Any

import numpy as np
import pandas as pd
import torch

from . import inputs, layers, metrics, optimizers
from ._estimator import Estimator
from ._mode_keys import ModeKeys
from ._run_config import RunConfig
from ._spec import EstimatorSpec
from .datasets import load_census

__all__ = ["run_census"]

NUMERIC = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
CATEGORICAL = ["workclass", "education", "marital-status", "occupation", "relationship", "race", "sex"]


def _encode(frame: pd.DataFrame, reference: pd.DataFrame) -> np.ndarray:
    """Standardised numeric columns and one-hot categorical columns (vocabulary from ``reference``)."""
    parts = [((frame[NUMERIC] - reference[NUMERIC].mean()) / reference[NUMERIC].std()).to_numpy(np.float32)]
    for column in CATEGORICAL:
        categories = sorted(reference[column].unique())
        codes = pd.Categorical(frame[column], categories=categories).codes
        one_hot = np.zeros((len(frame), len(categories)), dtype=np.float32)
        rows = np.flatnonzero(codes >= 0)
        one_hot[rows, codes[rows]] = 1.0
        parts.append(one_hot)
    return np.concatenate(parts, axis=1)


def census_model_fn(features: dict[str, torch.Tensor], labels: torch.Tensor | None, mode: str, params: dict[str, Any]) -> EstimatorSpec:
    """A small feed-forward binary classifier written as a custom model_fn."""
    net = features["x"]
    for i, units in enumerate(params["hidden_units"]):
        net = layers.dense(net, units, activation="relu", name=f"dnn/hiddenlayer_{i}")
    logits = layers.dense(net, 1, name="dnn/logits")
    probability = torch.sigmoid(logits)
    predictions = {"logits": logits, "logistic": probability, "class_ids": (logits > 0).long()}
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions=predictions)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    train_op = optimizers.get("Adagrad", learning_rate=params["learning_rate"]).minimize(loss) if mode == ModeKeys.TRAIN else None
    eval_metric_ops = {
        "accuracy": metrics.accuracy(labels, predictions["class_ids"]),
        "label/mean": metrics.mean(labels),
        "prediction/mean": metrics.mean(probability),
    }
    return EstimatorSpec(mode, predictions=predictions, loss=loss, train_op=train_op, eval_metric_ops=eval_metric_ops)


def run_census(epochs: int = 5, batch_size: int = 256, model_dir: str | None = None, learning_rate: float = 0.1, seed: int = 0) -> dict[str, Any]:
    """Trains on the census training split, evaluates on the test split; returns the metrics."""
    train, test = load_census("train"), load_census("test")
    x_train, x_test = _encode(train, train), _encode(test, train)
    y_train = (train["class"] == ">50K").to_numpy(np.float32)[:, None]
    y_test = (test["class"] == ">50K").to_numpy(np.float32)[:, None]
    model_dir = model_dir or tempfile.mkdtemp(prefix="census-")
    estimator = Estimator(
        census_model_fn,
        model_dir=model_dir,
        params={"hidden_units": [100, 50], "learning_rate": learning_rate},
        config=RunConfig(tf_random_seed=seed, save_checkpoints_steps=1000, log_step_count_steps=200),
    )
    print(f"Training on {len(x_train)} rows: {epochs} epochs, batch size {batch_size}, Adagrad learning rate {learning_rate}; model_dir {model_dir}")
    start = time.time()
    estimator.train(inputs.numpy_input_fn({"x": x_train}, y_train, batch_size=batch_size, num_epochs=epochs, shuffle=True))
    train_secs = time.time() - start
    result = estimator.evaluate(inputs.numpy_input_fn({"x": x_test}, y_test, batch_size=4096, shuffle=False))
    print(f"\nTrained {result['global_step']} steps in {train_secs:.1f}s ({len(x_train) * epochs / train_secs:,.0f} examples/s)")
    print(f"Evaluation on {len(x_test)} test rows:")
    for key in sorted(result):
        print(f"  {key:<16} {result[key]!s}")
    return result
