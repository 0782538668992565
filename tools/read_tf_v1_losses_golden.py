"""Reads ``tf.compat.v1.losses`` values off TensorFlow 2.15 into tests/golden/v1_losses.json.

Run with an interpreter that has tensorflow 2.15: /tmp/tf215/bin/python tools/read_tf_v1_losses_golden.py

Each case: a loss function, its inputs (random, fixed seed), weights (none, per example, per
element with zeros), a reduction, extra arguments, and TF's value.
"""

from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf

L = tf.compat.v1.losses
R = L.Reduction
REDUCTIONS = [
    "none",
    "sum",
    "mean",
    "sum_over_batch_size",
    "weighted_sum_by_nonzero_weights",
    "weighted_sum_over_nonzero_weights",
]
REDUCTION_NAMES = {
    "none": R.NONE,
    "sum": R.SUM,
    "mean": R.MEAN,
    "sum_over_batch_size": R.SUM_OVER_BATCH_SIZE,
    "weighted_sum_by_nonzero_weights": R.SUM_BY_NONZERO_WEIGHTS,
    "weighted_sum_over_nonzero_weights": R.SUM_OVER_NONZERO_WEIGHTS,
}


def main() -> None:
    rng = np.random.default_rng(0)
    b, k = 4, 3
    values = {
        "labels": rng.normal(size=(b, k)).astype(np.float32),
        "predictions": rng.normal(size=(b, k)).astype(np.float32),
        "probabilities": rng.uniform(0.05, 0.95, size=(b, k)).astype(np.float32),
        "binary": rng.integers(0, 2, size=(b, k)).astype(np.float32),
        "logits": rng.normal(size=(b, k)).astype(np.float32) * 2,
        "onehot": np.eye(k, dtype=np.float32)[rng.integers(0, k, size=b)],
        "sparse": rng.integers(0, k, size=(b,)).astype(np.int64),
        "unit_a": None,
        "unit_b": None,
    }
    a, c = rng.normal(size=(b, k)), rng.normal(size=(b, k))
    values["unit_a"] = (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)
    values["unit_b"] = (c / np.linalg.norm(c, axis=1, keepdims=True)).astype(np.float32)
    weights = {
        "none": 1.0,
        "per_example": np.array([[1.0], [0.0], [2.0], [0.5]], np.float32),
        "per_element": (rng.uniform(0, 2, size=(b, k)) * (rng.uniform(size=(b, k)) > 0.3)).astype(np.float32),
    }
    per_example_only = {"none": 1.0, "per_example": np.array([1.0, 0.0, 2.0, 0.5], np.float32)}
    calls = [
        ("absolute_difference", {"labels": "labels", "predictions": "predictions"}, {}, weights),
        ("mean_squared_error", {"labels": "labels", "predictions": "predictions"}, {}, weights),
        ("huber_loss", {"labels": "labels", "predictions": "predictions"}, {"delta": 0.7}, weights),
        ("log_loss", {"labels": "binary", "predictions": "probabilities"}, {"epsilon": 1e-7}, weights),
        ("hinge_loss", {"labels": "binary", "logits": "logits"}, {}, weights),
        ("sigmoid_cross_entropy", {"multi_class_labels": "binary", "logits": "logits"}, {}, weights),
        (
            "sigmoid_cross_entropy",
            {"multi_class_labels": "binary", "logits": "logits"},
            {"label_smoothing": 0.2},
            weights,
        ),
        ("softmax_cross_entropy", {"onehot_labels": "onehot", "logits": "logits"}, {}, per_example_only),
        (
            "softmax_cross_entropy",
            {"onehot_labels": "onehot", "logits": "logits"},
            {"label_smoothing": 0.1},
            per_example_only,
        ),
        ("sparse_softmax_cross_entropy", {"labels": "sparse", "logits": "logits"}, {}, per_example_only),
        (
            "cosine_distance",
            {"labels": "unit_a", "predictions": "unit_b"},
            {"axis": 1},
            {"none": 1.0, "per_example": weights["per_example"]},
        ),
        ("compute_weighted_loss", {"losses": "predictions"}, {}, weights),
    ]
    cases = []
    for name, inputs, extra, weight_cases in calls:
        for weight_name, w in weight_cases.items():
            for reduction in REDUCTIONS:
                args = {k: tf.constant(values[v]) for k, v in inputs.items()}
                kwargs = {**extra, "weights": tf.constant(w) if not isinstance(w, float) else w}
                value = getattr(L, name)(**args, **kwargs, reduction=REDUCTION_NAMES[reduction])
                cases.append(
                    {
                        "loss": name,
                        "inputs": inputs,
                        "extra": extra,
                        "weights": weight_name if not isinstance(w, float) else "none",
                        "weights_value": w if isinstance(w, float) else np.asarray(w).tolist(),
                        "reduction": reduction,
                        "value": np.asarray(value).tolist(),
                    }
                )
    # No reduction argument: the weighted sum over examples. Given a scalar weight (its default
    # 1.0), TF counts the elements of the whole batch where it means those of each example (a bug
    # te does not copy), so the unweighted value is read with a weight of 1 per example.
    for weight_name, w in weights.items():
        tf_w = np.ones((b, 1), np.float32) if isinstance(w, float) else w
        value = L.mean_pairwise_squared_error(
            tf.constant(values["labels"]), tf.constant(values["predictions"]), weights=tf.constant(tf_w)
        )
        cases.append(
            {
                "loss": "mean_pairwise_squared_error",
                "inputs": {"labels": "labels", "predictions": "predictions"},
                "extra": {},
                "weights": weight_name,
                "weights_value": w if isinstance(w, float) else np.asarray(w).tolist(),
                "reduction": None,
                "value": np.asarray(value).tolist(),
            }
        )
    out = os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "v1_losses.json")
    with open(out, "w") as f:
        json.dump(
            {"tensorflow": tf.__version__, "values": {k: v.tolist() for k, v in values.items()}, "cases": cases},
            f,
            indent=1,
        )
    print(f"wrote {len(cases)} cases to {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
