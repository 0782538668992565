"""Census AUC of ``DNNLinearCombinedClassifier`` at tf.estimator's default optimizers, side by side
with tf.estimator 2.15's (read from ``tests/golden/tf_census_reference.json`` or, with ``--tf``, run
now through ``tools/tf_census_reference.py``).

Run: python benchmarks/census_auc_parity.py [--epochs 10] [--seeds 1,2,3,4,5] [--tf /path/to/python]

Both sides use the same model: the canonical wide & deep columns with the vocabularies read off the
training file as the reference tool builds them (sorted distinct values, '?' included), hidden
units [100, 75, 50, 25], the default optimizers (Adagrad 0.001 for the DNN part, Ftrl
min(0.005, 1/sqrt(8)) for the linear part), training shuffled across epochs at batch 256 with the
final partial batch kept, evaluation on the test split. Prints per-seed AUC and accuracy, the
means, and the difference of the mean AUCs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile

import numpy as np

import torch_estimator as te
from torch_estimator import feature_column as fc
from torch_estimator._census import census_features
from torch_estimator.datasets import load_census

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from census_reference_columns import reference_columns  # noqa: E402  (the reference tool's columns)

FIXTURE = os.path.join(HERE, "..", "tests", "golden", "tf_census_reference.json")
TOOL = os.path.join(HERE, "..", "tools", "tf_census_reference.py")


def ours(seed: int, epochs: int, batch_size: int) -> dict[str, float]:
    train, train_labels = census_features(load_census("train"))
    test, test_labels = census_features(load_census("test"))
    wide, deep, _ = reference_columns(fc, train)
    est = te.DNNLinearCombinedClassifier(
        model_dir=tempfile.mkdtemp(prefix="auc-parity-"),
        linear_feature_columns=wide,
        dnn_feature_columns=deep,
        dnn_hidden_units=[100, 75, 50, 25],
        config=te.RunConfig(tf_random_seed=seed, save_checkpoints_steps=10**9),
    )
    est.train(te.inputs.numpy_input_fn(train, train_labels, batch_size=batch_size, num_epochs=epochs, shuffle=True))
    result = est.evaluate(te.inputs.numpy_input_fn(test, test_labels, batch_size=1024, num_epochs=1, shuffle=False))
    return {"tf_random_seed": seed, "auc": float(result["auc"]), "accuracy": float(result["accuracy"])}


def tf_runs(python: str | None, seeds: list[int], epochs: int, batch_size: int) -> list[dict[str, float]]:
    if python:
        args = [
            python,
            TOOL,
            "--epochs",
            str(epochs),
            "--batch-size",
            str(batch_size),
            "--seeds",
            ",".join(map(str, seeds)),
        ]
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    with open(FIXTURE, encoding="utf-8") as f:
        runs = json.load(f).get("runs", [])
    return [r for r in runs if r["epochs"] == epochs and r["batch_size"] == batch_size and r["tf_random_seed"] in seeds]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--seeds", default="1,2,3,4,5", help="comma-separated tf_random_seed values")
    parser.add_argument("--tf", default=None, help="a Python interpreter with tensorflow 2.15 + tensorflow-estimator")
    args = parser.parse_args()
    logging.getLogger("torch_estimator").setLevel(logging.WARNING)
    seeds = [int(s) for s in args.seeds.split(",")]
    reference = tf_runs(args.tf, seeds, args.epochs, args.batch_size)
    mine = [ours(seed, args.epochs, args.batch_size) for seed in seeds]
    by_seed = {r["tf_random_seed"]: r for r in reference}
    print(f"{args.epochs} epochs, batch {args.batch_size}, tf.estimator's default optimizers")
    print(f"{'seed':>5} {'auc':>8} {'accuracy':>9} {'tf auc':>8} {'tf acc':>8}")
    for r in mine:
        t = by_seed.get(r["tf_random_seed"])
        line = f"{r['tf_random_seed']:>5} {r['auc']:>8.4f} {r['accuracy']:>9.4f}"
        print(line + (f" {t['auc']:>8.4f} {t['accuracy']:>8.4f}" if t else "        -        -"))
    mean = float(np.mean([r["auc"] for r in mine]))
    print(f"mean auc {mean:.4f} (std {np.std([r['auc'] for r in mine]):.4f})", end="")
    if reference:
        tf_mean = float(np.mean([r["auc"] for r in reference]))
        print(
            f"; tf.estimator {tf_mean:.4f} (std {np.std([r['auc'] for r in reference]):.4f}); "
            f"difference {mean - tf_mean:+.4f}"
        )
    else:
        print("; no tf.estimator runs for these settings in the fixture (pass --tf)")


if __name__ == "__main__":
    sys.exit(main())
