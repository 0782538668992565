"""Variable initializers with TensorFlow's names and defaults.

The public ``te.initializers`` namespace; the implementation is in ``torch_estimator._core.initializers``.
"""

from torch_estimator._core import initializers as _impl
from torch_estimator._core.initializers import *  # noqa: F403

__all__ = _impl.__all__
