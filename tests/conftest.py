"""Shared fixtures: small synthetic data sets and model_fns used across the test modules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import torch_estimator as te


def make_binary_data(n: int = 256, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Linearly separable-ish binary data: features [n, d] float32, labels [n, 1] float32."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    w = np.linspace(-1.0, 1.5, d).astype(np.float32)
    y = (x @ w + 0.1 * rng.normal(size=n) > 0).astype(np.float32)[:, None]
    return x, y


def dense_model_fn(features, labels, mode, params):
    """Two te.layers.dense layers, an optimizer by name, optional dropout."""
    hidden = te.layers.dense(features["x"], params.get("hidden", 8), activation="relu", name="hidden")
    hidden = te.layers.dropout(hidden, rate=params.get("dropout", 0.0), training=mode == te.ModeKeys.TRAIN)
    logits = te.layers.dense(hidden, 1, name="logits")
    predictions = {"logits": logits, "probabilities": torch.sigmoid(logits)}
    if mode == te.ModeKeys.PREDICT:
        return te.EstimatorSpec(mode, predictions=predictions)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    train_op = None
    if mode == te.ModeKeys.TRAIN:
        optimizer = te.optimizers.get(params.get("optimizer", "Adagrad"), learning_rate=params.get("lr", 0.1))
        train_op = optimizer.minimize(loss)
    metrics = {"accuracy": te.metrics.accuracy(labels, (logits > 0).float())}
    return te.EstimatorSpec(mode, predictions=predictions, loss=loss, train_op=train_op, eval_metric_ops=metrics)


@pytest.fixture
def binary_data() -> tuple[np.ndarray, np.ndarray]:
    return make_binary_data()


@pytest.fixture(autouse=True)
def _restore_torch_rng():
    """Estimators seed the global generators; keep tests independent of each other's order."""
    state = torch.get_rng_state()
    np_state = np.random.get_state()
    yield
    torch.set_rng_state(state)
    np.random.set_state(np_state)
