"""Training-loop hooks with TensorFlow's ``SessionRunHook`` protocol, and the built-in hooks.

The public ``te.hooks`` namespace; the implementation is in ``torch_estimator._engine.hooks``.
"""

from torch_estimator._engine import hooks as _impl
from torch_estimator._engine.hooks import *  # noqa: F403

__all__ = _impl.__all__
