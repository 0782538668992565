"""Canned estimators with TensorFlow 2.15's arguments, defaults and variable names."""

from torch_estimator.canned import _estimators as _impl
from torch_estimator.canned._estimators import *  # noqa: F403

__all__ = _impl.__all__
