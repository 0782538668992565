"""Errors with TensorFlow's names, raised where TensorFlow raises its ``tf.errors`` of that name.

The public ``te.errors`` namespace; the implementation is in ``torch_estimator._core.errors``.
"""

from torch_estimator._core import errors as _impl
from torch_estimator._core.errors import *  # noqa: F403

__all__ = _impl.__all__
