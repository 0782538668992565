"""Writing ``tf.train.Example`` protos: ``encode_example``, from a dict of scalars, lists and 1-D arrays."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

from torch_estimator.export.tfexample.schema import LIST_TAG
from torch_estimator.export.tfexample.wire import encode_varints, length_delimited, varint_bytes

__all__ = ["encode_example"]

_INT64_MIN, _INT64_MAX, _UINT64_MASK = -(2**63), 2**63 - 1, 2**64 - 1
_SCALARS = (bytes, str, bool, int, float, np.generic)


def _kind_of_element(key: str, index: int, value: Any) -> str:
    if isinstance(value, (bytes, str)):
        return "bytes"
    if isinstance(value, (bool, int, np.integer, np.bool_)):
        return "int64"
    if isinstance(value, (float, np.floating)):
        return "float"
    raise TypeError(
        f"Feature {key!r}: value {index} is {type(value).__name__} ({value!r}); expected bytes, str, a float or an int."
    )


def _packed_array(key: str, array: np.ndarray) -> tuple[str, bytes | list[bytes]]:
    """``(kind, payload)`` of a 1-D numpy array: packed bytes for numbers, the values for strings."""
    code = array.dtype.kind
    if code == "f":
        with np.errstate(over="ignore"):
            return "float", array.astype("<f4").tobytes()
    if code in "iub":
        if code == "u" and array.size and array.max() > _INT64_MAX:
            raise ValueError(f"Feature {key!r}: value {array.max()} is out of the int64 range [-2**63, 2**63 - 1].")
        return "int64", encode_varints(array)
    if code in "SU":
        return "bytes", [v.encode() if isinstance(v, str) else v for v in array.tolist()]
    raise TypeError(f"Feature {key!r} has dtype {array.dtype}; expected strings, floats or integers.")


def _packed_list(key: str, values: list[Any] | tuple[Any, ...]) -> tuple[str | None, bytes | list[bytes]]:
    """``(kind, payload)`` of a list of Python values; kind None for an empty list."""
    if not values:
        return None, []
    kinds = {_kind_of_element(key, i, v) for i, v in enumerate(values)}
    if kinds == {"bytes"}:
        return "bytes", [v.encode() if isinstance(v, str) else v for v in values]
    if "bytes" in kinds:
        raise ValueError(
            f"Feature {key!r} mixes strings and numbers ({list(values)[:5]!r}); "
            "expected one kind per feature: bytes/str, floats or ints."
        )
    if "float" in kinds:
        try:
            return "float", struct.pack(f"<{len(values)}f", *values)
        except OverflowError:  # beyond float32: inf, as TensorFlow stores it
            return _packed_array(key, np.asarray(values, dtype=np.float64))
    ints = [int(v) for v in values]
    bad = next((v for v in ints if not _INT64_MIN <= v <= _INT64_MAX), None)
    if bad is not None:
        raise ValueError(f"Feature {key!r}: value {bad} is out of the int64 range [-2**63, 2**63 - 1].")
    return "int64", b"".join(varint_bytes(v & _UINT64_MASK) for v in ints)


def _encode_feature(key: str, value: Any) -> bytes:
    """One feature's ``Feature`` message: a scalar, a list or a 1-D numpy array of one kind."""
    if isinstance(value, _SCALARS):
        value = [value]
    if isinstance(value, np.ndarray):
        if value.ndim > 1:
            raise ValueError(
                f"Feature {key!r} is an array of shape {value.shape}; expected a scalar or a 1-D list of values "
                "(a tf.train.Example feature is a flat list: flatten it)."
            )
        value = value.reshape(-1)
        kind, payload = _packed_list(key, value.tolist()) if value.dtype == object else _packed_array(key, value)
    elif isinstance(value, (list, tuple)):
        kind, payload = _packed_list(key, value)
    else:
        raise TypeError(
            f"Feature {key!r} is {type(value).__name__}; expected bytes, str, a float, an int, "
            "or a list or 1-D numpy array of them."
        )
    if kind is None:
        return b""
    if isinstance(payload, bytes):  # packed numbers: one run
        body = length_delimited(0x0A, payload) if payload else b""
    else:  # the values of a BytesList
        body = b"".join(length_delimited(0x0A, v) for v in payload)
    return length_delimited(LIST_TAG[kind], body)


def encode_example(features: Mapping[str, Any]) -> bytes:
    """Serialize a dict of features as a ``tf.train.Example``.

    Each value is a scalar, a list or a 1-D numpy array. ``bytes``/``str`` values become a
    ``bytes_list`` (``str`` as UTF-8), floats a ``float_list`` (rounded to float32), ints and bools
    an ``int64_list``; a list of ints and floats is a ``float_list``. An empty list, which carries no
    kind, becomes a ``Feature`` with no list set (``tf.io.parse_example`` reads it as missing); an
    empty numpy array keeps its dtype's kind. Features are written in sorted name order, so equal
    inputs give equal bytes.

    Example:
        >>> encode_example({"age": 39, "education": "Bachelors", "hours": [40.0]})
    """
    if not isinstance(features, Mapping):
        raise TypeError(f"features must be a mapping of feature name to values; got {type(features).__name__}.")
    for key in features:
        if not isinstance(key, str):
            raise TypeError(f"Feature names must be str; got {key!r} ({type(key).__name__}).")
    entries = b"".join(
        length_delimited(
            0x0A, length_delimited(0x0A, key.encode()) + length_delimited(0x12, _encode_feature(key, features[key]))
        )
        for key in sorted(features)
    )
    return length_delimited(0x0A, entries)
