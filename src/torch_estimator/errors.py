"""Errors with TensorFlow's names, raised where TensorFlow raises its ``tf.errors`` of that name.

The public ``te.errors`` namespace; the implementation is in ``torch_estimator._core.errors``.
"""

from torch_estimator._core.errors import DataLossError, ModelDirLockedError, NotFoundError, OpError

__all__ = [
    "OpError",
    "NotFoundError",
    "DataLossError",
    "ModelDirLockedError",
]
