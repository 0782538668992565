"""Convolution, pooling and flatten layer functions with ``tf.compat.v1.layers`` names, variables
and layouts.

Inputs are channels-last (``[batch, *spatial, channels]``) by default, as in TensorFlow;
``data_format='channels_first'`` takes ``[batch, channels, *spatial]``. Kernels are stored in
TF's layout, ``<name>/kernel`` ``[*kernel_size, in_channels, filters]``, so checkpoints map one to
one. ``padding='same'`` pads as TF does: the total ``max((ceil(n / s) - 1) * s + (k - 1) * d + 1 - n,
0)`` split with the odd element after; padded cells never win a max and are not counted in an
average.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from torch_estimator._core.layers import Regularizer, get_activation, layer_name, regularize
from torch_estimator._core.variables import (
    add_regularization_loss,
    get_variable,
    variable_scope,
)

__all__ = [
    "conv1d",
    "conv2d",
    "max_pooling1d",
    "max_pooling2d",
    "average_pooling1d",
    "average_pooling2d",
    "flatten",
]

_CONV = {1: F.conv1d, 2: F.conv2d}
_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d}


def _ints(value: int | Sequence[int], rank: int, what: str, layer: str) -> tuple[int, ...]:
    values = (value,) * rank if isinstance(value, int) else tuple(value)
    if len(values) != rank or not all(isinstance(v, int) and v > 0 for v in values):
        raise ValueError(f"{layer} {what} must be a positive integer or {rank} of them; got {value!r}.")
    return values


def _channels_first(inputs: Any, rank: int, data_format: str, layer: str) -> torch.Tensor:
    """``inputs`` checked (a float tensor of rank ``rank + 2``) and moved to ``[batch, channels, *spatial]``."""
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(f"{layer} inputs must be a torch.Tensor; got {type(inputs).__name__}.")
    if not inputs.is_floating_point():
        raise TypeError(f"{layer} inputs must be floating point; got dtype {inputs.dtype}. Cast the feature first.")
    if inputs.dim() != rank + 2:
        layout = "[batch, " + ", ".join(["spatial"] * rank) + ", channels]"
        raise ValueError(f"{layer} inputs must have rank {rank + 2} ({layout}); got shape {tuple(inputs.shape)}.")
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer} data_format must be 'channels_last' or 'channels_first'; got {data_format!r}.")
    return inputs.movedim(-1, 1) if data_format == "channels_last" else inputs


def _back(outputs: torch.Tensor, data_format: str) -> torch.Tensor:
    return outputs.movedim(1, -1) if data_format == "channels_last" else outputs


def _padding(
    x: torch.Tensor,
    padding: str,
    kernel: tuple[int, ...],
    strides: tuple[int, ...],
    dilation: tuple[int, ...],
    layer: str,
    value: float = 0.0,
) -> torch.Tensor:
    """``x`` (channels first) padded for ``padding`` ('valid' or TF's 'same')."""
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode == "valid":
        return x
    if mode != "same":
        raise ValueError(f"{layer} padding must be 'valid' or 'same'; got {padding!r}.")
    pads: list[int] = []
    for size, k, s, d in reversed(list(zip(x.shape[2:], kernel, strides, dilation, strict=True))):
        total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value) if any(pads) else x


def _conv(
    rank: int,
    inputs: Any,
    filters: int,
    kernel_size: int | Sequence[int],
    strides: int | Sequence[int],
    padding: str,
    data_format: str,
    dilation_rate: int | Sequence[int],
    activation: str | Callable[[torch.Tensor], torch.Tensor] | None,
    use_bias: bool,
    kernel_initializer: Any,
    bias_initializer: Any,
    kernel_regularizer: Regularizer | None,
    bias_regularizer: Regularizer | None,
    activity_regularizer: Regularizer | None,
    trainable: bool,
    name: str | None,
) -> torch.Tensor:
    layer = f"conv{rank}d"
    x = _channels_first(inputs, rank, data_format, layer)
    if not isinstance(filters, int) or filters <= 0:
        raise ValueError(f"{layer} filters must be a positive integer; got {filters!r}.")
    kernel_shape = _ints(kernel_size, rank, "kernel_size", layer)
    stride = _ints(strides, rank, "strides", layer)
    dilation = _ints(dilation_rate, rank, "dilation_rate", layer)
    if max(stride) > 1 and max(dilation) > 1:
        raise ValueError(f"{layer}: strides > 1 cannot be combined with dilation_rate > 1 (as in TensorFlow).")
    act = get_activation(activation)
    scope_name = layer_name(name, layer)
    with variable_scope(scope_name):
        kernel = get_variable("kernel", [*kernel_shape, x.shape[1], filters], x.dtype, kernel_initializer, trainable)
        bias = get_variable("bias", [filters], x.dtype, bias_initializer, trainable) if use_bias else None
    regularize(scope_name, kernel_regularizer, kernel, bias_regularizer, bias)
    weight = kernel.permute(rank + 1, rank, *range(rank))  # [filters, in, *kernel_size]
    x = _padding(x, padding, kernel_shape, stride, dilation, layer)
    outputs = _back(_CONV[rank](x, weight, bias, stride, 0, dilation), data_format)
    outputs = act(outputs) if act is not None else outputs
    if activity_regularizer is not None:
        add_regularization_loss(activity_regularizer, outputs, f"{scope_name} activity")
    return outputs


