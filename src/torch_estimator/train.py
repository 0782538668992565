"""``te.train``: TF1's learning-rate decay functions (``tf.compat.v1.train.exponential_decay`` ...)
and ``get_global_step``. The decay functions return schedules (see ``te.optimizers.schedules``)
that an optimizer evaluates at its step."""

from torch_estimator._core.schedules import (
    cosine_decay,
    exponential_decay,
    inverse_time_decay,
    natural_exp_decay,
    piecewise_constant,
    polynomial_decay,
)
from torch_estimator._core.variables import get_global_step

__all__ = [
    "exponential_decay",
    "natural_exp_decay",
    "inverse_time_decay",
    "polynomial_decay",
    "cosine_decay",
    "piecewise_constant",
    "get_global_step",
]
