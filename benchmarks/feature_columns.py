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
from torch_estimator.datasets import load_census
from torch_estimator.feature_column import _columns

fc = te.feature_column


def census_columns() -> tuple[list, list]:
    age = fc.numeric_column("age")
    education = fc.categorical_column_with_vocabulary_list(
        "education",
        ["Bachelors", "HS-grad", "11th", "Masters", "9th", "Some-college", "Assoc-acdm", "Assoc-voc", "7th-8th", "Doctorate",
         "Prof-school", "5th-6th", "10th", "1st-4th", "Preschool", "12th"],
    )
    marital = fc.categorical_column_with_vocabulary_list(
        "marital-status", ["Married-civ-spouse", "Divorced", "Married-spouse-absent", "Never-married", "Separated", "Married-AF-spouse", "Widowed"]
    )
    relationship = fc.categorical_column_with_vocabulary_list(
        "relationship", ["Husband", "Not-in-family", "Wife", "Own-child", "Unmarried", "Other-relative"]
    )
    workclass = fc.categorical_column_with_vocabulary_list(
        "workclass", ["Self-emp-not-inc", "Private", "State-gov", "Federal-gov", "Local-gov", "?", "Self-emp-inc", "Without-pay", "Never-worked"]
    )
    occupation = fc.categorical_column_with_hash_bucket("occupation", 1000)
    age_buckets = fc.bucketized_column(age, [18, 25, 30, 35, 40, 45, 50, 55, 60, 65])
    wide = [education, marital, relationship, workclass, occupation, age_buckets,
            fc.crossed_column(["education", "occupation"], 1000),
            fc.crossed_column([age_buckets, "education", "occupation"], 1000)]
    deep = [age, fc.numeric_column("education-num"), fc.numeric_column("capital-gain"), fc.numeric_column("capital-loss"),
            fc.numeric_column("hours-per-week"), fc.indicator_column(workclass), fc.indicator_column(education),
            fc.indicator_column(marital), fc.indicator_column(relationship), fc.embedding_column(occupation, 8)]
    return wide, deep


def bench_census(batch: int = 1024, repeats: int = 50) -> None:
    frame = load_census("train").sample(batch, random_state=0)
    features = {c: frame[c].to_numpy() for c in frame.columns if c != "class"}
    for c in ("age", "education-num", "capital-gain", "capital-loss", "hours-per-week"):
        features[c] = features[c].astype(np.float32)
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
    print(f"census columns, batch {batch}: host transforms {host * 1e3:.2f} ms, transforms + DenseFeatures + LinearModel {total * 1e3:.2f} ms "
          f"({batch / total:,.0f} rows/s)")


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
    print(f"hashed column + Ftrl step, batch 256: 10^3 buckets {small * 1e3:.2f} ms, 10^6 buckets sparse {large * 1e3:.2f} ms "
          f"(ratio {large / small:.2f}), 10^6 buckets dense {dense * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