def conv1d(
    inputs: torch.Tensor,
    filters: int,
    kernel_size: int | Sequence[int],
    strides: int | Sequence[int] = 1,
    padding: str = "valid",
    data_format: str = "channels_last",
    dilation_rate: int | Sequence[int] = 1,
    activation: str | Callable[[torch.Tensor], torch.Tensor] | None = None,
    use_bias: bool = True,
    kernel_initializer: Any = None,
    bias_initializer: Any = "zeros",
    kernel_regularizer: Regularizer | None = None,
    bias_regularizer: Regularizer | None = None,
    activity_regularizer: Regularizer | None = None,
    trainable: bool = True,
    name: str | None = None,
) -> torch.Tensor:
    """1-D convolution of ``[batch, width, channels]`` inputs; variables ``<name>/kernel``
    ``[kernel_size, in, filters]`` (glorot_uniform) and ``<name>/bias`` ``[filters]`` (zeros)."""
    return _conv(
        1, inputs, filters, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer, activity_regularizer,
        trainable, name,
    )  # fmt: skip


def conv2d(
    inputs: torch.Tensor,
    filters: int,
    kernel_size: int | Sequence[int],
    strides: int | Sequence[int] = (1, 1),
    padding: str = "valid",
    data_format: str = "channels_last",
    dilation_rate: int | Sequence[int] = (1, 1),
    activation: str | Callable[[torch.Tensor], torch.Tensor] | None = None,
    use_bias: bool = True,
    kernel_initializer: Any = None,
    bias_initializer: Any = "zeros",
    kernel_regularizer: Regularizer | None = None,
    bias_regularizer: Regularizer | None = None,
    activity_regularizer: Regularizer | None = None,
    trainable: bool = True,
    name: str | None = None,
) -> torch.Tensor:
    """2-D convolution of ``[batch, height, width, channels]`` inputs; variables ``<name>/kernel``
    ``[kh, kw, in, filters]`` (glorot_uniform) and ``<name>/bias`` ``[filters]`` (zeros)."""
    return _conv(
        2, inputs, filters, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer, activity_regularizer,
        trainable, name,
    )  # fmt: skip


def _pool(
    rank: int,
    kind: str,
    inputs: Any,
    pool_size: int | Sequence[int],
    strides: int | Sequence[int],
    padding: str,
    data_format: str,
) -> torch.Tensor:
    layer = f"{kind}_pooling{rank}d"
    x = _channels_first(inputs, rank, data_format, layer)
    size = _ints(pool_size, rank, "pool_size", layer)
    stride = _ints(strides, rank, "strides", layer)
    ones = (1,) * rank
    if kind == "max":
        padded = _padding(x, padding, size, stride, ones, layer, value=-math.inf)
        return _back(_MAX_POOL[rank](padded, size, stride), data_format)
    padded = _padding(x, padding, size, stride, ones, layer)
    if padded is x:
        return _back(_AVG_POOL[rank](x, size, stride), data_format)
    # average over the cells inside the input only
    inside = _padding(
        torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device), padding, size, stride, ones, layer
    )
    return _back(_AVG_POOL[rank](padded, size, stride) / _AVG_POOL[rank](inside, size, stride), data_format)


def max_pooling1d(
    inputs: torch.Tensor,
    pool_size: int | Sequence[int],
    strides: int | Sequence[int],
    padding: str = "valid",
    data_format: str = "channels_last",
    name: str | None = None,
) -> torch.Tensor:
    """Maximum over windows of ``pool_size`` along the width of ``[batch, width, channels]`` inputs."""
    del name  # no variables
    return _pool(1, "max", inputs, pool_size, strides, padding, data_format)


def max_pooling2d(
    inputs: torch.Tensor,
    pool_size: int | Sequence[int],
    strides: int | Sequence[int],
    padding: str = "valid",
    data_format: str = "channels_last",
    name: str | None = None,
) -> torch.Tensor:
    """Maximum over ``pool_size`` windows of ``[batch, height, width, channels]`` inputs."""
    del name  # no variables
    return _pool(2, "max", inputs, pool_size, strides, padding, data_format)


def average_pooling1d(
    inputs: torch.Tensor,
    pool_size: int | Sequence[int],
    strides: int | Sequence[int],
    padding: str = "valid",
    data_format: str = "channels_last",
    name: str | None = None,
) -> torch.Tensor:
    """Mean over windows of ``pool_size`` along the width of ``[batch, width, channels]`` inputs."""
    del name  # no variables
    return _pool(1, "average", inputs, pool_size, strides, padding, data_format)


def average_pooling2d(
    inputs: torch.Tensor,
    pool_size: int | Sequence[int],
    strides: int | Sequence[int],
    padding: str = "valid",
    data_format: str = "channels_last",
    name: str | None = None,
) -> torch.Tensor:
    """Mean over ``pool_size`` windows of ``[batch, height, width, channels]`` inputs."""
    del name  # no variables
    return _pool(2, "average", inputs, pool_size, strides, padding, data_format)


def flatten(inputs: torch.Tensor, name: str | None = None, data_format: str = "channels_last") -> torch.Tensor:
    """``[batch, ...]`` to ``[batch, n]``; channels-first inputs are moved to channels-last first, so
    both layouts flatten to the same order (as TF)."""
    del name  # no variables
    if not isinstance(inputs, torch.Tensor) or inputs.dim() < 1:
        raise ValueError(f"flatten inputs must be a tensor with a batch dimension; got {inputs!r:.80}.")
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"flatten data_format must be 'channels_last' or 'channels_first'; got {data_format!r}.")
    if data_format == "channels_first" and inputs.dim() >= 3:
        inputs = inputs.movedim(1, -1)
    return inputs.reshape(inputs.shape[0], -1)
