"""Data-parallel training on ``torch.distributed`` (``te.distribute``).

The public ``te.distribute`` namespace; the implementation is in ``torch_estimator._engine.distribute``.
"""

from torch_estimator._engine import distribute as _impl
from torch_estimator._engine.distribute import *  # noqa: F403

__all__ = _impl.__all__
