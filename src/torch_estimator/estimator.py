"""``te.estimator``: the ``tf.estimator`` namespace (``te.estimator.export`` included)."""

from . import export
from ._estimator import Estimator
from ._mode_keys import ModeKeys
from ._run_config import RunConfig
from ._spec import EstimatorSpec

__all__ = ["Estimator", "EstimatorSpec", "ModeKeys", "RunConfig", "export"]
