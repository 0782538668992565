"""Optimizers with TensorFlow's (keras legacy) update rules, defaults and slot names.

The public ``te.optimizers`` namespace; the implementation is in ``torch_estimator._core.optimizers``.
"""

from torch_estimator._core import optimizers as _impl
from torch_estimator._core import schedules
from torch_estimator._core.optimizers import *  # noqa: F403

__all__ = [*_impl.__all__, "schedules"]
