"""The collective steps of data-parallel training: one shared seed, a per-step agreement on
whether to go on, gradient averaging, and a check that every worker holds the same variables.

Gradients of all trainable variables are averaged with one ``all_reduce`` over a flat buffer.
Sparse gradients (embedding tables of ``SPARSE_GRADIENT_MIN_ROWS`` rows or more) are reduced
densely: simple and exact for SGD, Adagrad and Ftrl (a zero gradient leaves a row unchanged),
at the cost of a table-sized buffer per step.
"""

from __future__ import annotations

import random

import torch
import torch.distributed as dist

from torch_estimator._engine.distribute import DataParallelStrategy, Environment

__all__ = ["DataParallelRun"]


class DataParallelRun:
    """The collective operations of one ``train()`` call across the processes of the job."""

    def __init__(self, strategy: DataParallelStrategy) -> None:
        self.env: Environment = strategy.ensure_process_group()
        self.strategy = strategy

    @property
    def world_size(self) -> int:
        return self.env.world_size

    def shared_seed(self) -> int:
        """A random seed chosen by the chief, the same on every worker."""
        seed = torch.tensor([random.randrange(2**31 - 1) if self.env.is_chief else 0], dtype=torch.int64)
        dist.broadcast(seed, src=0)
        return int(seed.item())

    def barrier(self) -> None:
        dist.barrier()

    def go_on(self, has_batch: bool, stop_requested: bool) -> bool:
        """True while every worker has a batch and none asked to stop (one small all_reduce)."""
        flags = torch.tensor([0.0 if has_batch else 1.0, 1.0 if stop_requested else 0.0])
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        return not bool(flags.any())

    def reduce_gradients(self, variables: list[torch.Tensor]) -> None:
        """Replaces each variable's gradient by its mean over the workers."""
        if not variables:
            return
        grads = [v.grad.coalesce().to_dense() if v.grad.is_sparse else v.grad for v in variables]  # type: ignore[union-attr]
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        for variable, grad in zip(variables, grads):
            n = grad.numel()
            variable.grad = flat[offset : offset + n].view_as(grad)
            offset += n

    def check_same_variables(self, variables: dict[str, torch.Tensor]) -> None:
        """Raises unless every worker holds the same variable values (compared by checksums)."""
        names = sorted(variables)
        sums = (
            torch.stack([variables[n].detach().double().sum() for n in names])
            if names
            else torch.zeros(1, dtype=torch.float64)
        )
        low, high = sums.clone(), sums.clone()
        dist.all_reduce(low, op=dist.ReduceOp.MIN)
        dist.all_reduce(high, op=dist.ReduceOp.MAX)
        differing = [n for n, a, b in zip(names, low.tolist(), high.tolist()) if a != b]
        if differing:
            raise RuntimeError(
                f"Workers hold different values for {differing[:5]}{' ...' if len(differing) > 5 else ''} after the first step: "
                "the model_fn must build the same variables with the same initial values on every worker (set "
                "RunConfig(tf_random_seed=...) or let the chief's seed be shared, and avoid rank-dependent code)."
            )
