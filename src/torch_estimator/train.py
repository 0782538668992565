"""``te.train`` (also ``te.compat.v1.train``): TF1's ``tf.compat.v1.train``: the optimizer classes
(``AdagradOptimizer``, ``GradientDescentOptimizer``, ...), the learning-rate decay functions
(``exponential_decay`` ...), ``get_global_step``, and the ``tf.train.Example`` builders
(``Example``, ``Features``, ``Feature``, ``BytesList``, ``FloatList``, ``Int64List``). The decay
functions return schedules (see ``te.optimizers.schedules``) that an optimizer evaluates at its
step."""

from torch_estimator._core.schedules import (
    cosine_decay,
    exponential_decay,
    inverse_time_decay,
    natural_exp_decay,
    piecewise_constant,
    polynomial_decay,
)
from torch_estimator._core.v1_optimizers import (
    AdagradOptimizer,
    AdamOptimizer,
    FtrlOptimizer,
    GradientDescentOptimizer,
    MomentumOptimizer,
    RMSPropOptimizer,
)
from torch_estimator._core.variables import get_global_step
from torch_estimator._inputs.data.example import BytesList, Example, Feature, Features, FloatList, Int64List

__all__ = [
    "BytesList",
    "Example",
    "Feature",
    "Features",
    "FloatList",
    "Int64List",
    "AdagradOptimizer",
    "AdamOptimizer",
    "FtrlOptimizer",
    "GradientDescentOptimizer",
    "MomentumOptimizer",
    "RMSPropOptimizer",
    "exponential_decay",
    "natural_exp_decay",
    "inverse_time_decay",
    "polynomial_decay",
    "cosine_decay",
    "piecewise_constant",
    "get_global_step",
    "get_or_create_global_step",
]

#: TF1's name for the same thing: the global step of the model being run.
get_or_create_global_step = get_global_step
