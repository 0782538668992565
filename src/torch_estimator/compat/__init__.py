"""``te.compat``: TensorFlow 1 names with their TF1 semantics (``te.compat.v1``)."""

from torch_estimator.compat import v1

__all__ = ["v1"]
