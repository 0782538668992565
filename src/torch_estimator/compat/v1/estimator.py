"""``te.compat.v1.estimator``: ``tf.compat.v1.estimator``: the ``te.estimator`` names, with TF1's
canned estimators (SUM loss reduction, TF1's learning rates and arguments; see
``torch_estimator.canned._v1``) and TF1's ``inputs``."""

from torch_estimator import estimator as _v2
from torch_estimator import inputs as inputs  # TF1's tf.compat.v1.estimator.inputs
from torch_estimator._core.not_provided import not_provided as _not_provided
from torch_estimator.canned import _v1
from torch_estimator.estimator import *  # noqa: F403

globals().update({_name: getattr(_v1, _name) for _name in _v1.__all__})  # TF1's canned classes replace v2's

__all__ = sorted({*_v2.__all__, "inputs"})


def __getattr__(name: str) -> object:
    raise _not_provided(__name__, name)
