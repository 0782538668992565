"""``te.compat.v1``: ``tf.compat.v1`` names with TensorFlow 1's semantics (``estimator``, ``losses``,
``metrics``, ``layers``, ``train``, ``feature_column``)."""

from torch_estimator import feature_column, layers, train
from torch_estimator.compat.v1 import estimator, losses, metrics

__all__ = ["estimator", "feature_column", "layers", "losses", "metrics", "train"]
