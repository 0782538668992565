"""Latency and throughput of ``torch-estimator serve`` (TF Serving's REST API) under a bounded load.

Run: python benchmarks/serving.py [--model_base_path DIR] [--requests 1000] [--concurrency 8]
         [--instances 1,100] [--seconds 30] [--enable_batching | --compare_batching]

* The model: ``--model_base_path`` (a directory of numeric version directories, as exported by
  ``Estimator.export_saved_model``), or by default a census ``DNNLinearCombinedClassifier`` trained
  for a few hundred steps and exported with a raw-feature receiver into a temporary directory.
* The server: a real ``torch-estimator serve`` process on 127.0.0.1 (a free port), batching off,
  on (``--enable_batching``), or both one after the other (``--compare_batching``).
* The load: ``:predict`` requests of 1 and of 100 census test rows (as named raw features, or as
  base64 ``tf.Example`` protos when the signature takes serialized examples), ``--requests`` per
  size from ``--concurrency`` client threads, each size stopped after ``--seconds``.
Prints a table: p50 / p99 latency, requests/s and instances/s, errors (non-200 answers).
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

import httpx
import numpy as np

from torch_estimator.datasets import load_census

logger = logging.getLogger("benchmarks.serving")
NUMERIC = ("age", "education-num", "capital-gain", "capital-loss", "hours-per-week", "fnlwgt")


def build_census_export(directory: str, steps: int) -> str:
    """Trains a census wide & deep classifier briefly and exports it (raw features) under ``directory``."""
    import torch_estimator as te
    from torch_estimator._census import census_columns, census_features

    wide, deep = census_columns()
    estimator = te.DNNLinearCombinedClassifier(
        model_dir=os.path.join(directory, "model"),
        linear_feature_columns=wide,
        dnn_feature_columns=deep,
        dnn_hidden_units=[100, 75, 50, 25],
        config=te.RunConfig(log_step_count_steps=10**9),
    )
    features, labels = census_features(load_census("train"))
    estimator.train(
        te.inputs.numpy_input_fn(features, labels, batch_size=256, num_epochs=None, shuffle=True), steps=steps
    )
    spec = te.feature_column.make_parse_example_spec(wide + deep)
    receivers = {
        name: te.export.placeholder("float32" if name in NUMERIC else "string", [None], name=name) for name in spec
    }
    base = os.path.join(directory, "export")
    estimator.export_saved_model(base, te.export.build_raw_serving_input_receiver_fn(receivers))
    return base


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A ``torch-estimator serve`` process on a free loopback port."""

    def __init__(
        self, model_base_path: str, model_name: str, enable_batching: bool, loader: str | None, intra_op: int
    ) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.model_name = model_name
        command = [
            sys.executable,
            "-m",
            "torch_estimator",
            "--quiet",
            "serve",
            "--model_base_path",
            model_base_path,
            "--model_name",
            model_name,
            "--port",
            str(self.port),
            "--host",
            "127.0.0.1",
            "--file_system_poll_wait_seconds",
            "0",
            "--tensorflow_intra_op_parallelism",
            str(intra_op),
        ]
        command += ["--enable_batching"] if enable_batching else []
        command += ["--loader", loader] if loader else []
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}: {self.process.stderr.read()}")
            try:
                if httpx.get(f"{self.url}/v1/models/{self.model_name}", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not load {self.model_name} within {timeout:.0f} s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _census_value(column: str, value: Any, dtype: str) -> Any:
    if dtype == "DT_STRING":
        return str(value)
    if dtype in ("DT_FLOAT", "DT_DOUBLE", "DT_HALF"):
        return float(value)
    return int(value)


def build_instances(metadata: dict, signature_name: str, count: int) -> list[Any]:
    """``count`` census test rows as the signature's instances: named features, or serialized examples."""
    from torch_estimator.export.tfexample import encode_example

    inputs = metadata["metadata"]["signature_def"]["signature_def"][signature_name]["inputs"]
    rows = load_census("test").drop(columns=["class"]).head(count).to_dict("records")
    if len(inputs) == 1 and next(iter(inputs.values()))["dtype"] == "DT_STRING" and next(iter(inputs)) not in rows[0]:
        typed = [{k: (float(v) if k in NUMERIC else str(v)) for k, v in row.items()} for row in rows]
        return [{"b64": base64.b64encode(encode_example(row)).decode()} for row in typed]
    missing = sorted(set(inputs) - set(rows[0]))
    if missing:
        raise SystemExit(
            f"signature {signature_name!r} takes inputs {missing} that are not census columns; pass --signature_name."
        )
    return [{name: _census_value(name, row[name], info["dtype"]) for name, info in inputs.items()} for row in rows]


def pick_signature(metadata: dict, requested: str | None) -> str:
    signatures = metadata["metadata"]["signature_def"]["signature_def"]
    if requested:
        return requested
    for name in ("serving_default", "predict"):
        if name in signatures and signatures[name]["method_name"] == "tensorflow/serving/predict":
            return name
    return next(n for n, s in signatures.items() if s["method_name"] == "tensorflow/serving/predict")


def load_test(url: str, body: dict, requests: int, concurrency: int, seconds: float) -> dict[str, float]:
    """Sends ``requests`` copies of ``body`` from ``concurrency`` threads (stopping after ``seconds``)."""
    latencies: list[float] = []
    errors = [0]
    issued = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        with httpx.Client(timeout=60) as client:
            for _ in range(3):  # warm-up, not counted
                client.post(url, json=body)
            while True:
                with lock:
                    if issued[0] >= requests or time.monotonic() > deadline:
                        return
                    issued[0] += 1
                start = time.perf_counter()
                response = client.post(url, json=body)
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    errors[0] += response.status_code != 200

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    ms = np.asarray(latencies) * 1000
    return {
        "requests": len(ms),
        "errors": errors[0],
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "rps": len(ms) / wall,
    }


def run_config(args: argparse.Namespace, base_path: str, enable_batching: bool) -> list[tuple]:
    server = Server(base_path, args.model_name, enable_batching, args.loader, args.intra_op)
    try:
        server.wait_ready()
        metadata = httpx.get(f"{server.url}/v1/models/{args.model_name}/metadata", timeout=10).json()
        signature = pick_signature(metadata, args.signature_name)
        instances = build_instances(metadata, signature, max(args.instances))
        url = f"{server.url}/v1/models/{args.model_name}:predict"
        rows = []
        for n in args.instances:
            body = {"signature_name": signature, "instances": instances[:n]}
            check = httpx.post(url, json=body, timeout=60)
            if check.status_code != 200:
                raise RuntimeError(f"{check.status_code}: {check.text}")
            result = load_test(url, body, args.requests, args.concurrency, args.seconds)
            rows.append(("on" if enable_batching else "off", n, result))
            logger.info("batching %s, %d instances: %s", rows[-1][0], n, result)
        return rows
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model_base_path", default=None, help="default: train and export a census model")
    parser.add_argument("--model_name", default="census")
    parser.add_argument(
        "--signature_name", default=None, help="default: serving_default if it is a predict signature, else predict"
    )
    parser.add_argument(
        "--loader", default=None, help="'module:function' for the server (default: torch_estimator.export:load)"
    )
    parser.add_argument("--requests", type=int, default=1000, help="requests per instance count")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--instances", default="1,100", help="instances per request, comma-separated")
    parser.add_argument("--seconds", type=float, default=30.0, help="time limit per instance count")
    parser.add_argument(
        "--intra_op",
        type=int,
        default=0,
        help="the server's --tensorflow_intra_op_parallelism (0: its default, torch's or 1 with batching)",
    )
    parser.add_argument("--train_steps", type=int, default=300, help="training steps of the default census model")
    batching = parser.add_mutually_exclusive_group()
    batching.add_argument("--enable_batching", action="store_true")
    batching.add_argument("--compare_batching", action="store_true", help="run without, then with batching")
    args = parser.parse_args()
    args.instances = [int(n) for n in args.instances.split(",")]
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    with tempfile.TemporaryDirectory() as scratch:
        base_path = args.model_base_path
        if base_path is None:
            logger.info("training and exporting a census model (%d steps) ...", args.train_steps)
            base_path = build_census_export(scratch, args.train_steps)
        configs = [False, True] if args.compare_batching else [args.enable_batching]
        rows = [row for enable in configs for row in run_config(args, base_path, enable)]

    threads = f"intra-op threads {args.intra_op}" if args.intra_op else "the server's default intra-op threads"
    print(
        f"\n:predict on {args.model_name}, {args.concurrency} concurrent clients, "
        f"up to {args.requests} requests per row, loopback, {threads}"
    )
    print(
        f"{'batching':>8} {'instances':>9} {'requests':>8} {'errors':>6} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'inst/s':>9}"
    )
    for batching_state, n, r in rows:
        print(
            f"{batching_state:>8} {n:>9} {r['requests']:>8} {r['errors']:>6} "
            f"{r['p50']:>8.1f} {r['p99']:>8.1f} {r['rps']:>8.1f} {r['rps'] * n:>9.0f}"
        )


if __name__ == "__main__":
    main()
