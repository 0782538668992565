"""Optimizers with TensorFlow's (keras legacy) update rules, defaults and slot names.

The public ``te.optimizers`` namespace; the implementation is in ``torch_estimator._core.optimizers``.
"""

from torch_estimator._core.optimizers import (
    SGD,
    Adagrad,
    Adam,
    Ftrl,
    Optimizer,
    RMSprop,
    TorchOptimizer,
    TrainOp,
    get,
    register,
)

__all__ = [
    "Optimizer",
    "Adagrad",
    "Adam",
    "Ftrl",
    "RMSprop",
    "SGD",
    "TorchOptimizer",
    "TrainOp",
    "get",
    "register",
]
