"""Loss reductions with ``tf.losses.Reduction``'s names, and the weighted reduction heads use.

The public ``te.losses`` namespace; the implementation is in ``torch_estimator._core.losses``.
"""

from torch_estimator._core import losses as _impl
from torch_estimator._core.losses import *  # noqa: F403

__all__ = _impl.__all__
