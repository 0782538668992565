"""``te.compat.v1``: ``tf.compat.v1`` names with TensorFlow 1's semantics (``losses``, ``metrics``,
``layers``)."""

from torch_estimator import layers
from torch_estimator.compat.v1 import losses, metrics

__all__ = ["layers", "losses", "metrics"]
