"""Request bodies to tensors and examples, with TF Serving's rules and error messages
(``tensorflow_serving/util/json_tensor.cc``): the body must be a JSON object; ``instances`` (row
format) or ``inputs`` (columnar format) give the tensors of a predict request; ``examples`` (and an
optional ``context``) give the ``tf.Example`` features of a classify or regress request."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from torch_estimator._core.values import StringEncoder
from torch_estimator.export._signature import TensorInfo, numpy_dtype
from torch_estimator.serving._decimal import decimal_string
from torch_estimator.serving._errors import ServingError, invalid_argument, unimplemented
from torch_estimator.serving._tf_text import data_type_string, shape_string

__all__ = [
    "parse_body",
    "signature_name_of",
    "json_value_to_string",
    "predict_inputs_from_json",
    "examples_from_json",
    "ROW",
    "COLUMNAR",
]

ROW = "row"
COLUMNAR = "columnar"

_FLOAT_MAX = float(np.finfo(np.float32).max)
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_SCALAR_TYPES = {int, float, str, bool}
_INT_RANGES = {
    "DT_INT8": (-128, 127),
    "DT_INT16": (-32768, 32767),
    "DT_INT32": _INT32,
    "DT_INT64": _INT64,
    "DT_UINT8": (0, 255),
}

# rapidjson's English parse error texts, for the errors Python's decoder reports.
_PARSE_ERRORS = (
    ("Expecting property name enclosed in double quotes", "Missing a name for object member."),
    ("Expecting ':' delimiter", "Missing a colon after a name of object member."),
    ("Unterminated string", "Missing a closing quotation mark in string."),
    ("Invalid control character", "Invalid encoding in string."),
    ("Invalid \\uXXXX escape", "Incorrect hex digit after \\u escape in string."),
    ("Invalid \\escape", "Invalid escape character in string."),
    ("Extra data", "The document root must not be followed by other values."),
)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LOW_SURROGATE_ESCAPE = re.compile(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def _lone_surrogate(text: str) -> int | None:
    """Where the first ``\\u`` escape of a surrogate that is not half of a pair starts, or None.

    Python's decoder accepts such escapes; rapidjson rejects a high surrogate without its low half,
    and no UTF-8 string can hold a lone surrogate.
    """
    position = 0
    while (match := _SURROGATE_ESCAPE.search(text, position)) is not None:
        start = backslash = match.start()
        while backslash > 0 and text[backslash - 1] == "\\":
            backslash -= 1
        if (start - backslash) % 2:  # an escaped backslash, then the letter u
            position = start + 1
        elif text[start + 3] in "89abAB" and _LOW_SURROGATE_ESCAPE.match(text, start + 6):
            position = start + 12
        else:
            return start
    return None


def parse_body(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object. Strings keep bytes that are not UTF-8 (as TF Serving does),
    NaN / Infinity are accepted, and errors read as rapidjson's."""
    if not body:
        raise invalid_argument("JSON Parse error: The document is empty")
    text = body.decode("utf-8", "surrogateescape")
    surrogate = _lone_surrogate(text)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        if surrogate is not None and surrogate < e.pos:
            raise _surrogate_error(text, surrogate) from None
        raise invalid_argument(
            f"JSON Parse error: {_rapidjson_message(e)} at offset: {_byte_offset(text, e.pos)}"
        ) from None
    except RecursionError:
        raise invalid_argument("JSON Parse error: Unspecific syntax error. at offset: 0") from None
    if surrogate is not None:
        raise _surrogate_error(text, surrogate)
    if not isinstance(doc, dict):
        raise _format_error(doc, "Is not object")
    return doc


def _byte_offset(text: str, position: int) -> int:
    """The byte offset of a character position (rapidjson counts bytes)."""
    return len(text[:position].encode("utf-8", "surrogateescape"))


def _surrogate_error(text: str, position: int) -> ServingError:
    return invalid_argument(
        f"JSON Parse error: The surrogate pair in string is invalid. at offset: {_byte_offset(text, position)}"
    )


