"""Request bodies to tensors and examples (``serving/_json_input.py``), called directly: the row and
columnar formats, b64 strings, every dtype's conversion and range, examples with a context, and
the body parser; the error texts are TF Serving's (``json_tensor.cc``)."""

from __future__ import annotations

import concurrent.futures

import numpy as np
import pytest

from torch_estimator._core.values import StringEncoder, encoding_of
from torch_estimator.export._signature import TensorInfo
from torch_estimator.serving._errors import ServingError
from torch_estimator.serving._json_input import (
    COLUMNAR,
    ROW,
    examples_from_json,
    json_value_to_string,
    parse_body,
    predict_inputs_from_json,
    signature_name_of,
)


def _infos(**dtypes: str) -> dict[str, TensorInfo]:
    return {name: TensorInfo(dtype, (-1,)) for name, dtype in dtypes.items()}


def _predict(doc: dict, **dtypes: str) -> tuple[dict[str, np.ndarray], str]:
    return predict_inputs_from_json(doc, _infos(**dtypes), "")


def _single(doc: dict, dtype: str) -> dict[str, np.ndarray]:
    """The tensors of a request to a signature with one input, ``x``."""
    return _predict(doc, x=dtype)[0]


def _error(call, *args) -> ServingError:
    with pytest.raises(ServingError) as caught:
        call(*args)
    return caught.value


# -- row and columnar formats --------------------------------------------------------------------


def test_row_format_objects_of_scalars_stack_into_one_tensor_per_input():
    doc = {"instances": [{"a": 1, "b": "x", "c": True}, {"a": 2.5, "b": {"b64": "eQ=="}, "c": False}]}
    tensors, request_format = _predict(doc, a="DT_FLOAT", b="DT_STRING", c="DT_BOOL")
    assert request_format == ROW
    assert tensors["a"].dtype == np.float32 and tensors["a"].tolist() == [1.0, 2.5]
    assert tensors["b"].dtype == object and tensors["b"].tolist() == [b"x", b"y"]
    assert tensors["c"].dtype == np.bool_ and tensors["c"].tolist() == [True, False]


def test_row_format_lists_gain_a_batch_dimension():
    tensors, request_format = _predict({"instances": [[1, 2], [3, 4], [5, 6]]}, x="DT_INT32")
    assert request_format == ROW
    assert tensors["x"].dtype == np.int32 and tensors["x"].shape == (3, 2)
    objects, _ = _predict({"instances": [{"x": [1, 2]}, {"x": [3, 4]}]}, x="DT_INT64")
    np.testing.assert_array_equal(objects["x"], [[1, 2], [3, 4]])


def test_columnar_format_takes_named_inputs_and_ignores_others():
    tensors, request_format = _predict({"inputs": {"x": [[1, 2], [3, 4]], "unused": "?"}}, x="DT_INT8")
    assert request_format == COLUMNAR
    assert list(tensors) == ["x"] and tensors["x"].dtype == np.int8 and tensors["x"].shape == (2, 2)


def test_columnar_format_single_input_may_be_a_bare_value():
    tensors, _ = _predict({"inputs": 5}, x="DT_INT64")
    assert tensors["x"].shape == () and tensors["x"].item() == 5
    tensors, _ = _predict({"inputs": {"b64": "YWI"}}, x="DT_STRING")
    assert tensors["x"].item() == b"ab"


def test_strings_keep_bytes_that_are_not_utf8():
    doc = parse_body(b'{"instances": ["caf\xe9"]}')
    tensors, _ = predict_inputs_from_json(doc, _infos(x="DT_STRING"), "")
    assert tensors["x"].tolist() == [b"caf\xe9"]


# -- b64 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [("YWJj", b"abc"), ("YWI=", b"ab"), ("YWI", b"ab"), (" YQ== ", b"a")])
def test_b64_values_decode_with_or_without_padding(text, expected):
    tensors, _ = _predict({"inputs": [{"b64": text}]}, x="DT_STRING")
    assert tensors["x"].tolist() == [expected]


def test_b64_errors():
    infos = _infos(x="DT_STRING")
    assert _error(predict_inputs_from_json, {"inputs": [{"b64": "!!"}]}, infos, "").message == "Unable to base64 decode"
    not_b64 = _error(predict_inputs_from_json, {"inputs": [{"b64": "YQ==", "x": 1}]}, infos, "")
    assert not_b64.message == 'JSON Value: {\n    "b64": "YQ==",\n    "x": 1\n} not formatted correctly for base64 data'
    as_float = _error(predict_inputs_from_json, {"inputs": [{"b64": "YQ=="}]}, _infos(x="DT_FLOAT"), "")
    assert as_float.message == 'JSON Value: {\n    "b64": "YQ=="\n} Type: Object is not of expected type: float'


