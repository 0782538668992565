"""Reads ``tf.compat.v1.metrics`` values off TensorFlow 2.15 into tests/golden/v1_metrics.json.

Run with an interpreter that has tensorflow 2.15: /tmp/tf215/bin/python tools/read_tf_v1_metrics_golden.py

Each case: a metric function, fixed arguments, and three batches of random inputs (fixed seed)
fed through one set of metric variables. It records the update_op's value after each batch
(the running value) and the value tensor after the last.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np
import tensorflow as tf

tf.compat.v1.disable_eager_execution()
M = tf.compat.v1.metrics
B = 8  # examples per batch
C = 4  # classes


def _batches(rng: np.random.Generator, make: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: f(rng) for k, f in make.items()} for _ in range(3)]


def _binary(shape: tuple[int, ...]) -> Any:
    return lambda rng: rng.integers(0, 2, size=shape).astype(np.int64)


def _probabilities(shape: tuple[int, ...]) -> Any:
    # a few exact 0s and 1s and repeated values exercise the threshold edges
    def make(rng: np.random.Generator) -> np.ndarray:
        p = rng.uniform(size=shape).astype(np.float32)
        p.reshape(-1)[:2] = [0.0, 1.0]
        return p

    return make


def _normal(shape: tuple[int, ...]) -> Any:
    return lambda rng: rng.normal(size=shape).astype(np.float32)


def _weights(shape: tuple[int, ...]) -> Any:
    return lambda rng: (rng.uniform(0, 2, size=shape) * (rng.uniform(size=shape) > 0.25)).astype(np.float32)


def _classes(shape: tuple[int, ...], low: int = 0, high: int = C) -> Any:
    return lambda rng: rng.integers(low, high, size=shape).astype(np.int64)


def _top_ids(shape: tuple[int, int]) -> Any:
    """Distinct class ids per row (what top_k gives)."""
    return lambda rng: np.stack([rng.permutation(C)[: shape[1]] for _ in range(shape[0])]).astype(np.int64)


def _unit(shape: tuple[int, ...]) -> Any:
    def make(rng: np.random.Generator) -> np.ndarray:
        a = rng.normal(size=shape)
        return (a / np.linalg.norm(a, axis=-1, keepdims=True)).astype(np.float32)

    return make


def _cases() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(function, fixed arguments, {argument: maker of one batch's array})."""
    binary = {"labels": _binary((B,)), "predictions": _probabilities((B,))}
    binary_col = {"labels": _binary((B, 1)), "predictions": _probabilities((B, 1))}
    regression = {"labels": _normal((B, 2)), "predictions": _normal((B, 2))}
    cases: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("mean", {}, {"values": _normal((B, 2))}),
        ("mean", {}, {"values": _normal((B, 2)), "weights": _weights((B, 2))}),
        ("mean", {}, {"values": _normal((B, 2)), "weights": _weights((B,))}),
        ("mean", {}, {"values": _normal((B, 2)), "weights": _weights((B, 1))}),
        ("mean_tensor", {}, {"values": _normal((B, 2))}),
        ("mean_tensor", {}, {"values": _normal((B, 2)), "weights": _weights((B, 2))}),
        ("accuracy", {}, {"labels": _classes((B,)), "predictions": _classes((B,))}),
        ("accuracy", {}, {"labels": _classes((B, 1)), "predictions": _classes((B,)), "weights": _weights((B,))}),
        ("accuracy", {}, {"labels": _binary((B,)), "predictions": _probabilities((B,))}),
        ("accuracy", {}, {"labels": _classes((B, 3)), "predictions": _classes((B, 3)), "weights": _weights((B, 1))}),
        ("mean_absolute_error", {}, regression),
        ("mean_absolute_error", {}, {**regression, "weights": _weights((B, 1))}),
        ("mean_squared_error", {}, regression),
        ("mean_squared_error", {}, {**regression, "weights": _weights((B, 2))}),
        ("root_mean_squared_error", {}, regression),
        ("root_mean_squared_error", {}, {**regression, "weights": _weights((B,))}),
        (
            "mean_relative_error",
            {},
            {**regression, "normalizer": lambda rng: rng.integers(0, 3, size=(B, 2)).astype(np.float32)},
        ),
        (
            "mean_relative_error",
            {},
            {**regression, "normalizer": _normal((B, 2)), "weights": _weights((B, 1))},
        ),
        ("percentage_below", {"threshold": 0.2}, {"values": _normal((B, 2))}),
        ("percentage_below", {"threshold": -0.3}, {"values": _normal((B, 2)), "weights": _weights((B, 2))}),
        ("mean_cosine_distance", {"dim": 1}, {"labels": _unit((B, 3)), "predictions": _unit((B, 3))}),
        (
            "mean_cosine_distance",
            {"dim": 1},
            {"labels": _unit((B, 3)), "predictions": _unit((B, 3)), "weights": _weights((B, 1))},
        ),
    ]
    for fn in ("precision", "recall", "true_positives", "false_positives", "true_negatives", "false_negatives"):
        cases.append((fn, {}, {"labels": _binary((B,)), "predictions": _binary((B,))}))
        # probabilities cast to bool: every non-zero prediction is positive
        cases.append((fn, {}, {**binary, "weights": _weights((B,))}))
        cases.append((fn, {}, {**binary_col, "weights": _weights((B, 1))}))
    for fn in (
        "precision_at_thresholds",
        "recall_at_thresholds",
        "true_positives_at_thresholds",
        "false_positives_at_thresholds",
        "true_negatives_at_thresholds",
        "false_negatives_at_thresholds",
    ):
        cases.append((fn, {"thresholds": [0.1, 0.5, 0.9]}, binary))
        cases.append((fn, {"thresholds": [0.0, 0.3, 1.0]}, {**binary_col, "weights": _weights((B, 1))}))
    for extra in (
        {},
        {"num_thresholds": 10},
        {"curve": "PR"},
        {"curve": "PR", "summation_method": "careful_interpolation"},
        {"curve": "ROC", "summation_method": "careful_interpolation"},
        {"summation_method": "minoring"},
        {"curve": "PR", "summation_method": "majoring", "num_thresholds": 7},
        {"thresholds": [0.25, 0.5, 0.75]},
    ):
        cases.append(("auc", extra, binary))
    cases.append(("auc", {}, {**binary_col, "weights": _weights((B, 1))}))
    cases.append(
        ("auc", {"curve": "PR", "summation_method": "careful_interpolation"}, {**binary, "weights": _weights((B,))})
    )
    for fn, arg, target in (
        ("sensitivity_at_specificity", "specificity", 0.7),
        ("specificity_at_sensitivity", "sensitivity", 0.6),
    ):
        cases.append((fn, {arg: target}, binary))
        cases.append((fn, {arg: target, "num_thresholds": 20}, {**binary, "weights": _weights((B,))}))
    logits = _normal((B, C))
    for fn in ("precision_at_k", "recall_at_k"):
        for extra in ({"k": 1}, {"k": 2}, {"k": 2, "class_id": 2}, {"k": 3, "class_id": 0}):
            cases.append((fn, extra, {"labels": _classes((B,)), "predictions": logits}))
        # -1 and out-of-range labels, two labels per example, weights
        cases.append((fn, {"k": 2}, {"labels": _classes((B, 2), -1, C + 1), "predictions": logits}))
        cases.append((fn, {"k": 2}, {"labels": _classes((B,)), "predictions": logits, "weights": _weights((B,))}))
    for fn in ("precision_at_top_k", "recall_at_top_k"):  # the top-k class ids given directly
        for extra in ({"k": 2}, {"k": 2, "class_id": 1}):
            cases.append((fn, extra, {"labels": _classes((B,)), "predictions_idx": _top_ids((B, 2))}))
    for extra in ({"k": 1}, {"k": 3}):
        cases.append(("average_precision_at_k", extra, {"labels": _classes((B,)), "predictions": logits}))
    cases.append(
        (
            "average_precision_at_k",
            {"k": 2},
            {"labels": _classes((B, 2), 0, C + 1), "predictions": logits, "weights": _weights((B,))},
        )
    )
    for fn in ("mean_per_class_accuracy", "mean_iou"):
        cases.append((fn, {"num_classes": C}, {"labels": _classes((B,)), "predictions": _classes((B,))}))
        cases.append(
            (
                fn,
                {"num_classes": C + 2},
                {"labels": _classes((B,)), "predictions": _classes((B,)), "weights": _weights((B,))},
            )
        )
    return cases


