"""Serving input receivers: what a served model takes (receiver tensors) and how its features are
made from them (the same tensors, or ``tf.Example`` protos parsed by a feature spec).

There are no symbolic tensors here: a receiver tensor is a ``Placeholder`` (dtype and shape, the
batch dimension unknown), and a feature is a placeholder or an output of ``parse_example``. That
is all a receiver may do, which is what lets export write it as data.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from torch_estimator._core.dtypes import dtype_name
from torch_estimator._core.parse_spec import FixedLenFeature, VarLenFeature

__all__ = [
    "Placeholder",
    "placeholder",
    "ParsedFeature",
    "parse_example",
    "ServingInputReceiver",
    "TensorServingInputReceiver",
    "build_parsing_serving_input_receiver_fn",
    "build_raw_serving_input_receiver_fn",
    "SINGLE_FEATURE_DEFAULT_NAME",
    "SINGLE_RECEIVER_DEFAULT_NAME",
]

SINGLE_FEATURE_DEFAULT_NAME = "feature"
SINGLE_RECEIVER_DEFAULT_NAME = "input"
_SERVABLE_DTYPES = ("float32", "float64", "float16", "int8", "int16", "int32", "int64", "uint8", "bool", "string")


class Placeholder:
    """A receiver tensor: ``dtype`` ('float32', 'int64', 'string', ...) and ``shape`` (None for
    an unknown dimension; the first one is the batch), like ``tf.compat.v1.placeholder``."""

    def __init__(self, dtype: Any, shape: Any = None, name: str | None = None) -> None:
        self.dtype = dtype_name(dtype)
        if self.dtype not in _SERVABLE_DTYPES:
            raise ValueError(f"Placeholder dtype must be one of {list(_SERVABLE_DTYPES)}; got {dtype!r}.")
        self.shape = None if shape is None else tuple(None if d is None or d == -1 else int(d) for d in shape)
        self.name = name

    def __repr__(self) -> str:
        return f"Placeholder(dtype={self.dtype!r}, shape={self.shape}, name={self.name!r})"


def placeholder(dtype: Any, shape: Any = None, name: str | None = None) -> Placeholder:
    """A receiver tensor of ``dtype`` and ``shape`` (see ``Placeholder``)."""
    return Placeholder(dtype, shape, name)


class ParsedFeature:
    """Feature ``key`` of the ``tf.Example`` protos in ``source``, parsed with ``spec``."""

    def __init__(self, source: Placeholder, key: str, spec: FixedLenFeature | VarLenFeature) -> None:
        self.source = source
        self.key = key
        self.spec = spec

    def __repr__(self) -> str:
        return f"ParsedFeature({self.key!r}, {self.spec})"


def parse_example(
    serialized: Placeholder, features: Mapping[str, FixedLenFeature | VarLenFeature]
) -> dict[str, ParsedFeature]:
    """Features parsed from the serialized ``tf.Example`` protos of ``serialized`` (a string placeholder)."""
    if not isinstance(serialized, Placeholder) or serialized.dtype != "string":
        raise ValueError(
            f"parse_example needs a string Placeholder of serialized tf.Example protos; got {serialized!r}."
        )
    if not isinstance(features, Mapping) or not features:
        raise ValueError(
            f"features must be a non-empty dict of feature key -> FixedLenFeature / VarLenFeature; got {features!r}."
        )
    out = {}
    for key, spec in features.items():
        if not isinstance(spec, (FixedLenFeature, VarLenFeature)):
            raise ValueError(
                f"Unsupported parsing spec for feature {key!r}: {spec!r}; expected FixedLenFeature or VarLenFeature."
            )
        if spec.dtype not in ("float32", "int64", "string"):
            raise ValueError(
                f"Feature {key!r}: tf.Example features are float32, int64 or string; got dtype {spec.dtype!r}."
            )
        out[key] = ParsedFeature(serialized, key, spec)
    return out


def _check_values(what: str, values: Mapping[str, Any], allowed: tuple[type, ...], kind: str) -> None:
    for key, value in values.items():
        if not isinstance(key, str):
            raise ValueError(f"{what} keys must be strings: {key}.")
        if not isinstance(value, allowed):
            raise ValueError(f"{what[:-1] if what.endswith('s') else what} {key} must be a {kind}; got {value!r}.")


class ServingInputReceiver(
    collections.namedtuple("ServingInputReceiver", ["features", "receiver_tensors", "receiver_tensors_alternatives"])
):
    """What a serving_input_receiver_fn returns: ``features`` for the model_fn (placeholders or
    ``parse_example`` outputs; a single one becomes ``{'feature': ...}``) and the
    ``receiver_tensors`` a request provides (a single one becomes ``{'input': ...}``)."""

    def __new__(
        cls, features: Any, receiver_tensors: Any, receiver_tensors_alternatives: Any = None
    ) -> ServingInputReceiver:
        if features is None:
            raise ValueError("features must be defined.")
        if not isinstance(features, dict):
            features = {SINGLE_FEATURE_DEFAULT_NAME: features}
        _check_values("feature", features, (Placeholder, ParsedFeature), "Placeholder or parse_example output")
        if receiver_tensors is None:
            raise ValueError("receiver_tensors must be defined.")
        if not isinstance(receiver_tensors, dict):
            receiver_tensors = {SINGLE_RECEIVER_DEFAULT_NAME: receiver_tensors}
        _check_values("receiver_tensors", receiver_tensors, (Placeholder,), "Placeholder")
        _check_sources(features, receiver_tensors)
        if receiver_tensors_alternatives:
            raise ValueError(
                "receiver_tensors_alternatives are not supported: export one receiver per export_saved_model call "
                "instead."
            )
        return super().__new__(cls, features, receiver_tensors, None)


class TensorServingInputReceiver(
    collections.namedtuple(
        "TensorServingInputReceiver", ["features", "receiver_tensors", "receiver_tensors_alternatives"]
    )
):
    """Like ``ServingInputReceiver``, but the model_fn gets ``features`` itself (one placeholder or
    parsed feature), not a dict."""

    def __new__(
        cls, features: Any, receiver_tensors: Any, receiver_tensors_alternatives: Any = None
    ) -> TensorServingInputReceiver:
        if features is None:
            raise ValueError("features must be defined.")
        if not isinstance(features, (Placeholder, ParsedFeature)):
            raise ValueError(f"features must be a Placeholder or a parse_example output; got {features!r}.")
        inner = ServingInputReceiver(
            {SINGLE_FEATURE_DEFAULT_NAME: features}, receiver_tensors, receiver_tensors_alternatives
        )
        return super().__new__(cls, features, inner.receiver_tensors, None)


def _check_sources(features: Mapping[str, Any], receiver_tensors: Mapping[str, Placeholder]) -> None:
    known = {id(p) for p in receiver_tensors.values()}
    for key, value in features.items():
        source = value.source if isinstance(value, ParsedFeature) else value
        if id(source) not in known:
            raise ValueError(
                f"feature {key} is computed from {source!r}, which is not one of the receiver_tensors "
                f"({sorted(receiver_tensors)})."
            )


def build_parsing_serving_input_receiver_fn(
    feature_spec: Mapping[str, FixedLenFeature | VarLenFeature], default_batch_size: int | None = None
) -> Callable[[], ServingInputReceiver]:
    """A receiver fn taking serialized ``tf.Example`` protos (receiver key ``examples``) and
    parsing them with ``feature_spec`` (e.g. ``te.feature_column.make_parse_example_spec(columns)``)."""
    spec = dict(feature_spec)

    def serving_input_receiver_fn() -> ServingInputReceiver:
        serialized = Placeholder("string", [default_batch_size], name="input_example_tensor")
        return ServingInputReceiver(parse_example(serialized, spec), {"examples": serialized})

    return serving_input_receiver_fn


def build_raw_serving_input_receiver_fn(
    features: Mapping[str, Any], default_batch_size: int | None = None
) -> Callable[[], ServingInputReceiver]:
    """A receiver fn whose receiver tensors are the features themselves: one placeholder per key
    with the dtype and shape (batch dimension replaced) of the given example values."""
    if not isinstance(features, Mapping):
        raise ValueError(
            "features must be a dict of feature name -> example tensor/array/Placeholder; "
            f"got {type(features).__name__}."
        )
    specs = {key: _placeholder_like(key, value, default_batch_size) for key, value in features.items()}

    def serving_input_receiver_fn() -> ServingInputReceiver:
        placeholders = {key: Placeholder(p.dtype, p.shape, key) for key, p in specs.items()}
        return ServingInputReceiver(placeholders, dict(placeholders))

    return serving_input_receiver_fn


def _placeholder_like(key: str, value: Any, batch: int | None) -> Placeholder:
    if isinstance(value, Placeholder):
        shape = value.shape
        return Placeholder(value.dtype, None if shape is None else (batch,) + tuple(shape[1:]), key)
    if isinstance(value, torch.Tensor):
        return Placeholder(value.dtype, (batch,) + tuple(value.shape[1:]), key)
    # As TensorFlow (tf.constant's dtypes): Python floats are float32, ints int32; arrays keep
    # theirs. A scalar gives a [batch] input (its shape after the first dimension is empty).
    python = {bool: "bool", int: "int32", float: "float32"}.get(type(value))
    array = np.asarray(value)
    if array.dtype.kind in "USO":
        return Placeholder("string", (batch,) + array.shape[1:], key)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"features[{key!r}] must be numbers or strings; got {array.dtype} ({value!r}).")
    return Placeholder(python or array.dtype, (batch,) + array.shape[1:], key)