def _rapidjson_message(error: json.JSONDecodeError) -> str:
    if not error.doc[: error.pos].strip() and not error.doc[error.pos :].strip():
        return "The document is empty."
    if error.msg == "Expecting ',' delimiter":
        return (
            "Missing a comma or '}' after an object member."
            if _innermost_container(error.doc, error.pos) == "{"
            else "Missing a comma or ']' after an array element."
        )
    for prefix, message in _PARSE_ERRORS:
        if error.msg.startswith(prefix):
            return message
    return "Invalid value."


def _innermost_container(text: str, end: int) -> str:
    """'{' or '[': the bracket still open at ``end`` (outside strings)."""
    stack: list[str] = []
    in_string = escaped = False
    for char in text[:end]:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append(char)
        elif char in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else "["


def json_value_to_string(value: Any) -> str:
    """A JSON value as TF Serving quotes it in error messages (rapidjson's pretty writer, 4-space indent)."""
    if isinstance(value, float):
        return decimal_string(value)
    return json.dumps(value, indent=4, ensure_ascii=False)


def _json_type(value: Any) -> str:
    if value is None:
        return "Null"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, str):
        return "String"
    return "Number"


def _format_error(value: Any, message: str) -> ServingError:
    return invalid_argument(f"JSON Value: {json_value_to_string(value)} {message}")


def _type_error(value: Any, dtype: str) -> ServingError:
    return invalid_argument(
        f"JSON Value: {json_value_to_string(value)} Type: {_json_type(value)} "
        f"is not of expected type: {data_type_string(dtype)}"
    )


def _lossy_error(value: Any, target: str) -> ServingError:
    return invalid_argument(
        f"Cannot convert JSON value: {json_value_to_string(value)} to {target} without loss of precision."
    )


def signature_name_of(doc: Mapping[str, Any]) -> str:
    """The optional ``signature_name`` ('' when absent)."""
    name = doc.get("signature_name", "")
    if not isinstance(name, str):
        raise _format_error(doc, "not formatted correctly. 'signature_name' key must be a string value.")
    return name


