"""Variable initializers with TensorFlow's names and defaults.

The public ``te.initializers`` namespace; the implementation is in ``torch_estimator._core.initializers``.
"""

from torch_estimator._core.initializers import (
    Initializer,
    constant,
    get,
    glorot_normal,
    glorot_uniform,
    ones,
    random_normal,
    random_uniform,
    truncated_normal,
    zeros,
)

__all__ = [
    "Initializer",
    "zeros",
    "ones",
    "constant",
    "random_uniform",
    "random_normal",
    "truncated_normal",
    "glorot_uniform",
    "glorot_normal",
    "get",
]
