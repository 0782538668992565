"""Response bodies, written as TF Serving writes them (``json_tensor.cc``): ``{"predictions": ...}``
(row format: one entry per instance, an object of outputs when there are several) or
``{"outputs": ...}`` (columnar), ``{"results": ...}`` for classify and regress, ``{"error": ...}``.
Strings are UTF-8 text, except outputs whose name ends in ``_bytes``, written ``{"b64": ...}``."""

from __future__ import annotations

import base64
import codecs
import json
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from torch_estimator.export._signature import tf_dtype_name
from torch_estimator.serving._decimal import decimal_strings
from torch_estimator.serving._errors import ServingError, internal, invalid_argument
from torch_estimator.serving._tf_text import shape_string

__all__ = ["predict_response", "classify_response", "regress_response", "error_body", "json_body"]

_BYTES_SUFFIX = "_bytes"
_JSON_ERRORS = "torch_estimator.json"
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _string_token(value: object, as_bytes: bool) -> str:
    data = value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogateescape")
    if as_bytes:
        return '{"b64": "' + base64.b64encode(data).decode("ascii") + '"}'
    text = data.decode("utf-8", "surrogateescape")
    return '"' + text + '"' if _NEEDS_ESCAPE.search(text) is None else json.dumps(text, ensure_ascii=False)


def _tokens(name: str, array: np.ndarray) -> np.ndarray:
    """A string array of ``array``'s shape holding each value's JSON text."""
    kind = array.dtype.kind
    if kind == "f":
        return decimal_strings(array)
    if kind == "b":
        return np.where(array, "true", "false").astype(object)
    if kind in "iu":
        return array.astype(str).astype(object)
    if kind in "OSU":
        as_bytes = name.endswith(_BYTES_SUFFIX)
        known: dict[Any, str] = {}  # outputs such as 'classes' repeat a few strings: each is written once
        flat = []
        for v in array.ravel().tolist():
            token = known.get(v)
            if token is None:
                token = known[v] = _string_token(v, as_bytes)
            flat.append(token)
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out.reshape(array.shape)
    raise invalid_argument(f"Failed to write JSON value for tensor type: {array.dtype}")


def _nest(tokens: np.ndarray | str) -> str:
    """Nested JSON lists of the (already JSON) tokens."""
    if isinstance(tokens, str):
        return tokens
    if tokens.ndim == 0:
        return tokens.item()
    if tokens.ndim == 1:
        return "[" + ", ".join(tokens.tolist()) + "]"
    return "[" + ", ".join(_nest(t) for t in tokens) + "]"


