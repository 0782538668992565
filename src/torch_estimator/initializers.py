"""Variable initializers with TensorFlow's names and defaults.

The public ``te.initializers`` namespace; the implementation is in ``torch_estimator._core.initializers``.
"""

from torch_estimator._core.initializers import (
    Initializer,
    zeros,
    ones,
    constant,
    random_uniform,
    random_normal,
    truncated_normal,
    glorot_uniform,
    glorot_normal,
    get,
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
