"""Layer functions for function model_fns, with ``tf.compat.v1.layers`` names and variables.

The public ``te.layers`` namespace; the implementation is in ``torch_estimator._core.layers``.
"""

from torch_estimator._core.layers import (
    batch_normalization,
    dense,
    dropout,
    embedding,
    embedding_lookup,
    get_activation,
)

__all__ = [
    "dense",
    "dropout",
    "batch_normalization",
    "embedding",
    "embedding_lookup",
    "get_activation",
]
