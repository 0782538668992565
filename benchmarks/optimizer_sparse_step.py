"""Per-step time of the FTRL (and Adagrad) update: sparse rows vs a dense step on a big table.

    python benchmarks/optimizer_sparse_step.py [--dim 8] [--touched 100] [--device cpu|cuda]

A sparse step (the gradient of an embedding lookup with ``sparse=True``) should cost about
the touched rows only, whatever the table size; a dense step costs the whole table.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import torch_estimator as te
from torch_estimator._core import optimizers


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_step(make_optimizer, rows: int, dim: int, touched: int | None, device: str, repeats: int) -> float:
    """Median seconds of ``apply_gradients`` on a [rows, dim] table (sparse if ``touched``)."""
    store = te.VariableStore()
    with store.activate():
        var = te.get_variable("table", [rows, dim], initializer="zeros")
    var.data = var.data.to(device)
    opt = store.optimizer(make_optimizer())
    gen = torch.Generator().manual_seed(0)
    if touched is None:
        grad = torch.randn(rows, dim, generator=gen).to(device)
    else:
        index = torch.randperm(rows, generator=gen)[:touched].sort().values
        grad = torch.sparse_coo_tensor(
            index[None], torch.randn(touched, dim, generator=gen), (rows, dim), check_invariants=True
        )
        grad = grad.coalesce().to(device)
    times = []
    for i in range(repeats + 3):
        var.grad = grad
        _sync(device)
        start = time.perf_counter()
        opt.apply_gradients([var])
        _sync(device)
        if i >= 3:  # warm-up (slot creation, allocator)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=8, help="row width (embedding dimension)")
    parser.add_argument("--touched", type=int, default=100, help="rows touched by a sparse step")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    print(
        f"torch {torch.__version__}, device {args.device}, threads {torch.get_num_threads()}, "
        f"dim {args.dim}, {args.touched} touched rows, median of {args.repeats} steps"
    )
    factories = {
        "Ftrl": lambda: optimizers.Ftrl(learning_rate=0.2, l1_regularization_strength=0.01),
        "Adagrad": lambda: optimizers.Adagrad(learning_rate=0.1),
    }
    for name, factory in factories.items():
        for rows, touched in ((10**3, args.touched), (10**6, args.touched), (10**6, None)):
            seconds = time_step(factory, rows, args.dim, touched, args.device, args.repeats)
            kind = f"sparse ({touched} rows)" if touched else "dense"
            print(f"{name:8s} {rows:>9,d} rows  {kind:18s} {seconds * 1e3:9.3f} ms/step")


if __name__ == "__main__":
    main()
