"""Data-parallel training on ``torch.distributed`` (``te.distribute``).

The public ``te.distribute`` namespace; the implementation is in ``torch_estimator._engine.distribute``.
"""

from torch_estimator._engine.distribute import DataParallelStrategy, Environment, InputContext, environment

__all__ = [
    "InputContext",
    "DataParallelStrategy",
    "environment",
    "Environment",
]
