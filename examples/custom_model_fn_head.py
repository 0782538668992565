"""A custom model_fn with a LogisticRegressionHead, as in TensorFlow's documentation.

Predicts the probability that a census respondent earns more than $50K from numeric columns.
Run: python examples/custom_model_fn_head.py
"""

from __future__ import annotations

import tempfile

import numpy as np

import torch_estimator as te
from torch_estimator.datasets import load_census

NUMERIC = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]


def model_fn(features, labels, mode):
    head = te.LogisticRegressionHead()
    net = features["x"]
    for units in (32, 16):
        net = te.layers.dense(net, units, activation="relu")
    logits = te.layers.dense(net, head.logits_dimension, name="logits")
    return head.create_estimator_spec(
        features=features, mode=mode, labels=labels, optimizer=te.optimizers.Adagrad(learning_rate=0.1), logits=logits
    )


def main() -> None:
    train, test = load_census("train"), load_census("test")
    mean, std = train[NUMERIC].mean(), train[NUMERIC].std()
    x_train = ((train[NUMERIC] - mean) / std).to_numpy(np.float32)
    x_test = ((test[NUMERIC] - mean) / std).to_numpy(np.float32)
    y_train = (train["class"] == ">50K").to_numpy(np.float32)[:, None]
    y_test = (test["class"] == ">50K").to_numpy(np.float32)[:, None]
    estimator = te.Estimator(model_fn, model_dir=tempfile.mkdtemp(), config=te.RunConfig(tf_random_seed=0))
    estimator.train(te.inputs.numpy_input_fn({"x": x_train}, y_train, batch_size=128, num_epochs=2, shuffle=True))
    print(estimator.evaluate(te.inputs.numpy_input_fn({"x": x_test}, y_test, batch_size=1024, shuffle=False)))


if __name__ == "__main__":
    main()
