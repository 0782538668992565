"""``te.compat.v1``: ``tf.compat.v1`` names with TensorFlow 1's semantics (``estimator``, ``losses``,
``metrics``, ``layers``)."""

from torch_estimator import layers
from torch_estimator.compat.v1 import estimator, losses, metrics

__all__ = ["estimator", "layers", "losses", "metrics"]
