"""``te.compat.v1.metrics``: ``tf.compat.v1.metrics`` (streaming ``(value, update_op)`` metrics).

The implementation is in ``torch_estimator._core.v1_metrics``.
"""

from torch_estimator._core import v1_metrics as _impl
from torch_estimator._core.v1_metrics import *  # noqa: F403

__all__ = _impl.__all__
