"""Census wide & deep training and prediction throughput, side by side with a hand-written PyTorch
loop on pre-tensorised data (the ceiling) and, optionally, tf.estimator 2.15.

Run: python benchmarks/census_throughput.py [--seconds 20] [--tf /path/to/python-with-tf]

* torch_estimator: ``DNNLinearCombinedClassifier`` on the canonical census columns, fed raw string
  features through ``numpy_input_fn`` (transforms included), TF's default optimizers.
* hand-written loop: the same architecture (8 linear embedding bags + bias; a 5+indicators+8-d
  embedding input to a [100, 75, 50, 25] ReLU tower), ids and dense inputs computed once up
  front, ``torch.optim.Adagrad`` on both parts.
* ``--tf``: runs tools/tf_census_reference.py --throughput with that interpreter.
Prints examples/second per batch size and the ratio; predict() examples/second on the test split.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

import torch_estimator as te
from torch_estimator._census import census_columns, census_features
from torch_estimator.datasets import load_census

BATCH_SIZES = (40, 256, 1024)


def census_estimator(config: te.RunConfig | None = None) -> te.DNNLinearCombinedClassifier:
    """The census wide & deep model at tf.estimator's default optimizers, in a new model_dir."""
    wide, deep = census_columns()
    return te.DNNLinearCombinedClassifier(
        model_dir=tempfile.mkdtemp(),
        linear_feature_columns=wide,
        dnn_feature_columns=deep,
        dnn_hidden_units=[100, 75, 50, 25],
        config=config,
    )


def examples_per_second(run: Callable[[int], object], batch_size: int, seconds: float) -> float:
    """``run(steps)`` after a warm-up, with steps growing 4x until a run takes ``seconds / 4``."""
    run(20)
    steps = 50
    while True:
        start = time.perf_counter()
        run(steps)
        elapsed = time.perf_counter() - start
        if elapsed > seconds / 4 or steps >= 100000:
            return steps * batch_size / elapsed
        steps *= 4


def estimator_throughput(batch_size: int, seconds: float) -> float:
    est = census_estimator(
        te.RunConfig(
            save_checkpoints_steps=None, save_checkpoints_secs=None, save_summary_steps=0, log_step_count_steps=10**9
        )
    )
    features, labels = census_features(load_census("train"))
    input_fn = te.inputs.numpy_input_fn(features, labels, batch_size=batch_size, num_epochs=None, shuffle=True)
    return examples_per_second(lambda steps: est.train(input_fn, steps=steps), batch_size, seconds)


class HandWritten(torch.nn.Module):
    def __init__(self, table_sizes: list[int], dense_width: int) -> None:
        super().__init__()
        self.linear_tables = torch.nn.ModuleList(torch.nn.EmbeddingBag(n, 1, mode="sum") for n in table_sizes)
        self.bias = torch.nn.Parameter(torch.zeros(1))
        self.occupation = torch.nn.Embedding(1000, 8)
        sizes = [dense_width + 8, 100, 75, 50, 25]
        self.tower = torch.nn.Sequential(
            *itertools.chain.from_iterable((torch.nn.Linear(a, b), torch.nn.ReLU()) for a, b in zip(sizes, sizes[1:]))
        )
        self.logits = torch.nn.Linear(25, 1)

    def forward(self, ids: list[torch.Tensor], dense: torch.Tensor, occupation: torch.Tensor) -> torch.Tensor:
        wide = sum(t(i[:, None]) for t, i in zip(self.linear_tables, ids)) + self.bias
        deep = self.logits(self.tower(torch.cat([dense, self.occupation(occupation)], dim=1)))
        return wide + deep


def handwritten_throughput(batch_size: int, seconds: float) -> float:
    wide, deep = census_columns()
    features, labels = census_features(load_census("train"))
    ids = [torch.from_numpy(c.transform(features).ids.values) for c in wide]
    dense_cols = [c for c in deep if not isinstance(c, te.feature_column._embedding.EmbeddingColumn)]
    with te.VariableStore().activate():
        dense = te.feature_column.DenseFeatures(dense_cols)(features).detach()
    occupation = torch.from_numpy(wide[4].transform(features).ids.values)
    y = torch.from_numpy(labels.astype(np.float32))[:, None]
    model = HandWritten([c.num_buckets for c in wide], dense.shape[1])
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.001, initial_accumulator_value=0.1, eps=1e-7)
    n = len(y)

    def run(steps: int) -> None:
        for _ in range(steps):
            idx = torch.randint(0, n, (batch_size,))
            logits = model([i[idx] for i in ids], dense[idx], occupation[idx])
            loss = F.binary_cross_entropy_with_logits(logits, y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    return examples_per_second(run, batch_size, seconds)


def predict_throughput() -> float:
    est = census_estimator()
    features, labels = census_features(load_census("train"))
    est.train(te.inputs.numpy_input_fn(features, labels, batch_size=256, shuffle=True), steps=10)
    test_features, _ = census_features(load_census("test"))
    input_fn = te.inputs.numpy_input_fn(test_features, batch_size=1024, shuffle=False)
    sum(1 for _ in est.predict(input_fn))  # loads the model
    start = time.perf_counter()
    count = sum(1 for _ in est.predict(input_fn))
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="rough time budget per measurement")
    parser.add_argument("--tf", default=None, help="a Python interpreter with tensorflow 2.15 + tensorflow-estimator")
    args = parser.parse_args()
    logging.getLogger("torch_estimator").setLevel(logging.WARNING)
    torch.manual_seed(0)
    tf_numbers = {}
    if args.tf:
        tool = os.path.join(os.path.dirname(__file__), "..", "tools", "tf_census_reference.py")
        out = subprocess.run([args.tf, tool, "--throughput"], capture_output=True, text=True, check=True).stdout
        raw = json.loads(out.strip().splitlines()[-1])
        tf_numbers = {
            "train": {str(r["batch_size"]): r["examples_per_sec"] for r in raw["train"]},
            "predict": max(
                (r["predict_examples_per_sec"] for r in raw["predict"] if r["batch_size"] == 1024), default=None
            ),
        }
    print(
        f"{'batch':>6} {'torch_estimator':>16} {'hand-written':>14} {'ratio':>7}"
        + (f" {'tf.estimator':>13} {'vs TF':>7}" if tf_numbers else "")
    )
    for batch in BATCH_SIZES:
        ours = estimator_throughput(batch, args.seconds)
        ceiling = handwritten_throughput(batch, args.seconds)
        line = f"{batch:>6} {ours:>14,.0f}/s {ceiling:>12,.0f}/s {ours / ceiling:>7.2f}"
        tf_rate = tf_numbers.get("train", {}).get(str(batch)) if tf_numbers else None
        if tf_rate:
            line += f" {tf_rate:>11,.0f}/s {ours / tf_rate:>7.2f}"
        print(line, flush=True)
    rate = predict_throughput()
    line = f"predict(): {rate:,.0f} examples/s (batch 1024, resident model)"
    if tf_numbers.get("predict"):
        line += f"; tf.estimator {tf_numbers['predict']:,.0f}/s, ratio {rate / tf_numbers['predict']:.1f}"
    print(line)


if __name__ == "__main__":
    sys.exit(main())
