"""The timing the side-by-side benchmark scripts share (standard library only: it also runs under
tf.estimator's Python): train, evaluate and predict one estimator, each timed."""

from __future__ import annotations

import time
from typing import Any


def train_evaluate_predict(
    estimator: Any, train_input: Any, eval_input: Any, predict_input: Any, train_rows: int, eval_rows: int
) -> dict[str, Any]:
    """Examples per second of ``train``, ``evaluate`` and ``predict`` (``train_rows`` examples are
    trained on, ``eval_rows`` evaluated), with the evaluation's metrics under ``"metrics"``."""
    start = time.perf_counter()
    estimator.train(train_input)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    metrics = estimator.evaluate(eval_input)
    eval_s = time.perf_counter() - start
    start = time.perf_counter()
    predicted = sum(1 for _ in estimator.predict(predict_input))
    predict_s = time.perf_counter() - start
    return {
        "train_examples_per_s": round(train_rows / train_s),
        "train_s": round(train_s, 2),
        "eval_examples_per_s": round(eval_rows / eval_s),
        "predict_examples_per_s": round(predicted / predict_s),
        "metrics": metrics,
    }
