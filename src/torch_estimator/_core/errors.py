"""Errors with TensorFlow's names, raised where TensorFlow raises its ``tf.errors`` of that name.

``NotFoundError``: something a restore needs is absent (a variable missing from a checkpoint).
``DataLossError``: a file is damaged (truncated, not the expected format, or a checksum
mismatch). ``ModelDirLockedError``: another process is training the same model_dir.
"""

from __future__ import annotations

__all__ = ["OpError", "NotFoundError", "DataLossError", "ModelDirLockedError"]


class OpError(Exception):
    """Base of the errors below (``tf.errors.OpError``)."""


class NotFoundError(OpError, LookupError):
    """A restore needs something that is not there (``tf.errors.NotFoundError``)."""


class DataLossError(OpError, ValueError):
    """A checkpoint or export file is damaged: truncated, unparsable or failing its checksum
    (``tf.errors.DataLossError``)."""


class ModelDirLockedError(OpError, RuntimeError):
    """Another live process holds the model_dir's training lock."""