# -- dtypes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype, values, numpy_dtype",
    [
        ("DT_FLOAT", [1, 2.5, 16777215], np.float32),
        ("DT_DOUBLE", [1, 2.5, 2**53 - 1], np.float64),
        ("DT_HALF", [1.5], np.float16),
        ("DT_INT8", [-128, 127], np.int8),
        ("DT_INT16", [-32768, 32767], np.int16),
        ("DT_INT32", [-(2**31), 2**31 - 1], np.int32),
        ("DT_INT64", [-(2**63), 2**63 - 1], np.int64),
        ("DT_UINT8", [0, 255], np.uint8),
        ("DT_BOOL", [True, False], np.bool_),
    ],
)
def test_each_dtype_converts_its_whole_range(dtype, values, numpy_dtype):
    tensors, _ = _predict({"inputs": values}, x=dtype)
    assert tensors["x"].dtype == numpy_dtype
    assert tensors["x"].tolist() == values


@pytest.mark.parametrize(
    "dtype, value, message",
    [
        ("DT_INT8", 128, "JSON Value: 128 Type: Number is not of expected type: int8"),
        ("DT_UINT8", -1, "JSON Value: -1 Type: Number is not of expected type: uint8"),
        ("DT_INT16", 40000, "JSON Value: 40000 Type: Number is not of expected type: int16"),
        ("DT_INT32", 2**31, "JSON Value: 2147483648 Type: Number is not of expected type: int32"),
        ("DT_INT64", 1.5, "JSON Value: 1.5 Type: Number is not of expected type: int64"),
        ("DT_INT64", True, "JSON Value: true Type: True is not of expected type: int64"),
        ("DT_BOOL", 1, "JSON Value: 1 Type: Number is not of expected type: bool"),
        ("DT_STRING", 1.0, "JSON Value: 1.0 Type: Number is not of expected type: string"),
        ("DT_FLOAT", "1", 'JSON Value: "1" Type: String is not of expected type: float'),
        ("DT_FLOAT", None, "JSON Value: null Type: Null is not of expected type: float"),
        ("DT_FLOAT", 2**24 + 1, "Cannot convert JSON value: 16777217 to float without loss of precision."),
        ("DT_FLOAT", 1e39, "Cannot convert JSON value: 1e+39 to float without loss of precision."),
        ("DT_DOUBLE", 2**53, "Cannot convert JSON value: 9007199254740992 to double without loss of precision."),
    ],
)
def test_values_a_dtype_cannot_hold_are_refused(dtype, value, message):
    error = _error(_single, {"inputs": [value]}, dtype)
    assert (error.code, error.message) == ("INVALID_ARGUMENT", message)


def test_non_finite_floats_are_accepted():
    tensors, _ = predict_inputs_from_json(
        parse_body(b'{"inputs": [NaN, Infinity, -Infinity]}'), _infos(x="DT_FLOAT"), ""
    )
    assert np.isnan(tensors["x"][0]) and tensors["x"][1:].tolist() == [np.inf, -np.inf]


def test_a_dtype_json_cannot_carry_is_unimplemented():
    error = _error(_single, {"inputs": [1]}, "DT_COMPLEX64")
    assert (error.code, error.http_status) == ("UNIMPLEMENTED", 501)
    assert error.message == "Conversion of JSON Value: 1 to type: complex64"


# -- request shape errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "doc, message",
    [
        ({"signature_name": "s"}, "Missing 'inputs' or 'instances' key"),
        (
            {"instances": [[1, 2], [3]]},
            "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: Expecting tensor size: 2 but "
            "got: 1",
        ),
        (
            {"instances": [[1, 2], [[1, 2]]]},
            "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: "
            "Expecting shape [2] but got: [1,2]",
        ),
        ({"inputs": [[1, 2], [3]]}, "Encountered list at unexpected size: 1 at level: 1 expected size: 2"),
        ({"inputs": [[1, 2], 3]}, "JSON Value: 3 found at incorrect level: 2 in the JSON DOM. Expected at level: 2"),
        ({"inputs": [[1, [2]]]}, "Encountered list at unexpected level: 2 expected < 2"),
    ],
)
def test_ragged_or_misshapen_requests_are_refused(doc, message):
    assert _error(_single, doc, "DT_INT64").message == message


def test_a_signature_without_inputs_is_refused():
    error = _error(predict_inputs_from_json, {"instances": [1]}, {}, "")
    assert error.message == "Failed to get input map for signature: DEFAULT"


def test_signature_name_must_be_a_string():
    assert signature_name_of({}) == "" and signature_name_of({"signature_name": "s"}) == "s"
    error = _error(signature_name_of, {"signature_name": 3})
    assert error.message == (
        'JSON Value: {\n    "signature_name": 3\n} not formatted correctly. '
        "'signature_name' key must be a string value."
    )


# -- classify / regress examples -----------------------------------------------------------------


