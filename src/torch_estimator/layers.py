"""Layer functions for function model_fns, with ``tf.compat.v1.layers`` names and variables.

The public ``te.layers`` namespace; the implementation is in ``torch_estimator._core.layers``.
"""

from torch_estimator._core import layers as _impl
from torch_estimator._core.layers import *  # noqa: F403

__all__ = _impl.__all__
