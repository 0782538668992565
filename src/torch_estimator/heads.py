"""Functional head factories in the style of ``tf.contrib.estimator`` (``te.heads``).

The public ``te.heads`` namespace; the implementation is in ``torch_estimator.head._factories``.
"""

from torch_estimator.head import _factories as _impl
from torch_estimator.head._factories import *  # noqa: F403

__all__ = _impl.__all__
