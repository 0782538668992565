"""``parse_examples``: a batch of serialized ``tf.train.Example`` protos to arrays, with
``tf.io.parse_example``'s semantics and error messages (``FixedLenFeature`` -> dense arrays with
defaults, ``VarLenFeature`` -> ragged values)."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from torch_estimator._core.parse_spec import FixedLenFeature, VarLenFeature
from torch_estimator._core.values import RaggedValue
from torch_estimator.export.tfexample.decode import feature_values, scan_example, shown, values_array
from torch_estimator.export.tfexample.schema import NUMPY_DTYPE
from torch_estimator.export.tfexample.wire import MalformedError, decode_varints, varint_counts

__all__ = ["parse_examples"]

_KIND_OF_DTYPE = {"string": "bytes", "float32": "float", "int64": "int64"}
_TF_TYPE_NAME = {"bytes": "string", "float": "float", "int64": "int64"}  # as TensorFlow's errors spell them


@dataclasses.dataclass
class _Column:
    """One entry of a parse spec and the values collected for it over a batch."""

    name: str
    kind: str
    shape: tuple[int, ...] | None  # None for a VarLenFeature
    default: np.ndarray | None
    rows: list[int] = dataclasses.field(default_factory=list)
    values: list[Any] = dataclasses.field(default_factory=list)

    @property
    def type_name(self) -> str:
        return _TF_TYPE_NAME[self.kind]

    def counts_and_values(self) -> tuple[np.ndarray, np.ndarray]:
        """The number of values each collected row has, and all of them in one array."""
        if self.kind == "bytes":
            counts = np.fromiter(map(len, self.values), dtype=np.int64, count=len(self.values))
            return counts, values_array("bytes", list(itertools.chain.from_iterable(self.values)))
        data = b"".join(self.values)
        lengths = np.fromiter(map(len, self.values), dtype=np.int64, count=len(self.values))
        if self.kind == "float":
            return lengths // 4, values_array("float", data)
        return varint_counts(data, lengths), decode_varints(data)


def _default_array(name: str, feature: FixedLenFeature, kind: str, size: int) -> np.ndarray | None:
    """A FixedLenFeature's default_value as a flat array of the feature's dtype, checked like TensorFlow."""
    value = feature.default_value
    if value is None:
        return None
    if kind == "bytes":
        flat = np.asarray(value, dtype=object).reshape(-1).tolist()
        convertible = all(isinstance(v, (bytes, str)) for v in flat)
        array = np.empty(len(flat), dtype=object)
        array[:] = [v.encode() if isinstance(v, str) else v for v in flat]
    else:
        array = np.asarray(value)
        convertible = array.dtype.kind in ("fiub" if kind == "float" else "iub")
    if not convertible:
        raise TypeError(
            f"Cannot convert {value!r} to EagerTensor of dtype {_TF_TYPE_NAME[kind]} "
            f"(the default_value of feature {name!r})."
        )
    if array.size != size:
        raise ValueError(
            f"Input to reshape is a tensor with {array.size} values, but the requested shape has {size}: "
            f"the default_value of feature {name!r} needs one value per element of shape {list(feature.shape)}."
        )
    with np.errstate(over="ignore"):
        return array.reshape(-1).astype(NUMPY_DTYPE[kind])


def _column(name: str, feature: Any) -> _Column:
    if not isinstance(name, str):
        raise TypeError(f"feature_spec keys must be feature names (str); got {name!r}.")
    if not isinstance(feature, (FixedLenFeature, VarLenFeature)):
        raise TypeError(f"feature_spec[{name!r}] must be a FixedLenFeature or VarLenFeature; got {feature!r}.")
    kind = _KIND_OF_DTYPE.get(feature.dtype)
    if kind is None:
        raise ValueError(
            f"Feature {name!r}: dtype {feature.dtype} is not in the list of allowed values: float, int64, string "
            "(a tf.train.Example holds only float32, int64 and bytes values); "
            "parse it as one of those and cast afterwards."
        )
    if isinstance(feature, VarLenFeature):
        return _Column(name, kind, None, None)
    if any(d is None or not isinstance(d, (int, np.integer)) or d < 0 for d in feature.shape):
        if feature.shape[0] is None:
            problem = f"First dimension of shape for feature {name} unknown"
        else:
            problem = f"All dimensions of shape for feature {name} need to be known non-negative integers"
        raise ValueError(
            f"{problem}; received {list(feature.shape)}. A FixedLenFeature needs a fully defined shape "
            "(use VarLenFeature for variable-length values)."
        )
    shape = tuple(int(d) for d in feature.shape)
    size = math.prod(shape)
    return _Column(name, kind, shape, _default_array(name, feature, kind, size))


def _batch(serialized: Any) -> list[bytes]:
    if isinstance(serialized, (bytes, str)):
        raise TypeError(
            "serialized must be a batch (a list or 1-D array) of serialized tf.train.Example strings; "
            "got a single value: wrap it in a list."
        )
    if isinstance(serialized, np.ndarray):
        if serialized.ndim != 1:
            raise ValueError(
                "serialized must be a 1-D batch of serialized tf.train.Example strings; "
                f"got an array of shape {serialized.shape}."
            )
        serialized = serialized.tolist()
    batch = []
    for index, item in enumerate(serialized):
        if isinstance(item, str):
            item = item.encode()
        elif isinstance(item, (bytearray, memoryview)):
            item = bytes(item)
        elif not isinstance(item, bytes):
            raise TypeError(
                f"serialized[{index}] is {type(item).__name__}; expected bytes (a serialized tf.train.Example)."
            )
        batch.append(item)
    return batch


def _prefix(column: _Column, index: int) -> str:
    return f"Name: <unknown>, Key: {column.name}, Index: {index}."


def _type_mismatch(column: _Column, kind: str) -> str:
    received, expected = _TF_TYPE_NAME[kind], column.type_name
    if column.shape is None:
        return f"Expected type: {expected}, Actual type: {received}"
    return f"Data type: {received} but expected type: {expected}"


def _finish_fixed(column: _Column, batch_size: int) -> np.ndarray:
    assert column.shape is not None
    size = math.prod(column.shape)
    rows = np.asarray(column.rows, dtype=np.int64)
    counts, values = column.counts_and_values()
    wrong = np.flatnonzero(counts != size)
    if wrong.size:
        index, count = int(rows[wrong[0]]), int(counts[wrong[0]])
        shape = ",".join(map(str, column.shape))
        sizes = f"Number of {column.type_name} values != expected.  Values size: {count} but output shape: [{shape}]"
        # TensorFlow words this error for string features as a failure to parse.
        reason = f"Can't parse serialized Example.  {sizes}" if column.kind == "bytes" else sizes
        raise ValueError(f"{_prefix(column, index)}  {reason}")
    if len(rows) == batch_size:
        return values.reshape((batch_size, *column.shape))
    if column.default is None:
        index = int(np.setdiff1d(np.arange(batch_size), rows)[0])
        raise ValueError(
            f"Name: <unknown>, Feature: {column.name} (data type: {column.type_name}) "
            "is required but could not be found. "
            f"Index: {index}: the example has no {column.name!r} and its FixedLenFeature has no default_value."
        )
    out = np.empty((batch_size, size), dtype=NUMPY_DTYPE[column.kind])
    out[:] = column.default
    out[rows] = values.reshape(len(rows), size)
    return out.reshape((batch_size, *column.shape))


def _finish_var(column: _Column, batch_size: int) -> RaggedValue:
    counts, values = column.counts_and_values()
    lengths = np.zeros(batch_size, dtype=np.int64)
    lengths[np.asarray(column.rows, dtype=np.int64)] = counts
    return RaggedValue.trusted(values, np.concatenate(([0], np.cumsum(lengths))))


def parse_examples(
    serialized: Sequence[bytes] | np.ndarray,
    feature_spec: Mapping[str, FixedLenFeature | VarLenFeature],
) -> dict[str, np.ndarray | RaggedValue]:
    """Parse a batch of serialized ``tf.train.Example`` protos, as ``tf.io.parse_example`` does.

    Args:
        serialized: a list or 1-D array of serialized examples (``bytes``; ``str`` is UTF-8 encoded).
        feature_spec: feature name -> ``FixedLenFeature`` or ``VarLenFeature`` of dtype 'float32',
            'int64' or 'string' (the types an Example holds).

    Returns:
        Feature name -> for a ``FixedLenFeature``, an array of shape ``[batch, *shape]`` (float32,
        int64, or an object array of ``bytes``), a missing feature taking ``default_value``; for a
        ``VarLenFeature``, a ``RaggedValue`` whose rows are each example's values (empty when missing).

    Raises:
        ValueError: a malformed example, a required feature missing, a fixed-length feature with the
            wrong number of values, or a feature whose list kind differs from the spec's dtype, with
            TensorFlow's message text.

    Example:
        >>> spec = {"age": FixedLenFeature([1], "int64"), "tags": VarLenFeature("string")}
        >>> parse_examples([encode_example({"age": 39, "tags": ["a", "b"]})], spec)
    """
    columns = [_column(name, feature) for name, feature in feature_spec.items()]
    wanted = [
        (column.name.encode(), column.kind, column.rows.append, column.values.append, column) for column in columns
    ]
    batch = _batch(serialized)
    for index, buf in enumerate(batch):
        try:
            found = scan_example(buf)
        except MalformedError as error:
            raise ValueError(
                f"Could not parse example input, value: '{shown(buf)}' (Index: {index}: {error})."
            ) from None
        for key, expected_kind, add_row, add_values, column in wanted:
            span = found.get(key)
            if span is None:
                continue
            try:
                kind, values = feature_values(*span)
            except MalformedError as error:
                raise ValueError(f"{_prefix(column, index)}  Can't parse serialized Example. ({error})") from None
            if kind != expected_kind:
                if kind is None:  # a Feature with no list set reads as missing
                    continue
                raise ValueError(f"{_prefix(column, index)}  Data types don't match. {_type_mismatch(column, kind)}")
            add_row(index)
            add_values(values)
    return {
        column.name: _finish_var(column, len(batch)) if column.shape is None else _finish_fixed(column, len(batch))
        for column in columns
    }
