"""Loss reductions with ``tf.losses.Reduction``'s names, and the weighted reduction heads use.

The public ``te.losses`` namespace; the implementation is in ``torch_estimator._core.losses``.
"""

from torch_estimator._core.losses import Reduction, compute_weighted_loss

__all__ = [
    "Reduction",
    "compute_weighted_loss",
]
