"""Layer functions for function model_fns, with ``tf.compat.v1.layers`` names and variables.

Each call creates its variables in the store on the first model_fn call and reuses them
afterwards. Unnamed layers are named ``dense``, ``dense_1``, ... in call order (reset on every
model_fn call), so the same code finds the same variables on every batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from torch_estimator._core.variables import (
    add_regularization_loss,
    current_scope,
    current_store,
    get_variable,
    variable_scope,
)

__all__ = [
    "dense",
    "dropout",
    "batch_normalization",
    "embedding",
    "embedding_lookup",
    "get_activation",
]

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "relu6": F.relu6,
    "elu": F.elu,
    "selu": F.selu,
    "gelu": F.gelu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softplus": F.softplus,
    "softsign": F.softsign,
    "swish": F.silu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
    "softmax": lambda x: torch.softmax(x, dim=-1),
    "linear": lambda x: x,
}


def get_activation(
    activation: str | Callable[[torch.Tensor], torch.Tensor] | None,
) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """Resolves an activation given by name (``'relu'``, ``'tanh'``, ...) or as a callable."""
    if activation is None or callable(activation):
        return activation
    if isinstance(activation, str) and activation in _ACTIVATIONS:
        return _ACTIVATIONS[activation]
    raise ValueError(f"Unknown activation {activation!r}; expected a callable or one of {sorted(_ACTIVATIONS)}.")


def layer_name(name: str | None, default: str) -> str:
    """``name``, or the next unnamed-layer name of this model_fn call (``default``, ``default_1``, ...)."""
    if name is not None:
        return name
    return current_store().unique_name(current_scope(), default)


def _float_input(inputs: Any, layer: str) -> torch.Tensor:
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(f"{layer} inputs must be a torch.Tensor; got {type(inputs).__name__}.")
    if not inputs.is_floating_point():
        raise TypeError(f"{layer} inputs must be floating point; got dtype {inputs.dtype}. Cast the feature first.")
    return inputs


def dense(
    inputs: torch.Tensor,
    units: int,
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
    """``activation(inputs @ kernel + bias)`` with variables ``<name>/kernel`` ``[in, units]`` and ``<name>/bias``.

    The kernel defaults to glorot_uniform, the bias to zeros; the variables take the input's
    floating dtype. Regularizers (``tensor -> scalar``) add to the call's regularization losses.
    """
    inputs = _float_input(inputs, "dense")
    if not isinstance(units, int) or units <= 0:
        raise ValueError(f"dense units must be a positive integer; got {units!r}.")
    act = get_activation(activation)
    store, scope = current_store(), current_scope()
    site = ("dense", scope, name if name is not None else store.unique_name(scope, "dense"))
    cached = store.site_cache.get(site)
    if cached is not None and cached[0].shape == (inputs.shape[-1], units) and cached[0].dtype == inputs.dtype:
        kernel, bias = cached
    else:
        with variable_scope(site[2]):
            kernel = get_variable("kernel", [inputs.shape[-1], units], inputs.dtype, kernel_initializer, trainable)
            bias = get_variable("bias", [units], inputs.dtype, bias_initializer, trainable) if use_bias else None
        store.site_cache[site] = (kernel, bias)
    regularize(site[2], kernel_regularizer, kernel, bias_regularizer, bias)
    if bias is not None and inputs.dim() == 2:
        outputs = torch.addmm(bias, inputs, kernel)
    else:
        outputs = inputs @ kernel
        if bias is not None:
            outputs = outputs + bias
    outputs = act(outputs) if act is not None else outputs
    if activity_regularizer is not None:
        add_regularization_loss(activity_regularizer, outputs, f"{site[2]} activity")
    return outputs


Regularizer = Callable[[torch.Tensor], Any]


def regularize(
    layer: str,
    kernel_regularizer: Regularizer | None,
    kernel: torch.Tensor,
    bias_regularizer: Regularizer | None,
    bias: torch.Tensor | None,
) -> None:
    """Records a layer's kernel and bias regularization losses (on every call, as each model_fn
    call builds its loss afresh)."""
    if kernel_regularizer is not None:
        add_regularization_loss(kernel_regularizer, kernel, f"{layer}/kernel")
    if bias_regularizer is not None and bias is not None:
        add_regularization_loss(bias_regularizer, bias, f"{layer}/bias")


def dropout(
    inputs: torch.Tensor,
    rate: float = 0.5,
    noise_shape: Any = None,
    seed: int | None = None,
    training: bool = False,
    name: str | None = None,
) -> torch.Tensor:
    """Zeroes each element with probability ``rate`` (scaling the rest) when ``training``.

    As in TensorFlow, ``training`` defaults to False: pass ``training=(mode == te.ModeKeys.TRAIN)``.
    """
    del noise_shape, seed, name
    if not 0 <= rate < 1:
        raise ValueError(f"dropout rate must be in [0, 1); got {rate!r}.")
    return F.dropout(inputs, rate, training=bool(training)) if rate > 0 else inputs


def batch_normalization(
    inputs: torch.Tensor,
    axis: int = -1,
    momentum: float = 0.99,
    epsilon: float = 1e-3,
    center: bool = True,
    scale: bool = True,
    training: bool = False,
    trainable: bool = True,
    name: str | None = None,
) -> torch.Tensor:
    """Batch normalization over all axes but ``axis``, with TensorFlow's variables and semantics.

    Variables ``<name>/{gamma,beta,moving_mean,moving_variance}``. When ``training``, the batch
    mean and (biased) variance normalise the input and the moving statistics are updated in
    place: ``moving = moving * momentum + batch * (1 - momentum)``; otherwise the moving
    statistics are used.
    """
    inputs = _float_input(inputs, "batch_normalization")
    axis = axis % inputs.dim()
    features = inputs.shape[axis]
    reduce_dims = [d for d in range(inputs.dim()) if d != axis]
    view = [1] * inputs.dim()
    view[axis] = features
    with variable_scope(layer_name(name, "batch_normalization")):
        gamma = get_variable("gamma", [features], inputs.dtype, "ones", trainable) if scale else None
        beta = get_variable("beta", [features], inputs.dtype, "zeros", trainable) if center else None
        moving_mean = get_variable("moving_mean", [features], inputs.dtype, "zeros", trainable=False)
        moving_variance = get_variable("moving_variance", [features], inputs.dtype, "ones", trainable=False)
    if training:
        mean = inputs.mean(dim=reduce_dims)
        variance = inputs.var(dim=reduce_dims, unbiased=False)
        with torch.no_grad():
            moving_mean.lerp_(mean.detach(), 1 - momentum)
            moving_variance.lerp_(variance.detach(), 1 - momentum)
    else:
        mean, variance = moving_mean, moving_variance
    outputs = (inputs - mean.reshape(view)) * torch.rsqrt(variance.reshape(view) + epsilon)
    if gamma is not None:
        outputs = outputs * gamma.reshape(view)
    if beta is not None:
        outputs = outputs + beta.reshape(view)
    return outputs


def clip_rows_to_norm(rows: torch.Tensor, max_norm: float) -> torch.Tensor:
    """``rows`` (looked-up embeddings, ``[..., d]``) scaled so that each l2 norm is at most ``max_norm``."""
    norms = rows.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return rows * torch.clamp(max_norm / norms, max=1.0)


def embedding_lookup(params: torch.Tensor, ids: torch.Tensor, max_norm: float | None = None) -> torch.Tensor:
    """Rows of ``params`` for integer ``ids`` (any shape); ``max_norm`` clips each row's l2 norm."""
    if not isinstance(ids, torch.Tensor) or ids.is_floating_point():
        raise TypeError(
            f"embedding_lookup ids must be an integer tensor; got {getattr(ids, 'dtype', type(ids).__name__)}."
        )
    rows = F.embedding(ids.long(), params)
    return rows if max_norm is None else clip_rows_to_norm(rows, max_norm)


def embedding(
    ids: torch.Tensor,
    input_dim: int,
    output_dim: int,
    initializer: Any = "random_uniform",
    trainable: bool = True,
    name: str | None = None,
) -> torch.Tensor:
    """Looks ``ids`` up in a ``[input_dim, output_dim]`` table ``<name>/embeddings``."""
    with variable_scope(layer_name(name, "embedding")):
        table = get_variable("embeddings", [input_dim, output_dim], torch.float32, initializer, trainable)
    if isinstance(ids, torch.Tensor) and ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= input_dim):
        raise ValueError(
            f"embedding ids must be in [0, {input_dim}); got values in [{int(ids.min())}, {int(ids.max())}]."
        )
    return embedding_lookup(table, ids)
