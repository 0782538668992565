"""Census wide & deep trained through ``te.data`` against ``pandas_input_fn``, in one run.

Both feed the same ``DNNLinearCombinedClassifier`` (the tutorial's columns, TF's default
optimizers) the same frame: ``pandas_input_fn(df, y, batch_size, num_epochs=None, shuffle=True)``
and ``te.data.Dataset.from_tensor_slices((dict(df), y)).shuffle(1000).repeat().batch(batch_size)``.
Each measurement is a fresh process; the two alternate ``--repeats`` times and the median
examples/s ratio (te.data / pandas_input_fn) is printed. ``--busy`` keeps a core busy meanwhile.

    python benchmarks/data_input.py [--batch 40] [--steps 1500] [--repeats 3] [--busy]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def measure(kind: str, batch: int, steps: int) -> dict[str, float]:
    """Trains ``steps`` steps (after 50 warm-up steps) and returns examples/s."""
    import tempfile

    import torch_estimator as te
    from torch_estimator._census import census_columns
    from torch_estimator.datasets import load_census

    frame = load_census("train")
    labels = (frame.pop("class") == ">50K").astype("int64")
    for name in ("age", "education-num", "capital-gain", "capital-loss", "hours-per-week"):
        frame[name] = frame[name].astype("float32")
    wide, deep = census_columns()
    est = te.DNNLinearCombinedClassifier(
        model_dir=tempfile.mkdtemp(), linear_feature_columns=wide, dnn_feature_columns=deep,
        dnn_hidden_units=[100, 50], config=te.RunConfig(tf_random_seed=0, save_checkpoints_steps=10**9),
    )  # fmt: skip
    if kind == "pandas":
        input_fn = te.inputs.pandas_input_fn(frame, labels, batch_size=batch, num_epochs=None, shuffle=True)
    else:

        def input_fn() -> te.data.Dataset:
            dataset = te.data.Dataset.from_tensor_slices((dict(frame), labels.to_numpy()))
            return dataset.shuffle(1000).repeat().batch(batch)

    est.train(input_fn, steps=50)
    start = time.perf_counter()
    est.train(input_fn, steps=steps)
    elapsed = time.perf_counter() - start
    return {"examples_per_sec": steps * batch / elapsed, "seconds": elapsed}


def _busy() -> None:
    while True:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=40)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--busy", action="store_true")
    parser.add_argument("--one", choices=["pandas", "data"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.batch, args.steps)))
        return
    busy = multiprocessing.Process(target=_busy, daemon=True) if args.busy else None
    if busy is not None:
        busy.start()
    results: dict[str, list[float]] = {"pandas": [], "data": []}
    try:
        for _ in range(args.repeats):
            for kind in ("pandas", "data"):
                command = [
                    sys.executable,
                    __file__,
                    "--one",
                    kind,
                    "--batch",
                    str(args.batch),
                    "--steps",
                    str(args.steps),
                ]
                out = (
                    subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
                )
                results[kind].append(json.loads(out)["examples_per_sec"])
                print(f"{kind:7s} {results[kind][-1]:9.0f} examples/s", flush=True)
    finally:
        if busy is not None:
            busy.terminate()
    ratios = [d / p for d, p in zip(results["data"], results["pandas"], strict=True)]
    print(
        json.dumps(
            {
                "batch": args.batch,
                "busy": args.busy,
                "pandas_examples_per_sec": statistics.median(results["pandas"]),
                "data_examples_per_sec": statistics.median(results["data"]),
                "ratio_data_over_pandas": statistics.median(ratios),
                "ratios": ratios,
            }
        )
    )


if __name__ == "__main__":
    main()
