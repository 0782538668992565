"""Learning-rate schedules: TensorFlow's Keras schedule classes (``tf.keras.optimizers.schedules``)
and its TF1 functions (``tf.compat.v1.train.exponential_decay`` ...), with its formulas.

A schedule is a callable ``step -> learning rate``; an optimizer given one as its
``learning_rate`` evaluates it at its step count before each update (the global step for the
optimizer that advances it), as TensorFlow's optimizers do. The TF1 functions take a
``global_step`` argument as TensorFlow requires, and return the schedule rather than a tensor:
there is no graph here, so the optimizer supplies the step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = [
    "LearningRateSchedule",
    "ExponentialDecay",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "CosineDecay",
    "InverseTimeDecay",
    "NaturalExpDecay",
    "exponential_decay",
    "natural_exp_decay",
    "inverse_time_decay",
    "polynomial_decay",
    "cosine_decay",
    "piecewise_constant",
]


def _number(name: str, value: Any, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise TypeError(f"{name} must be a number; got {value!r}.")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0; got {value!r}.")
    return float(value)


class LearningRateSchedule:
    """Base of the schedules: ``schedule(step)`` is the learning rate at ``step``."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """The schedule's arguments (as Keras schedules give them)."""
        return {k.lstrip("_"): v for k, v in vars(self).items()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _RateDecay(LearningRateSchedule):
    """``initial_learning_rate`` decayed by ``decay_rate`` over ``decay_steps``, continuously or in
    whole periods (``staircase``)."""

    def __init__(
        self, initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False
    ) -> None:
        self.initial_learning_rate = _number("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _number("decay_steps", decay_steps, positive=True)
        self.decay_rate = _number("decay_rate", decay_rate)
        self.staircase = bool(staircase)

    def _periods(self, step: int) -> float:
        p = step / self.decay_steps
        return math.floor(p) if self.staircase else p


class ExponentialDecay(_RateDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``."""

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate * self.decay_rate ** self._periods(step)


class NaturalExpDecay(_RateDecay):
    """``initial_learning_rate * exp(-decay_rate * step / decay_steps)`` (TF1's natural_exp_decay)."""

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate * math.exp(-self.decay_rate * self._periods(step))


class InverseTimeDecay(_RateDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``."""

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate / (1.0 + self.decay_rate * self._periods(step))


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` up to ``boundaries[0]`` (included), ``values[i]`` up to ``boundaries[i]``, the
    last value after the last boundary."""

    def __init__(self, boundaries: Sequence[float], values: Sequence[float]) -> None:
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values; got "
                f"{len(boundaries)} boundaries and {len(values)} values."
            )
        self.boundaries = [_number("boundaries", b) for b in boundaries]
        self.values = [_number("values", v) for v in values]

    def __call__(self, step: int) -> float:
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end``, ``step`` held at
    ``decay_steps`` (or, with ``cycle``, ``decay_steps`` stretched to the next multiple)."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        end_learning_rate: float = 0.0001,
        power: float = 1.0,
        cycle: bool = False,
    ) -> None:
        self.initial_learning_rate = _number("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _number("decay_steps", decay_steps, positive=True)
        self.end_learning_rate = _number("end_learning_rate", end_learning_rate)
        self.power = _number("power", power)
        self.cycle = bool(cycle)

    def __call__(self, step: int) -> float:
        decay_steps = self.decay_steps
        if self.cycle:
            decay_steps *= 1.0 if step == 0 else math.ceil(step / decay_steps)
        else:
            step = min(step, decay_steps)  # type: ignore[assignment]
        fraction = 1.0 - step / decay_steps
        return (self.initial_learning_rate - self.end_learning_rate) * fraction**self.power + self.end_learning_rate


class CosineDecay(LearningRateSchedule):
    """``initial_learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * step / decay_steps)) + alpha)``,
    ``step`` held at ``decay_steps``."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0) -> None:
        self.initial_learning_rate = _number("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _number("decay_steps", decay_steps, positive=True)
        self.alpha = _number("alpha", alpha)

    def __call__(self, step: int) -> float:
        fraction = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)


def _needs_step(global_step: Any, name: str) -> None:
    if global_step is None:
        raise ValueError(f"global_step is required for {name}.")


def exponential_decay(
    learning_rate: float,
    global_step: Any,
    decay_steps: int,
    decay_rate: float,
    staircase: bool = False,
    name: str | None = None,
) -> ExponentialDecay:
    """TF1's ``exponential_decay``: an ``ExponentialDecay`` schedule (see the module docstring)."""
    _needs_step(global_step, "exponential_decay")
    return ExponentialDecay(learning_rate, decay_steps, decay_rate, staircase)


def natural_exp_decay(
    learning_rate: float,
    global_step: Any,
    decay_steps: int,
    decay_rate: float,
    staircase: bool = False,
    name: str | None = None,
) -> NaturalExpDecay:
    """TF1's ``natural_exp_decay``: a ``NaturalExpDecay`` schedule."""
    _needs_step(global_step, "natural_exp_decay")
    return NaturalExpDecay(learning_rate, decay_steps, decay_rate, staircase)


def inverse_time_decay(
    learning_rate: float,
    global_step: Any,
    decay_steps: int,
    decay_rate: float,
    staircase: bool = False,
    name: str | None = None,
) -> InverseTimeDecay:
    """TF1's ``inverse_time_decay``: an ``InverseTimeDecay`` schedule."""
    _needs_step(global_step, "inverse_time_decay")
    return InverseTimeDecay(learning_rate, decay_steps, decay_rate, staircase)


def polynomial_decay(
    learning_rate: float,
    global_step: Any,
    decay_steps: int,
    end_learning_rate: float = 0.0001,
    power: float = 1.0,
    cycle: bool = False,
    name: str | None = None,
) -> PolynomialDecay:
    """TF1's ``polynomial_decay``: a ``PolynomialDecay`` schedule."""
    _needs_step(global_step, "polynomial_decay")
    return PolynomialDecay(learning_rate, decay_steps, end_learning_rate, power, cycle)


def cosine_decay(
    learning_rate: float, global_step: Any, decay_steps: int, alpha: float = 0.0, name: str | None = None
) -> CosineDecay:
    """TF1's ``cosine_decay``: a ``CosineDecay`` schedule."""
    _needs_step(global_step, "cosine_decay")
    return CosineDecay(learning_rate, decay_steps, alpha)


def piecewise_constant(
    x: Any, boundaries: Sequence[float], values: Sequence[float], name: str | None = None
) -> PiecewiseConstantDecay:
    """TF1's ``piecewise_constant`` over the step ``x``: a ``PiecewiseConstantDecay`` schedule."""
    _needs_step(x, "piecewise_constant")
    return PiecewiseConstantDecay(boundaries, values)
