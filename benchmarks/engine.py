"""Training throughput side by side, in one run: torch_estimator, the shared hand-written PyTorch
loop, and (with ``--tf PYTHON``) tf.estimator 2.15, each in a fresh process, one at a time.

Workloads (same model, data and input path in every system):
- census wide & deep: ``DNNLinearCombinedClassifier`` with tf.estimator's default optimizers and
  the tutorial's columns, raw pandas features (``pandas_input_fn`` / ``tf.data``), at batch 40,
  256 and 1024 (``../shared/bench/tf_census.py`` and ``torch_handwritten_census.py``);
- ratings regression (``ratings_data.py``: two identity columns of 943 and 1,682 ids in the linear
  and embedding parts, a vocabulary and a bucketized column, a cross, hidden [64, 32]) at batch 256
  (``tf_ratings.py`` for tf.estimator).

``--busy`` keeps one core busy with another process for the whole run. Ratios are what count:
absolute figures drift 10-30% between runs on a shared machine.

    python benchmarks/engine.py --tf /tmp/tf215/bin/python [--busy] [--epochs 20]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CENSUS_GZ = os.path.join(ROOT, "src", "torch_estimator", "datasets", "census")


def census_files(directory: str) -> str:
    """The shipped census splits as the CSV files the reference scripts read."""
    for split, name in (("adult.data.csv.gz", "adult.data.csv"), ("adult.test.csv.gz", "adult.test.csv")):
        with gzip.open(os.path.join(CENSUS_GZ, split), "rb") as src, open(os.path.join(directory, name), "wb") as dst:
            shutil.copyfileobj(src, dst)
    return directory


def run_json(command: list[str], env: dict[str, str] | None = None) -> dict:
    """Runs a measurement in a fresh process; returns the JSON object its last line prints."""
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tf", default=None, help="a Python with tensorflow-cpu 2.15 and tensorflow-estimator 2.15")
    parser.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"), help="the steering repo's shared/")
    parser.add_argument("--busy", action="store_true", help="keep one core busy with another process")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batches", default="40,256,1024", help="census batch sizes")
    parser.add_argument("--ratings", default="256", help="ratings batch sizes ('' for none)")
    args = parser.parse_args()
    handwritten = os.path.join(args.shared, "bench", "torch_handwritten_census.py")
    tf_census = os.path.join(args.shared, "bench", "tf_census.py")
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    rows = []
    try:
        with tempfile.TemporaryDirectory() as directory:
            data = census_files(directory)
            ratings_dir = os.path.join(directory, "ratings")
            run_json([sys.executable, os.path.join(HERE, "ratings_data.py"), "write", ratings_dir])
            for batch in [int(b) for b in args.batches.split(",") if b]:
                common = [data, str(batch), str(args.epochs)]
                row = {"workload": "census", "batch": batch}
                row["ours"] = run_json([sys.executable, os.path.join(HERE, "engine_census.py"), *common])
                if os.path.exists(handwritten):
                    row["hand"] = run_json([sys.executable, handwritten, *common])
                if args.tf:
                    row["tf"] = run_json([args.tf, tf_census, *common])
                rows.append(row)
                print(_line(row), flush=True)
            for batch in [int(b) for b in args.ratings.split(",") if b]:
                common = [ratings_dir, str(batch), str(max(1, args.epochs // 4))]
                row = {"workload": "ratings", "batch": batch}
                row["ours"] = run_json([sys.executable, os.path.join(HERE, "ratings_data.py"), "train", *common])
                if args.tf:
                    row["tf"] = run_json([args.tf, os.path.join(HERE, "tf_ratings.py"), *common])
                rows.append(row)
                print(_line(row), flush=True)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    print(json.dumps({"busy": args.busy, "epochs": args.epochs, "rows": rows}))


def _line(row: dict) -> str:
    ours = row["ours"]["train_examples_per_s"]
    text = f"{row['workload']:>8} b{row['batch']:<5} torch_estimator {ours:>9,}/s"
    for key, label in (("hand", "hand-written"), ("tf", "tf.estimator")):
        if key in row:
            theirs = row[key]["train_examples_per_s"]
            text += f"  {label} {theirs:>9,}/s ({ours / theirs:.2f}x)"
    if "tf" in row and "predict_examples_per_s" in row["tf"]:
        text += f"  predict {row['ours']['predict_examples_per_s'] / row['tf']['predict_examples_per_s']:.1f}x tf"
    return text + f"  [quality: ours {_quality(row['ours'])}" + (f", tf {_quality(row['tf'])}]" if "tf" in row else "]")


def _quality(result: dict) -> str:
    if "auc" in result:
        return f"auc {result['auc']:.3f}"
    return f"rmse {result.get('rmse', float('nan')):.3f}"


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"({time.perf_counter() - start:.0f}s)", file=sys.stderr)
