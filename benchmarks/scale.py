"""Scaling: census wide & deep trained data-parallel with 1 and 2 processes (torchrun, gloo) on
this machine, and a large generated CSV / Parquet file streamed through the model.

Run: python benchmarks/scale.py [--steps 300] [--batch_size 1024] [--stream_gb 5]

* data-parallel: ``torchrun --standalone --nproc-per-node N`` runs this file's ``--worker`` mode:
  ``DNNLinearCombinedClassifier`` on the census columns, a global batch of ``--batch_size`` split
  over the workers through ``input_context``; prints training examples/s of the global batch and
  the speed-up of 2 processes over 1.
* streaming: ``benchmarks/streaming_memory.py --gb <stream_gb>`` (generates the file, streams it
  through a wide & deep model, reports rows/s and peak resident memory). ``--stream_gb 0`` skips it.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def worker(steps: int, batch_size: int) -> None:
    import logging

    import torch_estimator as te
    from torch_estimator._census import census_columns, census_features
    from torch_estimator.datasets import load_census

    logging.getLogger("torch_estimator").setLevel(logging.WARNING)
    features, labels = census_features(load_census("train"))
    wide, deep = census_columns()
    est = te.DNNLinearCombinedClassifier(
        model_dir=tempfile.mkdtemp(prefix="scale-")
        if te.RunConfig().num_worker_replicas == 1
        else os.environ["SCALE_MODEL_DIR"],
        linear_feature_columns=wide,
        dnn_feature_columns=deep,
        dnn_hidden_units=[100, 75, 50, 25],
        config=te.RunConfig(
            tf_random_seed=1,
            save_checkpoints_steps=None,
            save_checkpoints_secs=None,
            save_summary_steps=0,
            log_step_count_steps=10**9,
        ),
    )
    input_fn = te.inputs.numpy_input_fn(features, labels, batch_size=batch_size, num_epochs=None, shuffle=True)
    est.train(input_fn, steps=20)  # warm-up
    start = time.perf_counter()
    est.train(input_fn, steps=steps)
    elapsed = time.perf_counter() - start
    if te.RunConfig().is_chief:
        print(f"RESULT {steps * batch_size / elapsed:.1f}", flush=True)


def run_parallel(processes: int, steps: int, batch_size: int) -> float:
    env = {**os.environ, "SCALE_MODEL_DIR": tempfile.mkdtemp(prefix="scale-dp-")}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        str(processes),
        __file__,
        "--worker",
        "--steps",
        str(steps),
        "--batch_size",
        str(batch_size),
    ]
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
    return float(re.search(r"RESULT ([0-9.]+)", out).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch_size", type=int, default=1024, help="global batch size")
    parser.add_argument("--stream_gb", type=float, default=5.0, help="size of the generated file to stream (0: skip)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.steps, args.batch_size)
        return
    rates = {n: run_parallel(n, args.steps, args.batch_size) for n in (1, 2)}
    print(f"data-parallel census wide & deep, global batch {args.batch_size}, {os.cpu_count()} CPUs")
    print(f"{'processes':>10} {'examples/s':>12} {'speed-up':>9}")
    for n, rate in rates.items():
        print(f"{n:>10} {rate:>12,.0f} {rate / rates[1]:>9.2f}")
    if args.stream_gb > 0:
        subprocess.run(
            [sys.executable, os.path.join(HERE, "streaming_memory.py"), "--gb", str(args.stream_gb)], check=True
        )


if __name__ == "__main__":
    main()
