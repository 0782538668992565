"""Batch prediction from a loaded export against the Estimator's eager ``predict()``, census wide & deep.

Run: python benchmarks/loaded_predict.py [--batch_size 1024] [--rounds 3] [--train_steps 200]

Trains the census ``DNNLinearCombinedClassifier`` briefly, exports it with a raw-feature receiver,
then alternates, ``--rounds`` times: ``Estimator.predict`` over the 16,281 test rows in batches of
``--batch_size`` (the transforms, the model and the per-row dicts it yields), and
``te.saved_model.load(export).run_features`` over the same batches (the host half as data, then
the ONNX program in onnxruntime). Prints examples/second of each and their ratio per round.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time

import numpy as np

import torch_estimator as te
from torch_estimator._census import census_columns, census_features
from torch_estimator.datasets import load_census

NUMERIC = ("age", "education-num", "capital-gain", "capital-loss", "hours-per-week")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch_size", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--train_steps", type=int, default=200)
    args = parser.parse_args()
    logging.getLogger("torch_estimator").setLevel(logging.WARNING)

    wide, deep = census_columns()
    train, _ = census_features(load_census("train"))
    labels = (load_census("train")["class"] == ">50K").to_numpy().astype(np.int64)
    keys = sorted({k for c in wide + deep for k in c.parse_example_spec})
    test, _ = census_features(load_census("test"))
    test = {k: test[k] for k in keys}
    rows = len(test[keys[0]])
    with tempfile.TemporaryDirectory() as scratch:
        estimator = te.DNNLinearCombinedClassifier(
            model_dir=os.path.join(scratch, "model"),
            linear_feature_columns=wide,
            dnn_feature_columns=deep,
            dnn_hidden_units=[100, 75, 50, 25],
            config=te.RunConfig(log_step_count_steps=10**9),
        )
        estimator.train(
            te.inputs.numpy_input_fn(train, labels, batch_size=256, num_epochs=None, shuffle=True),
            steps=args.train_steps,
        )
        receiver = te.export.build_raw_serving_input_receiver_fn({k: v[:2] for k, v in test.items()})
        model = te.saved_model.load(estimator.export_saved_model(os.path.join(scratch, "export"), receiver))
        batches = [{k: v[i : i + args.batch_size] for k, v in test.items()} for i in range(0, rows, args.batch_size)]

        def eager() -> float:
            start = time.perf_counter()
            count = sum(
                1 for _ in estimator.predict(te.inputs.numpy_input_fn(test, batch_size=args.batch_size, shuffle=False))
            )
            assert count == rows
            return rows / (time.perf_counter() - start)

        def loaded() -> float:
            start = time.perf_counter()
            for batch in batches:
                model.run_features(batch)
            return rows / (time.perf_counter() - start)

        eager(), loaded()  # warm-up
        print(f"census wide & deep, {rows} test rows in batches of {args.batch_size}")
        print("round   eager predict()   loaded export   loaded / eager")
        for i in range(args.rounds):
            a, b = eager(), loaded()
            print(f"{i + 1:>5}   {a:>12,.0f}/s   {b:>10,.0f}/s   {b / a:>10.2f}x")


if __name__ == "__main__":
    main()
