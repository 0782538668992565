"""Functional head factories in the style of ``tf.contrib.estimator`` (``te.heads``).

The public ``te.heads`` namespace; the implementation is in ``torch_estimator.head._factories``.
"""

from torch_estimator.head._factories import (
    ModelFnOps,
    binary_classification_head,
    logistic_regression_head,
    multi_class_head,
    multi_head,
    multi_label_head,
    no_op_train_fn,
    poisson_regression_head,
    regression_head,
)

__all__ = [
    "binary_classification_head",
    "multi_class_head",
    "multi_label_head",
    "regression_head",
    "logistic_regression_head",
    "poisson_regression_head",
    "multi_head",
    "no_op_train_fn",
    "ModelFnOps",
]