def _encode_surrogates(error: UnicodeError) -> tuple[bytes, int]:
    """Codec error handler for JSON text: bytes that were not UTF-8 (decoded as U+DC80..U+DCFF by
    'surrogateescape') pass through as they came; any other surrogate, which no UTF-8 can carry
    (say in a model's error message), is written as a JSON ``\\u`` escape."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    chars = error.object[error.start : error.end]
    out = b"".join(
        bytes([ord(c) - 0xDC00]) if 0xDC80 <= ord(c) <= 0xDCFF else f"\\u{ord(c):04x}".encode("ascii") for c in chars
    )
    return out, error.end


codecs.register_error(_JSON_ERRORS, _encode_surrogates)


def json_body(text: str) -> bytes:
    """UTF-8 bytes of a response; string values that were not UTF-8 pass through as they came."""
    return text.encode("utf-8", _JSON_ERRORS)


def predict_response(outputs: Mapping[str, np.ndarray], row_format: bool) -> bytes:
    """``{"predictions": [...]}`` (row format) or ``{"outputs": ...}`` (columnar)."""
    if not outputs:
        raise invalid_argument("Cannot convert empty tensor map to JSON")
    tokens = {name: _tokens(name, np.asarray(value)) for name, value in outputs.items()}
    many = len(tokens) > 1
    if not row_format:
        if many:
            body = "{" + ", ".join(f"{json.dumps(name)}: {_nest(t)}" for name, t in tokens.items()) + "}"
        else:
            body = _nest(next(iter(tokens.values())))
        return json_body('{"outputs": ' + body + "}")
    batch_size = -1
    for name, t in tokens.items():
        if t.ndim == 0:
            raise invalid_argument(f"Tensor name: {name} has no shape information ")
        if batch_size >= 0 and t.shape[0] != batch_size:
            raise invalid_argument(
                f"Tensor name: {name} has inconsistent batch size: {t.shape[0]} expecting: {batch_size}"
            )
        batch_size = t.shape[0]
    per_output = [_rows(t) for t in tokens.values()]
    if many:
        keys = [json.dumps(name) + ": " for name in tokens]
        rows = ["{" + ", ".join(key + value for key, value in zip(keys, values)) + "}" for values in zip(*per_output)]
    else:
        rows = per_output[0]
    return json_body('{"predictions": [' + ", ".join(rows) + "]}")


def _rows(tokens: np.ndarray) -> list[str]:
    """The JSON text of each entry along the first (batch) dimension."""
    if tokens.ndim == 1:
        return tokens.tolist()
    if tokens.ndim == 2:
        return ["[" + ", ".join(row) + "]" for row in tokens.tolist()]
    return [_nest(t) for t in tokens]


def classify_response(classes: np.ndarray | None, scores: np.ndarray | None, num_examples: int) -> bytes:
    """``{"results": [[[label, score], ...], ...]}``; a missing ``classes`` output gives '' labels and
    a missing ``scores`` output 0 scores (``PostProcessClassificationResult``)."""
    for name, tensor in (("classes", classes), ("scores", scores)):
        if tensor is None:
            continue
        if tensor.ndim != 2:
            raise invalid_argument(
                f"Expected Tensor shape: [batch_size num_classes] but got {shape_string(tensor.shape)}"
            )
        if name == "classes" and tensor.dtype.kind not in "OSU":
            raise invalid_argument(f"Expected classes Tensor of DT_STRING. Got: {_dtype_name(tensor.dtype)}")
        if name == "scores" and tensor.dtype != np.float32:
            raise invalid_argument(f"Expected scores Tensor of DT_FLOAT. Got: {_dtype_name(tensor.dtype)}")
        if tensor.shape[0] != num_examples:
            raise invalid_argument(f"Expected {name} output batch size of {num_examples}. Got: {tensor.shape[0]}")
    if classes is not None and scores is not None and classes.shape[1] != scores.shape[1]:
        raise invalid_argument(
            f"Tensors class and score should match in dim_size(1). Got {classes.shape[1]} vs. {scores.shape[1]}"
        )
    given = classes if classes is not None else scores
    if given is None:
        raise internal("a classification result needs a classes or a scores output")
    num_classes = given.shape[1]
    labels = (
        _tokens("classes", classes) if classes is not None else np.full((num_examples, num_classes), '""', dtype=object)
    )
    values = (
        decimal_strings(scores) if scores is not None else np.full((num_examples, num_classes), "0.0", dtype=object)
    )
    if num_examples == 0:
        raise invalid_argument("Cannot convert empty ClassificationResults to JSON")
    rows = (
        "[" + ", ".join(f"[{label}, {score}]" for label, score in zip(label_row, score_row)) + "]"
        for label_row, score_row in zip(labels, values)
    )
    return json_body('{"results": [' + ", ".join(rows) + "]}")


def regress_response(outputs: np.ndarray, num_examples: int) -> bytes:
    """``{"results": [value, ...]}`` (``PostProcessRegressionResult``)."""
    if not (outputs.ndim == 1 or (outputs.ndim == 2 and outputs.shape[1] == 1)):
        raise invalid_argument(
            "Expected output Tensor shape to be either [batch_size] or [batch_size, 1] "
            f"but got {shape_string(outputs.shape)}"
        )
    if outputs.shape[0] != num_examples:
        raise invalid_argument(
            f"Input batch size did not match output batch size: {num_examples} vs. {outputs.shape[0]}"
        )
    if outputs.dtype != np.float32:
        raise invalid_argument(f"Expected output Tensor of DT_FLOAT.  Got: {_dtype_name(outputs.dtype)}")
    if num_examples == 0:
        raise invalid_argument("Cannot convert empty RegressionResults to JSON")
    return json_body('{"results": [' + ", ".join(decimal_strings(outputs.ravel()).tolist()) + "]}")


def error_body(error: ServingError) -> bytes:
    """``{"error": message}``."""
    return json_body(json.dumps({"error": error.message}, ensure_ascii=False))


def _dtype_name(dtype: np.dtype) -> str:
    try:
        return tf_dtype_name("string" if dtype.kind in "OSU" else dtype.name)
    except ValueError:
        raise internal(f"output has dtype {dtype}, which has no TensorFlow equivalent") from None
