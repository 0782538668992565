"""How a ``train()`` call runs: alone (``LocalRun``) or as one of the processes of a data-parallel
job (``DataParallelRun``). The loop talks to either through the same ``Run`` interface.

Data-parallel training shares one seed, agrees per step on whether to go on, averages gradients
and checks once that every worker holds the same variables. Gradients of all trainable variables
are averaged with one ``all_reduce`` over a flat buffer. Sparse gradients (embedding tables of
``SPARSE_GRADIENT_MIN_ROWS`` rows or more) are reduced densely: simple and exact for SGD, Adagrad
and Ftrl (a zero gradient leaves a row unchanged), at the cost of a table-sized buffer per step.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

import torch
import torch.distributed as dist

from torch_estimator._core import rng as _rng
from torch_estimator._core.fn_args import fn_args
from torch_estimator._core.train_op import TrainOp, reducing_gradients
from torch_estimator._core.variables import VariableStore
from torch_estimator._engine.distribute import DataParallelStrategy, Environment, InputContext, strategy_for

__all__ = ["Run", "LocalRun", "DataParallelRun", "run_for"]

logger = logging.getLogger("torch_estimator")

B = TypeVar("B")


class Run(Protocol):
    """What a loop does differently when it is one process of a data-parallel job."""

    def barrier(self) -> None:
        """Waits until every process of the job gets here."""

    def share_seed(self) -> None:
        """Seeds the random generators of every process alike (before variables are created)."""

    def input_context(self, input_fn: Callable[..., Any]) -> InputContext | None:
        """The shard of the input this process reads (None: all of it)."""

    def next_batch(self, batches: Iterator[B], stop_requested: bool) -> B | None:
        """The next batch, or None when the loop ends (input exhausted or a stop requested)."""

    def apply(self, train_op: Callable[[], Any]) -> None:
        """Runs a step's ``train_op`` (backward pass and optimizer updates)."""

    def check_same_variables(self, store: VariableStore) -> None:
        """Raises unless every process holds the same variable values."""


class LocalRun:
    """A ``train()`` call in a single process: no collective operations."""

    def barrier(self) -> None:
        pass

    def share_seed(self) -> None:
        pass

    def input_context(self, input_fn: Callable[..., Any]) -> InputContext | None:
        return None

    def next_batch(self, batches: Iterator[B], stop_requested: bool) -> B | None:
        return None if stop_requested else next(batches, None)

    def apply(self, train_op: Callable[[], Any]) -> None:
        train_op()

    def check_same_variables(self, store: VariableStore) -> None:
        pass


def run_for(train_distribute: Any) -> Run:
    """A ``DataParallelRun`` when ``train_distribute`` (or torchrun's environment) asks for more
    than one process, else a ``LocalRun``."""
    strategy = strategy_for(train_distribute)
    if strategy is not None and strategy.ensure_process_group().is_distributed:
        return DataParallelRun(strategy)
    return LocalRun()


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

    def share_seed(self) -> None:
        _rng.seed_all(self.shared_seed())

    def input_context(self, input_fn: Callable[..., Any]) -> InputContext:
        """This process's shard; a warning when ``input_fn`` takes no ``input_context``."""
        if "input_context" not in fn_args(input_fn):
            logger.warning(
                "input_fn takes no input_context: every worker reads the whole input (pass input_context to shard it)."
            )
        return self.strategy.input_context()

    def next_batch(self, batches: Iterator[B], stop_requested: bool) -> B | None:
        """The next batch while every worker has one and none asked to stop."""
        batch = next(batches, None)
        return batch if self.go_on(batch is not None, stop_requested) else None

    def apply(self, train_op: Callable[[], Any]) -> None:
        """Runs ``train_op`` with its gradients averaged over the workers before the updates."""
        if not isinstance(train_op, TrainOp):
            raise ValueError(
                "Data-parallel training needs a train_op built by an optimizer (optimizer.minimize(loss) or a "
                f"head) so that gradients can be averaged across workers; got {train_op!r}."
            )
        with reducing_gradients(self.reduce_gradients):
            train_op()

    def go_on(self, has_batch: bool, stop_requested: bool) -> bool:
        """True while every worker has a batch and none asked to stop (one small all_reduce)."""
        flags = torch.tensor([0.0 if has_batch else 1.0, 1.0 if stop_requested else 0.0])
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        return not bool(flags.any())

    def reduce_gradients(self, variables: list[torch.Tensor]) -> None:
        """Replaces each variable's gradient by its mean over the workers."""
        if not variables:
            return
        grads: list[torch.Tensor] = []
        for variable in variables:
            grad = variable.grad
            assert grad is not None, "the TrainOp reduces only variables with a gradient"
            grads.append(grad.coalesce().to_dense() if grad.is_sparse else grad)
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        for variable, grad in zip(variables, grads):
            n = grad.numel()
            variable.grad = flat[offset : offset + n].view_as(grad)
            offset += n

    def check_same_variables(self, store: VariableStore) -> None:
        """Raises unless every worker holds the same variable values (compared by checksums)."""
        variables = store.variables()
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
                f"Workers hold different values for {differing[:5]}{' ...' if len(differing) > 5 else ''} after the "
                "first step: the model_fn must build the same variables with the same initial values on every "
                "worker (set RunConfig(tf_random_seed=...) or let the chief's seed be shared, and avoid "
                "rank-dependent code)."
            )
