"""Keras-style layer objects of ``tf.compat.v1.layers`` (``Dense(units)(inputs)``, ``Conv2D``, ...):
each holds its arguments and calls the layer function of the same name.

A layer object owns its variables: within one model_fn call, its first use takes the next name in
call order (``dense``, ``dense_1``, ...) unless ``name`` is given, and its later uses reuse it.
Every call numbers the layers in the same order, so an object kept across calls and one built
anew inside the model_fn (as the migration guides do) find the same variables each time.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

import torch

from torch_estimator._core import conv_layers, layers
from torch_estimator._core.variables import current_scope, current_store

__all__ = [
    "Layer",
    "Dense",
    "Dropout",
    "BatchNormalization",
    "Conv1D",
    "Conv2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "AveragePooling1D",
    "AveragePooling2D",
    "Flatten",
]


class Layer:
    """A layer function's arguments, applied on call: ``Layer(*args, **kwargs)(inputs)`` is
    ``function(inputs, *args, **kwargs)``. Bad arguments fail at construction."""

    function: ClassVar[Callable[..., torch.Tensor]]
    #: The default name of a layer with variables (None: it has none).
    default_name: ClassVar[str | None] = None
    #: Arguments given per call rather than at construction.
    call_arguments: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, name: str | None = None, **kwargs: Any) -> None:
        signature = inspect.signature(type(self).function)
        try:
            signature.bind_partial(None, *args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{type(self).__name__}: {error}") from None
        self.name = name
        self._args = args
        self._kwargs = kwargs

    def _scope_name(self) -> str:
        if self.name is not None:
            return self.name
        store = current_store()
        key = ("layer object", id(self))
        named = store.call_cache.get(key)  # (self, name): kept alive, so the id is not reused this call
        if named is None:
            assert self.default_name is not None
            named = store.call_cache[key] = (self, store.unique_name(current_scope(), self.default_name))
        return named[1]

    def __call__(self, inputs: torch.Tensor, **call_kwargs: Any) -> torch.Tensor:
        unexpected = sorted(set(call_kwargs) - set(self.call_arguments))
        if unexpected:
            raise TypeError(
                f"{type(self).__name__} takes {list(self.call_arguments)} when called; got unexpected {unexpected}."
            )
        kwargs = {**self._kwargs, **call_kwargs}
        if self.default_name is not None:
            kwargs["name"] = self._scope_name()
        return type(self).function(inputs, *self._args, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Dense(Layer):
    """``tf.compat.v1.layers.Dense(units, activation=None, ...)``: see ``te.layers.dense``."""

    function = staticmethod(layers.dense)
    default_name = "dense"


class Dropout(Layer):
    """``Dropout(rate=0.5)(inputs, training=False)``: see ``te.layers.dropout``."""

    function = staticmethod(layers.dropout)
    call_arguments = ("training",)


class BatchNormalization(Layer):
    """``BatchNormalization(axis=-1, momentum=0.99, ...)(inputs, training=False)``: see
    ``te.layers.batch_normalization``."""

    function = staticmethod(layers.batch_normalization)
    default_name = "batch_normalization"
    call_arguments = ("training",)


class Conv1D(Layer):
    """``Conv1D(filters, kernel_size, ...)``: see ``te.layers.conv1d``."""

    function = staticmethod(conv_layers.conv1d)
    default_name = "conv1d"


class Conv2D(Layer):
    """``Conv2D(filters, kernel_size, ...)``: see ``te.layers.conv2d``."""

    function = staticmethod(conv_layers.conv2d)
    default_name = "conv2d"


class MaxPooling1D(Layer):
    """``MaxPooling1D(pool_size, strides, ...)``: see ``te.layers.max_pooling1d``."""

    function = staticmethod(conv_layers.max_pooling1d)


class MaxPooling2D(Layer):
    """``MaxPooling2D(pool_size, strides, ...)``: see ``te.layers.max_pooling2d``."""

    function = staticmethod(conv_layers.max_pooling2d)


class AveragePooling1D(Layer):
    """``AveragePooling1D(pool_size, strides, ...)``: see ``te.layers.average_pooling1d``."""

    function = staticmethod(conv_layers.average_pooling1d)


class AveragePooling2D(Layer):
    """``AveragePooling2D(pool_size, strides, ...)``: see ``te.layers.average_pooling2d``."""

    function = staticmethod(conv_layers.average_pooling2d)


class Flatten(Layer):
    """``Flatten(data_format='channels_last')``: see ``te.layers.flatten``."""

    function = staticmethod(conv_layers.flatten)
