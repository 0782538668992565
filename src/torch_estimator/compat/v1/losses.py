"""``te.compat.v1.losses``: ``tf.compat.v1.losses`` (TF1's weights and reductions).

The implementation is in ``torch_estimator._core.v1_losses``.
"""

from torch_estimator._core import v1_losses as _impl
from torch_estimator._core.v1_losses import *  # noqa: F403

__all__ = _impl.__all__
