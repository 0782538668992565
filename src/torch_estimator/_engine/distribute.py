"""Data-parallel training on ``torch.distributed`` (``te.distribute``).

Run the same training script under ``torchrun --nproc_per_node=N`` (or several nodes with a
rendezvous endpoint): every process trains on its own shard of the input, gradients are averaged
across processes after each backward pass (one global step), and only the chief (rank 0) writes
checkpoints, summaries and exports. ``RunConfig`` reads its ``is_chief``, ``task_id``,
``num_worker_replicas`` ... from the torch.distributed environment (``RANK``, ``WORLD_SIZE``).
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["InputContext", "DataParallelStrategy", "environment", "Environment"]


@dataclasses.dataclass(frozen=True)
class Environment:
    """Where this process stands in the job: ``rank`` of ``world_size`` (1 when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_chief(self) -> bool:
        return self.rank == 0


def environment() -> Environment:
    """The torch.distributed environment of this process (from an initialised process group, or
    the ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` variables torchrun sets)."""
    if dist.is_available() and dist.is_initialized():
        return Environment(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        raise ValueError(
            f"RANK / WORLD_SIZE / LOCAL_RANK must be integers; got {os.environ.get('RANK')!r} / "
            f"{os.environ.get('WORLD_SIZE')!r} / {os.environ.get('LOCAL_RANK')!r}."
        ) from None
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"RANK must be in [0, WORLD_SIZE); got RANK={rank}, WORLD_SIZE={world}.")
    return Environment(rank, world, local)


class InputContext:
    """What an ``input_fn(input_context)`` is told about the input pipelines (as
    ``tf.distribute.InputContext``): read shard ``input_pipeline_id`` of ``num_input_pipelines``."""

    def __init__(self, num_input_pipelines: int = 1, input_pipeline_id: int = 0, num_replicas_in_sync: int = 1) -> None:
        if num_input_pipelines < 1 or not 0 <= input_pipeline_id < num_input_pipelines:
            raise ValueError(
                f"input_pipeline_id must be in [0, num_input_pipelines); got {input_pipeline_id} of "
                f"{num_input_pipelines}."
            )
        self.num_input_pipelines = int(num_input_pipelines)
        self.input_pipeline_id = int(input_pipeline_id)
        self.num_replicas_in_sync = int(num_replicas_in_sync)

    def get_per_replica_batch_size(self, global_batch_size: int) -> int:
        """``global_batch_size`` split evenly over the replicas (it must divide)."""
        if global_batch_size % self.num_replicas_in_sync:
            raise ValueError(
                f"The `global_batch_size` {global_batch_size} is not divisible by `num_replicas_in_sync` "
                f"{self.num_replicas_in_sync}"
            )
        return global_batch_size // self.num_replicas_in_sync

    def __repr__(self) -> str:
        return (
            f"InputContext(num_input_pipelines={self.num_input_pipelines}, input_pipeline_id={self.input_pipeline_id}, "
            f"num_replicas_in_sync={self.num_replicas_in_sync})"
        )


class DataParallelStrategy:
    """Data-parallel training over a torch.distributed process group (``RunConfig(train_distribute=...)``).

    Args:
        backend: 'gloo' (CPU) or 'nccl' (GPU); None picks nccl when CUDA is available.
        timeout_secs: how long a collective waits for the other processes before failing, so a
            stuck job ends with an error instead of hanging. A worker that dies closes its
            connections and the others fail at once; the wait also covers the chief's
            evaluations and exports inside ``train_and_evaluate``, hence the generous default.

    Under torchrun a strategy with the defaults is used even when none is given.
    """

    def __init__(self, backend: str | None = None, timeout_secs: float = 300.0) -> None:
        if backend not in (None, "gloo", "nccl"):
            raise ValueError(f"backend must be None, 'gloo' or 'nccl'; got {backend!r}.")
        if timeout_secs <= 0:
            raise ValueError(f"timeout_secs must be > 0; got {timeout_secs}.")
        self.backend = backend
        self.timeout_secs = float(timeout_secs)

    def __repr__(self) -> str:
        return f"DataParallelStrategy(backend={self.backend!r}, timeout_secs={self.timeout_secs})"

    def ensure_process_group(self) -> Environment:
        """Initialises the default process group from the environment (once) and returns it."""
        env = environment()
        if env.is_distributed and not dist.is_initialized():
            backend = self.backend or ("nccl" if torch.cuda.is_available() else "gloo")
            dist.init_process_group(backend, timeout=datetime.timedelta(seconds=self.timeout_secs))
        return environment()

    def input_context(self) -> InputContext:
        env = environment()
        return InputContext(env.world_size, env.rank, env.world_size)


def strategy_for(train_distribute: Any) -> DataParallelStrategy | None:
    """The strategy to train with: the configured one, a default one under torchrun, else None."""
    if train_distribute is not None:
        if not isinstance(train_distribute, DataParallelStrategy):
            raise ValueError(
                f"train_distribute must be a te.distribute.DataParallelStrategy; got {train_distribute!r}."
            )
        return train_distribute
    return DataParallelStrategy() if environment().is_distributed else None
