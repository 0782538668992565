"""Feature-column costs: census transforms per batch, and a 10^6-bucket hashed column's step.

Run: python benchmarks/feature_columns.py
Prints (1) the time to transform one batch of 1024 raw census rows through the canonical wide &
deep columns (host transforms + DenseFeatures + LinearModel forward), and (2) the time of one
training step of a linear model on a hashed column with 10^3 vs 10^6 buckets under Ftrl, with
sparse (row-wise) updates and, for comparison, dense updates of the 10^6-row table.
"""

from __future__ import annotations

import time

import numpy as np
import torch

import torch_estimator as te
from torch_estimator._census import census_columns, census_features
from torch_estimator.datasets import load_census
from torch_estimator.feature_column import _bags as _columns

fc = te.feature_column


def bench_census(batch: int = 1024, repeats: int = 50) -> None:
    features, _ = census_features(load_census("train").sample(batch, random_state=0))
    wide, deep = census_columns()
    store = te.VariableStore()
    dense, linear = fc.DenseFeatures(deep), fc.LinearModel(wide)
    with store.activate():
        dense(features), linear(features)
    start = time.perf_counter()
    for _ in range(repeats):
        transformer = fc.transform_features(features, wide + deep)
    host = (time.perf_counter() - start) / repeats
    start = time.perf_counter()
    for _ in range(repeats):
        with store.activate(), torch.no_grad():
            transformer = fc.Transformer(features)
            dense(transformer), linear(transformer)
    total = (time.perf_counter() - start) / repeats
    print(
        f"census columns, batch {batch}: host transforms {host * 1e3:.2f} ms, "
        f"transforms + DenseFeatures + LinearModel {total * 1e3:.2f} ms "
        f"({batch / total:,.0f} rows/s)"
    )


def bench_hashed_step(buckets: int, sparse: bool, batch: int = 256, repeats: int = 30) -> float:
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 10**9, size=(repeats + 3, batch)).astype(str)
    column = fc.categorical_column_with_hash_bucket("id", buckets)
    store = te.VariableStore()
    saved = _columns.SPARSE_GRADIENT_MIN_ROWS
    _columns.SPARSE_GRADIENT_MIN_ROWS = 1 if sparse else 10**12
    try:

        def step(i: int) -> None:
            with store.activate():
                logits = fc.LinearModel([column])({"id": keys[i]})
                loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
                te.optimizers.get("Ftrl", learning_rate=0.1).minimize(loss)()

        for i in range(3):
            step(i)
        start = time.perf_counter()
        for i in range(3, repeats + 3):
            step(i)
        return (time.perf_counter() - start) / repeats
    finally:
        _columns.SPARSE_GRADIENT_MIN_ROWS = saved


def main() -> None:
    torch.manual_seed(0)
    bench_census()
    small = bench_hashed_step(10**3, sparse=True)
    large = bench_hashed_step(10**6, sparse=True)
    dense = bench_hashed_step(10**6, sparse=False)
    print(
        f"hashed column + Ftrl step, batch 256: 10^3 buckets {small * 1e3:.2f} ms, "
        f"10^6 buckets sparse {large * 1e3:.2f} ms "
        f"(ratio {large / small:.2f}), 10^6 buckets dense {dense * 1e3:.2f} ms"
    )


if __name__ == "__main__":
    main()
