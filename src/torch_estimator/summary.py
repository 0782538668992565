"""Summaries a model_fn records for TensorBoard (written by the ``SummarySaverHook``).

The public ``te.summary`` namespace; the implementation is in ``torch_estimator._core.summary``.
"""

from torch_estimator._core.summary import histogram, scalar

__all__ = [
    "scalar",
    "histogram",
]