def _clean(value: Any) -> Any:
    array = np.asarray(value, dtype=np.float64)
    return (
        [None if math.isnan(v) else v for v in array.reshape(-1).tolist()]
        if array.ndim
        else (None if math.isnan(float(array)) else float(array))
    )


def main() -> None:
    rng = np.random.default_rng(0)
    out_cases = []
    for fn, fixed, make in _cases():
        batches = _batches(rng, make)
        graph = tf.Graph()
        with graph.as_default():
            feeds = {
                k: tf.compat.v1.placeholder(tf.as_dtype(v.dtype), shape=v.shape, name=k) for k, v in batches[0].items()
            }
            value, update = getattr(M, fn)(**feeds, **fixed)
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.local_variables_initializer())
                updates = [session.run(update, {feeds[k]: v for k, v in b.items()}) for b in batches]
                final = session.run(value)
        out_cases.append(
            {
                "fn": fn,
                "fixed": fixed,
                "batches": [{k: {"dtype": str(v.dtype), "value": v.tolist()} for k, v in b.items()} for b in batches],
                "updates": [_clean(u) for u in updates],
                "value": _clean(final),
                "shape": list(np.shape(final)),
            }
        )
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "v1_metrics.json")
    with open(path, "w") as f:
        json.dump({"tensorflow": tf.__version__, "cases": out_cases}, f, indent=1)
    print(f"wrote {len(out_cases)} cases to {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