def _is_b64(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _decode_b64(value: Any) -> bytes:
    if not _is_b64(value):
        raise invalid_argument(f"JSON Value: {json_value_to_string(value)} not formatted correctly for base64 data")
    text = value["b64"].strip()
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise invalid_argument("Unable to base64 decode") from None


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------------------------------
# Scalars -> tensor values, per dtype. Each converter takes a whole leaf list so the common case
# (every element of an allowed type) is one set of types, not one check per element.


def _check_float(values: list[Any], dtype: str) -> list[Any]:
    types = set(map(type, values))
    if not types <= {int, float}:
        bad = next(v for v in values if type(v) not in (int, float))
        raise _type_error(bad, dtype)
    if dtype == "DT_DOUBLE":
        max_int, max_float, target = 2**53 - 1, math.inf, "double"
    else:
        max_int, max_float, target = 2**24 - 1, _FLOAT_MAX, "float"
    if int in types:
        for v in values:
            if type(v) is int and abs(v) > max_int:
                raise _lossy_error(v, target)
    if float in types and max_float != math.inf:
        magnitudes = np.abs(np.array(values, dtype=np.float64))
        with np.errstate(invalid="ignore"):
            too_large = np.flatnonzero(np.isfinite(magnitudes) & (magnitudes > max_float))
        if too_large.size:
            raise _lossy_error(values[int(too_large[0])], target)
    return values


def _int_converter(dtype: str) -> Callable[[list[Any]], list[Any]]:
    low, high = _INT_RANGES[dtype]

    def check(values: list[Any]) -> list[Any]:
        if set(map(type, values)) != {int}:
            raise _type_error(next(v for v in values if type(v) is not int), dtype)
        for v in values:
            if not low <= v <= high:
                raise _type_error(v, dtype)
        return values

    return check


def _check_bool(values: list[Any]) -> list[Any]:
    if set(map(type, values)) != {bool}:
        raise _type_error(next(v for v in values if type(v) is not bool), "DT_BOOL")
    return values


def _check_string(values: list[Any]) -> list[Any]:
    if set(map(type, values)) == {str}:  # the common case: text only, one pass
        return [v.encode("utf-8", "surrogateescape") for v in values]
    out = []
    for v in values:
        if type(v) is str:
            out.append(_utf8(v))
        elif isinstance(v, dict):
            out.append(_decode_b64(v))
        else:
            raise _type_error(v, "DT_STRING")
    return out


def _converter(dtype: str) -> Callable[[list[Any]], list[Any]]:
    if dtype in ("DT_FLOAT", "DT_DOUBLE", "DT_HALF"):
        return lambda values: _check_float(values, dtype)
    if dtype in _INT_RANGES:
        return _int_converter(dtype)
    if dtype == "DT_BOOL":
        return _check_bool
    if dtype == "DT_STRING":
        return _check_string

    def unsupported(values: list[Any]) -> list[Any]:
        raise unimplemented(
            f"Conversion of JSON Value: {json_value_to_string(values[0])} to type: {data_type_string(dtype)}"
        )

    return unsupported


def _dense_shape(value: Any) -> list[int]:
    """The shape read off the first element at every level (``GetDenseTensorShape``)."""
    dims = []
    while isinstance(value, list):
        dims.append(len(value))
        if not value:
            break
        value = value[0]
    return dims


def _fill(
    value: Any, level: int, dims: list[int], dtype: str, convert: Callable[[list[Any]], list[Any]], out: list[Any]
) -> None:
    """Appends the values of ``value`` (nested lists of rank ``len(dims)``) to ``out`` (``FillTensorProto``)."""
    rank = len(dims)
    if not isinstance(value, list):
        if level != rank:
            raise invalid_argument(
                f"JSON Value: {json_value_to_string(value)} found at incorrect level: {level + 1} in the JSON DOM. "
                f"Expected at level: {rank}"
            )
        if isinstance(value, dict) and dtype != "DT_STRING":
            raise _type_error(value, dtype)
        out.extend(convert([value]))
        return
    if level >= rank:
        raise invalid_argument(f"Encountered list at unexpected level: {level} expected < {rank}")
    if len(value) != dims[level]:
        raise invalid_argument(
            f"Encountered list at unexpected size: {len(value)} at level: {level} expected size: {dims[level]}"
        )
    if level == rank - 1 and not any(isinstance(v, (list, dict)) for v in value):
        out.extend(convert(value))
        return
    for item in value:
        _fill(item, level + 1, dims, dtype, convert, out)


def _tensor(value: Any, dtype: str) -> tuple[list[Any], list[int]]:
    """Flat values and shape of one JSON tensor."""
    dims = _dense_shape(value)
    flat: list[Any] = []
    _fill(value, 0, dims, dtype, _converter(dtype), flat)
    return flat, dims


def _array(flat: list[Any], shape: list[int], dtype: str) -> np.ndarray:
    if dtype == "DT_STRING":
        array = np.empty(len(flat), dtype=object)
        array[:] = flat
        return array.reshape(shape)
    return np.asarray(flat, dtype=numpy_dtype(dtype)).reshape(shape)


#: Per input name, the strings of the requests so far: each distinct one is looked up or hashed once
#: for all requests (the names are the models' inputs; each dictionary is bounded).
_ENCODERS: dict[str, StringEncoder] = {}


def _encoded(name: str, column: list[Any]) -> np.ndarray | None:
    """A column of text as an ``EncodedStrings`` array over the input's dictionary, or None."""
    if not column or type(column[0]) is not str or set(map(type, column)) != {str}:
        return None
    encoder = _ENCODERS.get(name)
    if encoder is None:
        encoder = _ENCODERS.setdefault(name, StringEncoder())
    return encoder.encode(column)


def _scalar_columns(instances: list[Any], infos: Mapping[str, TensorInfo]) -> dict[str, np.ndarray] | None:
    """The common row format at vectorised speed: every instance an object of scalars, one per
    input. None when the instances are anything else or a value is rejected (the general path
    then reports the error as TF Serving words it)."""
    names = infos.keys()
    if not all(type(instance) is dict and instance.keys() == names for instance in instances):
        return None
    tensors = {}
    for name, info in infos.items():
        column = [instance[name] for instance in instances]
        if not set(map(type, column)) <= _SCALAR_TYPES:
            return None
        encoded = _encoded(name, column) if info.dtype == "DT_STRING" else None
        if encoded is not None:
            tensors[name] = encoded
            continue
        try:
            tensors[name] = _array(_converter(info.dtype)(column), [len(column)], info.dtype)
        except ServingError:
            return None
    return tensors


def _from_instances(instances: list[Any], infos: Mapping[str, TensorInfo]) -> dict[str, np.ndarray]:
    """Row format: one tensor per input, the instances stacked on a new first dimension."""
    fast = _scalar_columns(instances, infos)
    if fast is not None:
        return fast
    if not (isinstance(instances[0], dict)) and len(infos) > 1:
        raise invalid_argument(
            "instances is a plain list, but expecting list of objects as multiple input tensors "
            "required as per tensorinfo_map"
        )
    elements_are_objects = isinstance(instances[0], dict) and not _is_b64(instances[0])
    input_names = sorted(infos)
    values: dict[str, list[Any]] = {}
    shapes: dict[str, tuple[int, list[int]]] = {}

    def add(item: Any, name: str) -> None:
        if name not in infos:
            raise invalid_argument(f"JSON object: does not have named input: {name}")
        flat, dims = _tensor(item, infos[name].dtype)
        if name not in shapes:
            shapes[name] = (len(flat), dims)
        elif shapes[name][0] != len(flat):
            raise invalid_argument(f"Expecting tensor size: {shapes[name][0]} but got: {len(flat)}")
        elif shapes[name][1] != dims:
            raise invalid_argument(f"Expecting shape {shape_string(shapes[name][1])} but got: {shape_string(dims)}")
        values.setdefault(name, []).extend(flat)

    for i, element in enumerate(instances):
        is_object = isinstance(element, dict) and not _is_b64(element)
        if elements_are_objects:
            if not is_object:
                raise invalid_argument(f"Expecting object but got list at item {i} of input list")
            for name, item in element.items():
                try:
                    add(item, name)
                except ServingError as e:
                    raise invalid_argument(
                        f"Failed to process element: {i} key: {name} of 'instances' list. Error: {e}"
                    ) from None
            if sorted(element) != input_names:
                raise invalid_argument(
                    f"Failed to process element: {i} of 'instances' list. JSON object: {json_value_to_string(element)} "
                    f"keys must be equal to: {','.join(input_names)}"
                )
        else:
            if is_object:
                raise invalid_argument(f"Expecting value/list but got object at item {i} of input list")
            try:
                add(element, next(iter(infos)))
            except ServingError as e:
                raise invalid_argument(f"Failed to process element: {i} of 'instances' list. Error: {e}") from None
    return {name: _array(flat, [len(instances), *shapes[name][1]], infos[name].dtype) for name, flat in values.items()}


def _from_inputs(inputs: Any, infos: Mapping[str, TensorInfo]) -> dict[str, np.ndarray]:
    """Columnar format: a value for the single input, or an object of named inputs (others ignored)."""
    if not isinstance(inputs, dict) or _is_b64(inputs):
        if len(infos) > 1:
            raise invalid_argument(
                "inputs is a plain value/list, but expecting an object as multiple input tensors "
                "required as per tensorinfo_map"
            )
        name, info = next(iter(infos.items()))
        flat, dims = _tensor(inputs, info.dtype)
        return {name: _array(flat, dims, info.dtype)}
    tensors = {}
    for name, info in infos.items():
        if name not in inputs:
            raise invalid_argument(f"Missing named input: {name} in 'inputs' object.")
        flat, dims = _tensor(inputs[name], info.dtype)
        tensors[name] = _array(flat, dims, info.dtype)
    return tensors


def predict_inputs_from_json(
    doc: Mapping[str, Any], infos: Mapping[str, TensorInfo], signature_name: str
) -> tuple[dict[str, np.ndarray], str]:
    """``(tensors, format)`` of a predict request; ``format`` is ``ROW`` or ``COLUMNAR``."""
    if not infos:
        raise invalid_argument(f"Failed to get input map for signature: {signature_name or 'DEFAULT'}")
    if "instances" in doc:
        if "inputs" in doc:
            raise _format_error(
                doc, "Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist "
            )
        instances = doc["instances"]
        if not isinstance(instances, list):
            raise _format_error(doc, "Excepting 'instances' to be an list/array")
        if not instances:
            raise _format_error(doc, "No values in 'instances' array")
        return _from_instances(instances, infos), ROW
    if "inputs" in doc:
        return _from_inputs(doc["inputs"], infos), COLUMNAR
    raise invalid_argument("Missing 'inputs' or 'instances' key")


# ---------------------------------------------------------------------------------------------
# Classify / regress: JSON objects -> tf.Example features.

_KIND_NAMES = {None: "UNKNOWN", "bytes": "bytes", "float": "float", "int64": "int64"}


def _feature(name: str, content: Any) -> list[Any]:
    """One feature's values, all of one kind (bytes, float or int64), as TF Serving builds them."""
    values = content if isinstance(content, list) else [content]
    kind: str | None = None
    out: list[Any] = []
    for value in values:
        if value is None or isinstance(value, list) or (isinstance(value, dict) and not _is_b64(value)):
            raise invalid_argument(f"Feature: {name} has element with unexpected JSON type: {_json_type(value)}")
        converted: bytes | float | int
        if isinstance(value, bool):
            value_kind, converted = "int64", int(value)
        elif isinstance(value, (str, dict)):
            value_kind, converted = "bytes", _utf8(value) if isinstance(value, str) else _decode_b64(value)
        elif isinstance(value, float):
            value_kind, converted = "float", value
        else:
            value_kind, converted = "int64", value
        if kind not in (None, value_kind):
            raise invalid_argument(f"Unexpected element type in feature: {name} expecting type: {_KIND_NAMES[kind]}")
        kind = value_kind
        if value_kind == "float" and math.isfinite(value) and abs(value) > _FLOAT_MAX:
            raise _lossy_error(value, "float")
        if value_kind == "int64" and not _INT64[0] <= value <= _INT64[1]:  # a bool is in range
            if 0 < value < 2**64:
                raise invalid_argument(f"Feature: {name} has uint64 element. Only int64 is supported.")
            raise _lossy_error(value, "float")
        out.append(converted)
    return out


def _example(value: Any) -> dict[str, list[Any]]:
    if not isinstance(value, dict):
        raise invalid_argument(f"Example must be JSON object but got JSON {_json_type(value)}")
    for name in value:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:  # bytes of the body that are not UTF-8
            raise invalid_argument(
                f"Feature name {_utf8(name)!r} is not valid UTF-8; a tf.Example feature name is a UTF-8 string"
            ) from None
    return {name: _feature(name, content) for name, content in value.items()}


def examples_from_json(doc: Mapping[str, Any]) -> list[dict[str, list[Any]]]:
    """The features of each example of a classify / regress request, the ``context`` features merged
    in (an example's own feature wins, as when TF Serving serializes an ``ExampleListWithContext``)."""
    context = _example(doc["context"]) if "context" in doc else {}
    if "examples" not in doc:
        # TF Serving names 'classify' here for regress requests too.
        raise _format_error(doc, "When method is classify, key 'examples' is expected and was not found")
    examples = doc["examples"]
    if not isinstance(examples, list):
        raise _format_error(doc, "Expecting 'examples' value to be an list/array")
    if not examples:
        raise _format_error(doc, "'examples' value is an empty array")
    return [{**context, **_example(example)} for example in examples]
