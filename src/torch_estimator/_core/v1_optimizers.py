"""TensorFlow 1's optimizer classes (``tf.compat.v1.train.*Optimizer``), with TF1's arguments,
defaults, names and update rules, on the shared optimizer mechanism.

What differs from the keras-style classes they build on: Adagrad adds no epsilon
(``w -= lr·g/√acc``), RMSProp starts its ``rms`` slot at ones, Adam's default epsilon is 1e-8,
and each has TF1's default name (``GradientDescent``, ``Momentum``, ``RMSProp``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from torch_estimator._core.optimizers import SGD, Adagrad, Adam, Ftrl, RMSprop

__all__ = [
    "AdagradOptimizer",
    "AdamOptimizer",
    "FtrlOptimizer",
    "GradientDescentOptimizer",
    "MomentumOptimizer",
    "RMSPropOptimizer",
]

LearningRate = float | Callable[[int], Any]


def _locking(use_locking: bool) -> None:
    del use_locking  # updates are never concurrent here: there is nothing to lock


class GradientDescentOptimizer(SGD):
    """``w -= lr·g``."""

    def __init__(self, learning_rate: LearningRate, use_locking: bool = False, name: str = "GradientDescent") -> None:
        _locking(use_locking)
        super().__init__(learning_rate, name=name)


class MomentumOptimizer(SGD):
    """``acc = μ·acc + g; w -= lr·acc`` (Nesterov: ``w -= lr·(g + μ·acc)``)."""

    def __init__(
        self,
        learning_rate: LearningRate,
        momentum: float,
        use_locking: bool = False,
        name: str = "Momentum",
        use_nesterov: bool = False,
    ) -> None:
        _locking(use_locking)
        super().__init__(learning_rate, momentum=momentum, nesterov=use_nesterov, name=name)


class AdagradOptimizer(Adagrad):
    """``acc += g²; w -= lr·g/√acc`` (no epsilon; ``initial_accumulator_value`` must be > 0)."""

    def __init__(
        self,
        learning_rate: LearningRate,
        initial_accumulator_value: float = 0.1,
        use_locking: bool = False,
        name: str = "Adagrad",
    ) -> None:
        _locking(use_locking)
        if not initial_accumulator_value > 0:
            raise ValueError(f"initial_accumulator_value must be positive: {initial_accumulator_value}")
        super().__init__(learning_rate, initial_accumulator_value, epsilon=0.0, name=name)


class AdamOptimizer(Adam):
    """Adam with TF1's defaults (epsilon 1e-8, applied as "epsilon hat")."""

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        use_locking: bool = False,
        name: str = "Adam",
    ) -> None:
        _locking(use_locking)
        super().__init__(learning_rate, beta_1=beta1, beta_2=beta2, epsilon=epsilon, name=name)


class FtrlOptimizer(Ftrl):
    """FTRL-proximal with TF1's arguments (``accum_name``/``linear_name`` must be left None: the
    slots keep TF's names ``accumulator``/``linear``)."""

    def __init__(
        self,
        learning_rate: LearningRate,
        learning_rate_power: float = -0.5,
        initial_accumulator_value: float = 0.1,
        l1_regularization_strength: float = 0.0,
        l2_regularization_strength: float = 0.0,
        use_locking: bool = False,
        name: str = "Ftrl",
        accum_name: str | None = None,
        linear_name: str | None = None,
        l2_shrinkage_regularization_strength: float = 0.0,
        beta: float | None = None,
    ) -> None:
        _locking(use_locking)
        if accum_name is not None or linear_name is not None:
            raise ValueError(
                f"FtrlOptimizer accum_name={accum_name!r}, linear_name={linear_name!r}: renaming the slots is not "
                "supported (they are checkpointed as 'accumulator' and 'linear'); pass None."
            )
        super().__init__(
            learning_rate, learning_rate_power, initial_accumulator_value, l1_regularization_strength,
            l2_regularization_strength, name, l2_shrinkage_regularization_strength, beta or 0.0,
        )  # fmt: skip


class RMSPropOptimizer(RMSprop):
    """``rms = ρ·rms + (1−ρ)·g²; mom = μ·mom + lr·g/√(rms + ε); w -= mom``, ``rms`` starting at
    ones as in TF1 (centered also subtracts the mean gradient)."""

    def __init__(
        self,
        learning_rate: LearningRate,
        decay: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-10,
        use_locking: bool = False,
        centered: bool = False,
        name: str = "RMSProp",
    ) -> None:
        _locking(use_locking)
        super().__init__(learning_rate, rho=decay, momentum=momentum, epsilon=epsilon, centered=centered, name=name)

    def _init_slot(self, slot: str, var: torch.Tensor) -> torch.Tensor:
        if slot == "rms":
            return torch.ones_like(var, memory_format=torch.contiguous_format).detach()
        return super()._init_slot(slot, var)
