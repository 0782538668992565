"""Signature descriptions shared by the export writer, the loader and the server: a signature's
method, its input and output tensors (TensorFlow dtype names and shapes, -1 for unknown), and the
callable that runs it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "TensorInfo",
    "Signature",
    "PREDICT_METHOD_NAME",
    "CLASSIFY_METHOD_NAME",
    "REGRESS_METHOD_NAME",
    "DEFAULT_SERVING_SIGNATURE_DEF_KEY",
    "tf_dtype_name",
    "numpy_dtype",
]

PREDICT_METHOD_NAME = "tensorflow/serving/predict"
CLASSIFY_METHOD_NAME = "tensorflow/serving/classify"
REGRESS_METHOD_NAME = "tensorflow/serving/regress"
DEFAULT_SERVING_SIGNATURE_DEF_KEY = "serving_default"

_TF_DTYPES = {
    "float32": "DT_FLOAT",
    "float64": "DT_DOUBLE",
    "float16": "DT_HALF",
    "int8": "DT_INT8",
    "int16": "DT_INT16",
    "int32": "DT_INT32",
    "int64": "DT_INT64",
    "uint8": "DT_UINT8",
    "bool": "DT_BOOL",
    "string": "DT_STRING",
}
_NUMPY = {v: k for k, v in _TF_DTYPES.items()}


def tf_dtype_name(dtype: str) -> str:
    """'float32' -> 'DT_FLOAT', 'string' -> 'DT_STRING' (names of ``tensorflow.DataType``)."""
    try:
        return _TF_DTYPES[dtype]
    except KeyError:
        raise ValueError(
            f"dtype {dtype!r} has no TensorFlow serving equivalent; expected one of {sorted(_TF_DTYPES)}."
        ) from None


def numpy_dtype(tf_dtype: str) -> np.dtype:
    """The numpy dtype for a TensorFlow dtype name (object for DT_STRING)."""
    name = _NUMPY[tf_dtype]
    return np.dtype(object) if name == "string" else np.dtype(name)


@dataclasses.dataclass(frozen=True)
class TensorInfo:
    """One input or output of a signature: ``dtype`` is a TensorFlow name ('DT_FLOAT', 'DT_STRING', ...),
    ``shape`` a tuple with -1 for an unknown dimension (the batch), or None for unknown rank."""

    dtype: str
    shape: tuple[int, ...] | None
    name: str = ""

    def to_json(self) -> dict[str, Any]:
        """TF Serving's JSON form of a ``TensorInfo`` (as in the metadata response)."""
        shape: dict[str, Any] = (
            {"dim": [], "unknown_rank": True}
            if self.shape is None
            else {"dim": [{"size": str(d), "name": ""} for d in self.shape], "unknown_rank": False}
        )
        return {"dtype": self.dtype, "tensor_shape": shape, "name": self.name}


@dataclasses.dataclass(frozen=True)
class Signature:
    """A callable signature: ``run(inputs)`` maps input names to numpy arrays (DT_STRING inputs
    are object arrays of ``bytes``) and returns output names to numpy arrays (strings as bytes)."""

    name: str
    method_name: str
    inputs: Mapping[str, TensorInfo]
    outputs: Mapping[str, TensorInfo]
    run: Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]] = dataclasses.field(repr=False, compare=False)

    def __call__(self, *args: Any, **inputs: Any) -> dict[str, np.ndarray]:
        """The outputs for ``inputs`` by name; a single-input signature also takes its one input
        positionally, as TensorFlow's signatures do (``signature(x)``)."""
        if args:
            if len(args) > 1 or inputs or len(self.inputs) != 1:
                raise TypeError(
                    f"Signature {self.name!r} takes its inputs {sorted(self.inputs)} by name; only a signature with "
                    f"one input takes it positionally (got {len(args)} positional and {len(inputs)} named)."
                )
            inputs = {next(iter(self.inputs)): args[0]}
        return self.run(inputs)

    def to_json(self) -> dict[str, Any]:
        """TF Serving's JSON form of a ``SignatureDef``."""
        return {
            "inputs": {k: v.to_json() for k, v in self.inputs.items()},
            "outputs": {k: v.to_json() for k, v in self.outputs.items()},
            "method_name": self.method_name,
            "defaults": {},
        }
