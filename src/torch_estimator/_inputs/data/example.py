"""``te.train.Example`` and its parts (``Features``, ``Feature``, ``BytesList``, ``FloatList``,
``Int64List``), the protocol buffer's builders, and ``te.io.parse_example`` /
``parse_single_example`` over batches of serialized examples."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from torch_estimator._core.parse_spec import FixedLenFeature, VarLenFeature
from torch_estimator._core.values import RaggedValue
from torch_estimator.export.tfexample import decode_example, encode_example, parse_examples

__all__ = [
    "BytesList",
    "FloatList",
    "Int64List",
    "Feature",
    "Features",
    "Example",
    "parse_example",
    "parse_single_example",
]


class _List:
    """A repeated field of one kind."""

    def __init__(self, value: Iterable[Any] = ()) -> None:
        self.value = list(value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _List) and type(other) is type(self) and _same(self.value, other.value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(value={self.value!r})"


def _same(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(x == y for x, y in zip(a, b, strict=True))


class BytesList(_List):
    """``tf.train.BytesList``: strings (str values are stored as UTF-8)."""

    def __init__(self, value: Iterable[bytes | str] = ()) -> None:
        super().__init__(v.encode() if isinstance(v, str) else bytes(v) for v in value)


class FloatList(_List):
    """``tf.train.FloatList``: float32 values."""

    def __init__(self, value: Iterable[float] = ()) -> None:
        super().__init__(float(np.float32(v)) for v in value)


class Int64List(_List):
    """``tf.train.Int64List``: int64 values."""

    def __init__(self, value: Iterable[int] = ()) -> None:
        super().__init__(int(v) for v in value)


class Feature:
    """``tf.train.Feature``: one of ``bytes_list``, ``float_list`` or ``int64_list`` (or none)."""

    def __init__(
        self,
        bytes_list: BytesList | None = None,
        float_list: FloatList | None = None,
        int64_list: Int64List | None = None,
    ) -> None:
        given = [x for x in (bytes_list, float_list, int64_list) if x is not None]
        if len(given) > 1:
            raise ValueError("A Feature holds one of bytes_list, float_list and int64_list; got several.")
        self.bytes_list, self.float_list, self.int64_list = bytes_list, float_list, int64_list

    def _array(self) -> Any:
        if self.bytes_list is not None:
            return list(self.bytes_list.value)
        if self.float_list is not None:
            return np.array(self.float_list.value, dtype=np.float32)
        if self.int64_list is not None:
            return np.array(self.int64_list.value, dtype=np.int64)
        return []

    def WhichOneof(self, name: str) -> str | None:  # noqa: N802 - protobuf's name
        """The kind set (``'bytes_list'``, ``'float_list'``, ``'int64_list'``) or None."""
        for kind in ("bytes_list", "float_list", "int64_list"):
            if getattr(self, kind) is not None:
                return kind
        return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Feature) and all(
            getattr(self, k) == getattr(other, k) for k in ("bytes_list", "float_list", "int64_list")
        )

    def __repr__(self) -> str:
        kind = self.WhichOneof("kind")
        return f"Feature({kind}={getattr(self, kind)!r})" if kind else "Feature()"


class Features:
    """``tf.train.Features``: feature name -> ``Feature``."""

    def __init__(self, feature: Mapping[str, Feature] | None = None) -> None:
        self.feature = dict(feature or {})
        for key, value in self.feature.items():
            if not isinstance(key, str) or not isinstance(value, Feature):
                raise TypeError(f"Features.feature maps names (str) to Feature; got {key!r}: {type(value).__name__}.")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Features) and self.feature == other.feature

    def __repr__(self) -> str:
        return f"Features(feature={self.feature!r})"


_KINDS = {"bytes": BytesList, "float": FloatList, "int64": Int64List}


class Example:
    """``tf.train.Example``: build, ``SerializeToString()``, and read back with ``FromString``."""

    def __init__(self, features: Features | None = None) -> None:
        self.features = features if features is not None else Features()

    def SerializeToString(self) -> bytes:  # noqa: N802 - protobuf's name
        """The protocol-buffer bytes (features in name order, so equal examples give equal bytes)."""
        return encode_example({k: f._array() for k, f in self.features.feature.items()})

    @classmethod
    def FromString(cls, serialized: bytes) -> Example:  # noqa: N802 - protobuf's name
        """The example ``serialized`` holds."""
        decoded = decode_example(serialized)
        feature = {}
        for key, (kind, values) in decoded.items():
            lists = _KINDS[kind](list(values))
            feature[key] = Feature(**{f"{kind}_list": lists})
        return cls(Features(feature))

    def ParseFromString(self, serialized: bytes) -> None:  # noqa: N802 - protobuf's name
        """Replaces this example's features with those ``serialized`` holds."""
        self.features = Example.FromString(serialized).features

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Example) and self.features == other.features

    def __repr__(self) -> str:
        return f"Example(features={self.features!r})"


def parse_example(
    serialized: Any,
    features: Mapping[str, FixedLenFeature | VarLenFeature],
    example_names: Any = None,
    name: str | None = None,
) -> dict[str, np.ndarray | RaggedValue]:
    """``tf.io.parse_example``: a batch of serialized examples to arrays (``FixedLenFeature``:
    ``[batch, *shape]``; ``VarLenFeature``: a ``RaggedValue``, TF's SparseTensor)."""
    del example_names, name
    return parse_examples(list(np.asarray(serialized, dtype=object).reshape(-1)), features)


def parse_single_example(
    serialized: Any,
    features: Mapping[str, FixedLenFeature | VarLenFeature],
    example_names: Any = None,
    name: str | None = None,
) -> dict[str, np.ndarray]:
    """``tf.io.parse_single_example``: one serialized example to arrays (a ``VarLenFeature``'s values
    as a 1-D array)."""
    del example_names, name
    value = serialized.item() if isinstance(serialized, np.ndarray) else serialized
    parsed = parse_examples([value], features)
    return {k: (v.values if isinstance(v, RaggedValue) else v[0]) for k, v in parsed.items()}
