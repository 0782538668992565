"""Streaming, weighted evaluation metrics.

The public ``te.metrics`` namespace; the implementation is in ``torch_estimator._core.metrics``.
"""

from torch_estimator._core import metrics as _impl
from torch_estimator._core.metrics import *  # noqa: F403

__all__ = _impl.__all__
