"""Streaming, weighted evaluation metrics.

The metric classes (``te.metrics.Mean``, ``AUC``, ...; keras-style objects) and the TF1 metric
functions (``te.metrics.accuracy``, ``auc``, ...; ``tf.compat.v1.metrics``, each returning a
``(value, update_op)`` pair). Both stand for a metric in ``EstimatorSpec.eval_metric_ops``. The
implementations are in ``torch_estimator._core.metrics`` and ``torch_estimator._core.v1_metrics``.
"""

from torch_estimator._core import metrics as _classes
from torch_estimator._core import v1_metrics as _functions
from torch_estimator._core.metrics import *  # noqa: F403
from torch_estimator._core.v1_metrics import *  # noqa: F403

__all__ = sorted([*_classes.__all__, *_functions.__all__])
