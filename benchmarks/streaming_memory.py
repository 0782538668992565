"""Streaming input at scale: rows/second and peak memory of ``make_csv_input_fn`` and
``make_parquet_input_fn`` on files far larger than memory, feeding census wide & deep.

Run: python benchmarks/streaming_memory.py [--gb 5] [--train-steps 2000 | --one-pass] [--dir DIR]

* generates census-like files: a CSV of ``--gb`` GB (rows sampled from the census training split,
  numeric columns jittered) and a Parquet file with the same rows (row groups of 256k rows);
* for each format, in a fresh process: one pass of the input alone (rows/s), then
  ``DNNLinearCombinedClassifier`` on the canonical census columns trained for ``--train-steps``
  steps (or one whole pass with ``--one-pass``), fed by the streaming input_fn;
* reports rows/s and the peak RSS (sampled every 2 ms) over the RSS just before streaming: after
  imports and the input_fn's set-up for the input pass; after the model is built (20 warm-up
  steps) for training, so both columns measure the input pipeline, not the model.
The generated files are deleted afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

BLOCK_ROWS = 250_000
ROW_GROUP_ROWS = 256 * 1024
LABELS = ["<=50K", ">50K"]


def _rss_mb() -> float:
    """The resident set size now (psutil when installed, else /proc/self/statm)."""
    try:
        import psutil
    except ImportError:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    return psutil.Process().memory_info().rss / 2**20


class PeakRss:
    """The highest RSS sampled every few milliseconds by a background thread since ``reset``
    (ru_maxrss cannot be reset, and import-time peaks would hide what comes after)."""

    def __init__(self, interval: float = 0.002) -> None:
        self.peak = _rss_mb()
        self._interval = interval
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, _rss_mb())
            time.sleep(self._interval)

    def reset(self) -> float:
        self.peak = _rss_mb()
        return self.peak


def generate(directory: str, gigabytes: float, seed: int = 0) -> tuple[str, str, int]:
    """A census-like CSV of about ``gigabytes`` GB and a Parquet file with the same rows."""
    from torch_estimator.datasets import load_census

    census = pa.Table.from_pandas(load_census("train"), preserve_index=False)
    rng = np.random.default_rng(seed)
    csv_path, parquet_path = (
        os.path.join(directory, "census-large.csv"),
        os.path.join(directory, "census-large.parquet"),
    )
    target = gigabytes * 2**30
    rows = 0
    with pa.OSFile(csv_path, "wb") as csv_file:
        csv_writer = pa_csv.CSVWriter(csv_file, census.schema)
        parquet_writer = pq.ParquetWriter(parquet_path, census.schema)
        while csv_file.tell() < target:
            block = census.take(rng.integers(0, census.num_rows, BLOCK_ROWS))
            for name, spread in (("age", 2), ("hours-per-week", 3), ("fnlwgt", 5000)):
                column = block.column(name).to_numpy() + rng.integers(-spread, spread + 1, BLOCK_ROWS)
                block = block.set_column(block.schema.get_field_index(name), name, pa.array(np.maximum(column, 1)))
            csv_writer.write_table(block)
            parquet_writer.write_table(block, row_group_size=ROW_GROUP_ROWS)
            rows += BLOCK_ROWS
        csv_writer.close()
        parquet_writer.close()
    return csv_path, parquet_path, rows


def measure(fmt: str, path: str, batch_size: int, train_steps: int, one_pass: bool) -> dict[str, float | None]:
    """Runs in a fresh process: input-only pass, then training; rows/s and peak RSS."""
    import torch_estimator as te
    from torch_estimator._census import census_columns
    from torch_estimator._inputs.streaming import make_csv_input_fn, make_parquet_input_fn

    logging.getLogger("torch_estimator").setLevel(logging.WARNING)
    make = make_csv_input_fn if fmt == "csv" else make_parquet_input_fn
    rss = PeakRss()
    input_fn = make(path, batch_size, label_key="class", num_epochs=1)
    result: dict[str, float | None] = {"baseline_mb": rss.reset()}
    start, rows = time.perf_counter(), 0
    for _, labels in input_fn():
        rows += len(labels)
    elapsed = time.perf_counter() - start
    result.update(input_rows=rows, input_rows_per_s=rows / elapsed, input_peak_mb=rss.peak)

    wide, deep = census_columns()
    model_dir = tempfile.mkdtemp(prefix="streaming-memory-")
    estimator = te.DNNLinearCombinedClassifier(
        model_dir=model_dir,
        linear_feature_columns=wide,
        dnn_feature_columns=deep,
        dnn_hidden_units=[100, 75, 50, 25],
        label_vocabulary=LABELS,
        config=te.RunConfig(
            save_checkpoints_steps=None, save_checkpoints_secs=None, save_summary_steps=0, log_step_count_steps=10**9
        ),
    )
    estimator.train(make(path, batch_size, label_key="class"), steps=20)  # builds the model: not input memory
    input_fn = make(path, batch_size, label_key="class", num_epochs=1 if one_pass else None)
    result["train_baseline_mb"] = rss.reset()
    start = time.perf_counter()
    estimator.train(input_fn, steps=None if one_pass else train_steps)
    elapsed = time.perf_counter() - start
    trained_rows = rows if one_pass else train_steps * batch_size  # the input repeats: every step is full
    result.update(train_rows_per_s=trained_rows / elapsed, train_peak_mb=rss.peak)
    shutil.rmtree(model_dir, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, default=5.0, help="size of the generated CSV in GB (default 5)")
    parser.add_argument("--dir", default=None, help="where to write the files (default: a temporary directory)")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--train-steps", type=int, default=2000, help="training steps per format (default 2000)")
    parser.add_argument("--one-pass", action="store_true", help="train over one whole pass instead of --train-steps")
    parser.add_argument("--formats", default="csv,parquet")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--measure", nargs=2, metavar=("FORMAT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        print(json.dumps(measure(args.measure[0], args.measure[1], args.batch_size, args.train_steps, args.one_pass)))
        return

    directory = args.dir or tempfile.mkdtemp(prefix="streaming-memory-")
    os.makedirs(directory, exist_ok=True)
    start = time.perf_counter()
    csv_path, parquet_path, rows = generate(directory, args.gb)
    paths = {"csv": csv_path, "parquet": parquet_path}
    print(
        f"Generated {rows:,} rows in {time.perf_counter() - start:.0f}s: "
        f"CSV {os.path.getsize(csv_path) / 2**30:.2f} GB, "
        f"Parquet {os.path.getsize(parquet_path) / 2**30:.2f} GB, in {directory}"
    )
    training = "one pass" if args.one_pass else f"{args.train_steps} steps"
    print(f"Batch size {args.batch_size}; wide & deep trained for {training}.\n")
    print(
        f"{'format':<8} {'input rows/s':>13} {'train rows/s':>13} {'baseline RSS MB':>16} "
        f"{'peak +MB (input)':>17} {'peak +MB (train)':>17}"
    )
    try:
        for fmt in args.formats.split(","):
            command = [
                sys.executable,
                __file__,
                "--measure",
                fmt,
                paths[fmt],
                "--batch-size",
                str(args.batch_size),
                "--train-steps",
                str(args.train_steps),
            ] + (["--one-pass"] if args.one_pass else [])
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"measuring {fmt} failed:\n{done.stderr}")
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"{fmt:<8} {r['input_rows_per_s']:>13,.0f} {r['train_rows_per_s']:>13,.0f} {r['baseline_mb']:>16,.0f} "
                f"{r['input_peak_mb'] - r['baseline_mb']:>17,.0f} {r['train_peak_mb'] - r['train_baseline_mb']:>17,.0f}"
            )
    finally:
        if not args.keep:
            for path in paths.values():
                os.remove(path)
            if args.dir is None:
                os.rmdir(directory)


if __name__ == "__main__":
    main()
