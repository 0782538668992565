"""Summaries a model_fn records for TensorBoard (written by the ``SummarySaverHook``).

The public ``te.summary`` namespace; the implementation is in ``torch_estimator._core.summary``.
"""

from torch_estimator._core import summary as _impl
from torch_estimator._core.summary import *  # noqa: F403

__all__ = _impl.__all__