def test_examples_take_one_kind_per_feature_and_the_context_merged_in():
    doc = {
        "context": {"shared": 1, "a": "from context"},
        "examples": [{"a": "x", "f": [1.0, 2.0], "t": True, "b": {"b64": "eQ=="}}, {"i": [3, -4]}],
    }
    assert examples_from_json(doc) == [
        {"shared": [1], "a": [b"x"], "f": [1.0, 2.0], "t": [1], "b": [b"y"]},
        {"shared": [1], "a": [b"from context"], "i": [3, -4]},
    ]


@pytest.mark.parametrize(
    "doc, message",
    [
        ({"examples": [{"age": [10, 10.0]}]}, "Unexpected element type in feature: age expecting type: int64"),
        ({"examples": [{"age": [2**64 - 13]}]}, "Feature: age has uint64 element. Only int64 is supported."),
        (
            {"examples": [{"age": [-(2**63) - 1]}]},
            "Cannot convert JSON value: -9223372036854775809 to float without loss of precision.",
        ),
        ({"examples": [{"age": None}]}, "Feature: age has element with unexpected JSON type: Null"),
        ({"examples": [5]}, "Example must be JSON object but got JSON Number"),
    ],
)
def test_example_errors(doc, message):
    assert _error(examples_from_json, doc).message == message


def test_a_feature_name_that_is_not_utf8_is_refused():
    doc = parse_body(b'{"examples": [{"\xff": 1}]}')
    assert _error(examples_from_json, doc).message == (
        "Feature name b'\\xff' is not valid UTF-8; a tf.Example feature name is a UTF-8 string"
    )


# -- the body ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "JSON Parse error: The document is empty"),
        (b"   ", "JSON Parse error: The document is empty. at offset: 3"),
        (b'{"a": "\\ud800"}', "JSON Parse error: The surrogate pair in string is invalid. at offset: 7"),
        (b"[1]", "JSON Value: [\n    1\n] Is not object"),
    ],
)
def test_body_errors(body, message):
    assert _error(parse_body, body).message == message


def test_json_values_are_quoted_as_rapidjson_writes_them():
    assert json_value_to_string({"a": [1, 2.5]}) == '{\n    "a": [\n        1,\n        2.5\n    ]\n}'
    assert json_value_to_string(0.1) == "0.1"
    assert json_value_to_string("é") == '"é"'


def test_text_columns_share_one_growing_dictionary_across_requests():
    first, _ = _predict({"instances": [{"city": "Oslo"}, {"city": "Lima"}, {"city": "Oslo"}]}, city="DT_STRING")
    second, _ = _predict({"instances": [{"city": "Lima"}, {"city": "Kyiv"}]}, city="DT_STRING")
    third, _ = _predict({"instances": [{"city": "Kyiv"}]}, city="DT_STRING")
    a, b, c = (encoding_of(t["city"]) for t in (first, second, third))
    assert first["city"].tolist() == [b"Oslo", b"Lima", b"Oslo"] and second["city"].tolist() == [b"Lima", b"Kyiv"]
    assert a[1].tolist() == [b"Oslo", b"Lima"] and a[0].tolist() == [0, 1, 0]
    assert b[1].tolist() == [b"Oslo", b"Lima", b"Kyiv"] and b[0].tolist() == [1, 2]  # grown, old codes kept
    assert c[1] is b[1]  # no new string: the same dictionary (so its look-ups are cached)
    mixed, _ = _predict({"instances": [{"city": "Oslo"}, {"city": {"b64": "eQ=="}}]}, city="DT_STRING")
    assert encoding_of(mixed["city"]) is None and mixed["city"].tolist() == [b"Oslo", b"y"]


def test_a_string_encoder_stops_encoding_at_its_capacity():
    encoder = StringEncoder(capacity=3)
    assert encoder.encode([]).tolist() == []
    assert encoder.encode(["a", "b"]).tolist() == [b"a", b"b"]
    assert encoder.encode(["c", "d"]) is None  # would hold 4
    assert encoder.encode(["a"]) is None  # full: callers build plain arrays from now on


def test_a_string_encoder_is_consistent_under_concurrent_growth():
    encoder = StringEncoder(capacity=10_000)
    words = [f"w{i}" for i in range(2000)]

    def work(seed: int) -> bool:
        rng = np.random.default_rng(seed)
        for _ in range(50):
            batch = [words[i] for i in rng.integers(0, len(words), 20)]
            encoded = encoder.encode(batch)
            if encoded.tolist() != [w.encode() for w in batch]:
                return False
        return True

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert all(pool.map(work, range(16)))


def test_a_string_encoder_stops_at_its_byte_budget():
    encoder = StringEncoder(capacity=100, max_bytes=10)
    assert encoder.encode(["abcd", "efgh"]).tolist() == [b"abcd", b"efgh"]
    assert encoder.encode(["ijklmnop"]) is None  # 16 bytes in all
    assert encoder.encode(["abcd"]) is None
