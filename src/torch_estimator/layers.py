"""Layer functions for function model_fns, with ``tf.compat.v1.layers`` names and variables.

The public ``te.layers`` namespace (also ``te.compat.v1.layers``); the implementations are in
``torch_estimator._core.layers`` (dense, dropout, batch normalization, embeddings) and
``torch_estimator._core.conv_layers`` (convolution, pooling, flatten); the keras-style layer
objects (``Dense(units)(inputs)``, ...) in ``torch_estimator._core.layer_objects``.
"""

from torch_estimator._core import conv_layers as _conv
from torch_estimator._core import layer_objects as _objects
from torch_estimator._core import layers as _impl
from torch_estimator._core.conv_layers import *  # noqa: F403
from torch_estimator._core.layer_objects import *  # noqa: F403
from torch_estimator._core.layers import *  # noqa: F403

__all__ = [*_impl.__all__, *_conv.__all__, *_objects.__all__]
