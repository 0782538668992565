"""TF Serving's REST API: routes, row and columnar formats, classify / regress, status, metadata,
and the error bodies and status codes (texts from tensorflow_serving/util/json_tensor.cc and
model_servers/http_rest_api_handler.cc)."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from fake_serving_models import TestClient, load, write_version

from torch_estimator.export.tfexample import encode_example
from torch_estimator.serving import create_app


def _sigmoid(x: float) -> float:
    return float(1 / (1 + np.exp(-np.float32(x))))


@pytest.fixture(scope="module")
def clients(tmp_path_factory):
    """Clients of a binary classifier export ('census') and of a raw-feature export ('raw')."""
    base = tmp_path_factory.mktemp("models")
    write_version(str(base / "census"), 1)
    write_version(str(base / "raw"), 3, kind="raw", bias=0.5)
    census = TestClient(create_app(str(base / "census"), "census", loader=load, file_system_poll_wait_seconds=0))
    raw = TestClient(create_app(str(base / "raw"), "raw", loader=load, file_system_poll_wait_seconds=0))
    with census, raw:
        yield {"census": census, "raw": raw}


@pytest.fixture
def census(clients):
    return clients["census"]


@pytest.fixture
def raw(clients):
    return clients["raw"]


def _b64_example(**features) -> dict:
    return {"b64": base64.b64encode(encode_example(features)).decode()}


# -- classify / regress ---------------------------------------------------------------------------


def test_classify_gives_label_score_pairs_per_example_with_context_merged(census):
    response = census.post(
        "/v1/models/census:classify",
        json={
            "context": {"education": "Bachelors", "age": 99.0},
            "examples": [{"age": 50.0}, {"age": 30.0, "education": "HS-grad"}],
        },
    )
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    results = response.json()["results"]
    p0, p1 = _sigmoid(1 + 1), _sigmoid(-1)  # the example's own 'age' wins over the context's
    assert [[label for label, _ in r] for r in results] == [["0", "1"], ["0", "1"]]
    np.testing.assert_allclose([[s for _, s in r] for r in results], [[1 - p0, p0], [1 - p1, p1]], rtol=1e-6)


def test_classify_and_regress_accept_a_version_and_signature_name(census):
    body = {"signature_name": "classification", "examples": [{"age": 40.0}]}
    assert census.post("/v1/models/census/versions/1:classify", json=body).json() == {
        "results": [[["0", 0.5], ["1", 0.5]]]
    }
    response = census.post(
        "/v1/models/census:regress",
        json={"signature_name": "regression", "examples": [{"age": 40, "education": ["Bachelors"]}]},
    )
    assert response.status_code == 200
    assert response.json()["results"] == pytest.approx([_sigmoid(1.0)], rel=1e-6)


# -- predict --------------------------------------------------------------------------------------


def test_predict_row_format_with_serialized_examples(census):
    response = census.post(
        "/v1/models/census:predict",
        json={"signature_name": "predict", "instances": [_b64_example(age=50.0), _b64_example(age=20.0)]},
    )
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert len(predictions) == 2
    assert set(predictions[0]) == {
        "logits",
        "logistic",
        "probabilities",
        "class_ids",
        "classes",
        "all_class_ids",
        "all_classes",
    }
    assert predictions[0]["logits"] == [1.0] and predictions[1]["logits"] == [-2.0]
    assert predictions[0]["class_ids"] == [1] and predictions[0]["classes"] == ["1"]
    assert predictions[1]["all_class_ids"] == [0, 1] and predictions[1]["all_classes"] == ["0", "1"]


def test_predict_columnar_format_gives_outputs_object(census):
    response = census.post(
        "/v1/models/census:predict",
        json={"signature_name": "predict", "inputs": {"examples": [_b64_example(age=50.0)]}},
    )
    outputs = response.json()["outputs"]
    assert outputs["logits"] == [[1.0]] and outputs["class_ids"] == [[1]] and outputs["all_classes"] == [["0", "1"]]
    # a single input may be given without its name
    response = census.post(
        "/v1/models/census:predict", json={"signature_name": "predict", "inputs": [_b64_example(age=50.0)]}
    )
    assert response.json()["outputs"]["logits"] == [[1.0]]


def test_predict_raw_features_by_name(raw):
    instances = [{"age": 50, "education": "Bachelors", "hours": 40}, {"age": 20.5, "education": "HS-grad", "hours": 10}]
    predictions = raw.post("/v1/models/raw:predict", json={"instances": instances}).json()["predictions"]
    logit0 = np.float32(0.1 * 10 + 1 + 0.4 + 0.5)
    assert predictions[0]["logits"] == [pytest.approx(float(logit0))]
    assert predictions[0]["classes"] == ["yes"]
    assert predictions[0]["probabilities"] == pytest.approx([1 - _sigmoid(logit0), _sigmoid(logit0)], rel=1e-6)
    # string outputs named *_bytes come back base64-encoded
    assert predictions[1]["education_bytes"] == {"b64": base64.b64encode(b"HS-grad").decode()}
    columnar = raw.post(
        "/v1/models/raw:predict",
        json={"inputs": {"age": [50, 20.5], "education": ["Bachelors", "HS-grad"], "hours": [40, 10]}},
    ).json()
    assert columnar["outputs"]["classes"] == [["yes"], ["no"]]
    assert columnar["outputs"]["logits"] == [[p["logits"][0]] for p in predictions]


def test_predict_single_input_and_output_are_plain_lists(raw):
    assert raw.post(
        "/v1/models/raw:predict", json={"signature_name": "sum", "instances": [[1, 2, 3], [0.1, 0.1, 0]]}
    ).json() == {"predictions": [6.5, 0.7]}
    assert raw.post("/v1/models/raw:predict", json={"signature_name": "sum", "inputs": [[1, 2, 3]]}).json() == {
        "outputs": [6.5]
    }
    # one input given by name in the row format
    assert raw.post(
        "/v1/models/raw:predict", json={"signature_name": "sum", "instances": [{"x": [1, 2, 3]}]}
    ).json() == {"predictions": [6.5]}


def test_floats_are_written_at_float32_precision(raw):
    text = raw.post(
        "/v1/models/raw:predict",
        json={"signature_name": "sum", "instances": [[0.19999998807907104, 0, 0], [1e6, 0, 0], [8999999.5, 0, 0]]},
    ).text
    assert text == '{"predictions": [0.7, 1000000.5, 9e+06]}'


def test_binary_inputs_as_b64_and_bool_int_inputs(raw):
    hello = {"b64": base64.b64encode(b"\x00hello\xff").decode()}
    response = raw.post(
        "/v1/models/raw:predict", json={"signature_name": "length", "instances": [hello, "abc", {"b64": "YQ"}]}
    )
    assert response.json() == {"predictions": [7, 3, 1]}
    response = raw.post(
        "/v1/models/raw:predict",
        json={"signature_name": "flags", "instances": [{"flag": True, "n": 1}, {"flag": False, "n": 2}]},
    )
    assert response.json() == {"predictions": [{"negated": False, "count": 2}, {"negated": True, "count": 2}]}


def test_non_utf8_strings_pass_through(raw):
    response = raw.post(
        "/v1/models/raw:predict", content=b'{"instances": [{"age": 1, "education": "caf\xe9", "hours": 1}]}'
    )
    assert response.status_code == 200
    assert json.loads(response.content.decode("latin-1"))["predictions"][0]["education_bytes"] == {
        "b64": base64.b64encode(b"caf\xe9").decode()
    }


# -- status and metadata --------------------------------------------------------------------------


def test_model_status(raw):
    expected = {
        "model_version_status": [
            {"version": "3", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]
    }
    assert raw.get("/v1/models/raw").json() == expected
    assert raw.get("/v1/models/raw/versions/3").json() == expected


def test_model_metadata(census):
    metadata = census.get("/v1/models/census/metadata").json()
    assert metadata["model_spec"] == {"name": "census", "signature_name": "", "version": "1"}
    signatures = metadata["metadata"]["signature_def"]["signature_def"]
    assert set(signatures) == {"serving_default", "classification", "regression", "predict"}
    assert signatures["regression"]["method_name"] == "tensorflow/serving/regress"
    assert signatures["serving_default"]["inputs"]["inputs"] == {
        "dtype": "DT_STRING",
        "tensor_shape": {"dim": [{"size": "-1", "name": ""}], "unknown_rank": False},
        "name": "input_example_tensor:0",
    }
    assert census.get("/v1/models/census/versions/1/metadata").json() == metadata


# -- errors ---------------------------------------------------------------------------------------


def _pretty(value) -> str:
    return json.dumps(value, indent=4)


BOTH = {"instances": [[1, 2, 3]], "inputs": [[1, 2, 3]]}
NOT_A_LIST = {"instances": {"x": [1, 2, 3]}}
EMPTY = {"instances": []}
NO_EXAMPLES = {"context": {"a": 1}}

PREDICT_ERRORS = [
    # request shape
    (b"", "JSON Parse error: The document is empty"),
    (b"instances = [1, 2]", "JSON Parse error: Invalid value. at offset: 0"),
    (b'{"instances": [1 2]}', "JSON Parse error: Missing a comma or ']' after an array element. at offset: 17"),
    (b'{"instances" [1]}', "JSON Parse error: Missing a colon after a name of object member. at offset: 13"),
    (
        b'{"instances": [1]} {}',
        "JSON Parse error: The document root must not be followed by other values. at offset: 19",
    ),
    (b"[1]", "JSON Value: [\n    1\n] Is not object"),
    (
        {"signature_name": 5, "instances": [1]},
        f"JSON Value: {_pretty({'signature_name': 5, 'instances': [1]})} not formatted correctly. 'signature_name' "
        "key must be a string value.",
    ),
    ({"signature_name": "sum"}, "Missing 'inputs' or 'instances' key"),
    (
        {"signature_name": "sum", **BOTH},
        f"JSON Value: {_pretty({'signature_name': 'sum', **BOTH})} Not formatted correctly expecting only one of "
        "'inputs' or 'instances' keys to exist ",
    ),
    (
        {"signature_name": "sum", **NOT_A_LIST},
        f"JSON Value: {_pretty({'signature_name': 'sum', **NOT_A_LIST})} Excepting 'instances' to be an list/array",
    ),
    (
        {"signature_name": "sum", **EMPTY},
        f"JSON Value: {_pretty({'signature_name': 'sum', **EMPTY})} No values in 'instances' array",
    ),
    ({"signature_name": "nope", "instances": [1]}, 'Serving signature name: "nope" not found in signature def'),
    # inputs
    (
        {"instances": [{"age": 1, "education": "a"}]},
        'Failed to process element: 0 of \'instances\' list. JSON object: {\n    "age": 1,\n    "education": "a"\n} '
        "keys must be equal to: age,education,hours",
    ),
    (
        {"instances": [{"age": 1, "education": "a", "hours": 1, "zip": 1}]},
        "Failed to process element: 0 key: zip of 'instances' list. Error: INVALID_ARGUMENT: JSON object: does not "
        "have named input: zip",
    ),
    ({"inputs": {"age": [1], "education": ["a"]}}, "Missing named input: hours in 'inputs' object."),
    (
        {"instances": [1, 2]},
        "instances is a plain list, but expecting list of objects as multiple input tensors required as per "
        "tensorinfo_map",
    ),
    (
        {"inputs": [1, 2]},
        "inputs is a plain value/list, but expecting an object as multiple input tensors required as per "
        "tensorinfo_map",
    ),
    (
        {"instances": [{"age": "x", "education": "a", "hours": 1}]},
        "Failed to process element: 0 key: age of 'instances' list. Error: INVALID_ARGUMENT: JSON Value: \"x\" Type: "
        "String is not of expected type: float",
    ),
    (
        {"instances": [{"age": True, "education": "a", "hours": 1}]},
        "Failed to process element: 0 key: age of 'instances' list. Error: INVALID_ARGUMENT: JSON Value: true Type: "
        "True is not of expected type: float",
    ),
    (
        {"instances": [{"age": 1, "education": "a", "hours": 1.5}]},
        "Failed to process element: 0 key: hours of 'instances' list. Error: INVALID_ARGUMENT: JSON Value: 1.5 Type: "
        "Number is not of expected type: int64",
    ),
    (
        {"instances": [{"age": 1, "education": 7, "hours": 1}]},
        "Failed to process element: 0 key: education of 'instances' list. Error: INVALID_ARGUMENT: JSON Value: 7 "
        "Type: Number is not of expected type: string",
    ),
    (
        {"inputs": {"age": [None], "education": ["a"], "hours": [1]}},
        "JSON Value: null Type: Null is not of expected type: float",
    ),
    (
        {"instances": [{"age": 16777217, "education": "a", "hours": 1}]},
        "Failed to process element: 0 key: age of 'instances' list. Error: INVALID_ARGUMENT: Cannot convert JSON "
        "value: 16777217 to float without loss of precision.",
    ),
    (
        {"instances": [{"age": 1, "education": "a", "hours": 1}, [1, 2, 3]]},
        "Expecting object but got list at item 1 of input list",
    ),
    (
        {"signature_name": "sum", "instances": [[1, 2, 3], {"x": [1, 2, 3]}]},
        "Expecting value/list but got object at item 1 of input list",
    ),
    # ragged
    (
        {"signature_name": "sum", "instances": [[1, 2, 3], [4, 5]]},
        "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: Expecting tensor size: 3 but got: "
        "2",
    ),
    (
        {"signature_name": "sum", "instances": [[1, 2, 3], [[1, 2, 3]]]},
        "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: Expecting shape [3] but got: [1,3]",
    ),
    (
        {"signature_name": "sum", "inputs": [[1, 2, 3], [4, 5]]},
        "Encountered list at unexpected size: 2 at level: 1 expected size: 3",
    ),
    (
        {"signature_name": "sum", "inputs": [[1, 2, 3], 4]},
        "JSON Value: 4 found at incorrect level: 2 in the JSON DOM. Expected at level: 2",
    ),
    ({"signature_name": "sum", "inputs": [[1, 2, [3]]]}, "Encountered list at unexpected level: 2 expected < 2"),
    # binary strings
    (
        {"signature_name": "length", "instances": [{"b64": "!!"}]},
        "Failed to process element: 0 of 'instances' list. Error: INVALID_ARGUMENT: Unable to base64 decode",
    ),
    (
        {"signature_name": "length", "inputs": [{"b64": "YQ==", "x": 1}]},
        'JSON Value: {\n    "b64": "YQ==",\n    "x": 1\n} not formatted correctly for base64 data',
    ),
    # against the signature's shapes, and errors raised by the model
    (
        {"signature_name": "sum", "instances": [[1, 2]]},
        "input 'x' of signature 'sum' has shape [1,2]; the signature expects [-1,3] (-1: any size)",
    ),
    ({"signature_name": "rejects", "instances": [[1, 2, 3]]}, "x must be positive for this model; got -1.0"),
]


@pytest.mark.parametrize("body, message", PREDICT_ERRORS)
def test_predict_errors(raw, body, message):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = raw.post("/v1/models/raw:predict", content=content)
    assert response.status_code == 400
    assert response.json() == {"error": message}


CLASSIFY_ERRORS = [
    (
        NO_EXAMPLES,
        f"JSON Value: {_pretty(NO_EXAMPLES)} When method is classify, key 'examples' is expected and was not found",
    ),
    (
        {"examples": {"age": 1}},
        f"JSON Value: {_pretty({'examples': {'age': 1}})} Expecting 'examples' value to be an list/array",
    ),
    ({"examples": []}, f"JSON Value: {_pretty({'examples': []})} 'examples' value is an empty array"),
    ({"examples": [[{"age": 1}]]}, "Example must be JSON object but got JSON Array"),
    ({"context": [1], "examples": [{"age": 1}]}, "Example must be JSON object but got JSON Array"),
    ({"examples": [{"age": [10, None]}]}, "Feature: age has element with unexpected JSON type: Null"),
    ({"examples": [{"age": [10, {"test": 10}]}]}, "Feature: age has element with unexpected JSON type: Object"),
    ({"examples": [{"age": [[10], 20]}]}, "Feature: age has element with unexpected JSON type: Array"),
    ({"examples": [{"age": [10, 10.0]}]}, "Unexpected element type in feature: age expecting type: int64"),
    ({"examples": [{"age": ["a", 1.0]}]}, "Unexpected element type in feature: age expecting type: bytes"),
    ({"examples": [{"age": [20, 18446744073709551603]}]}, "Feature: age has uint64 element. Only int64 is supported."),
    ({"examples": [{"age": 1e300}]}, "Cannot convert JSON value: 1e+300 to float without loss of precision."),
    ({"signature_name": "nope", "examples": [{"age": 1.0}]}, "No signature was found with the name: nope"),
    (
        {"signature_name": "predict", "examples": [{"age": 1.0}]},
        "Expected classification signature method_name to be tensorflow/serving/classify. Was: "
        "tensorflow/serving/predict",
    ),
    ({"examples": [{"education": "Bachelors"}]}, "Feature: age (data type: float) is required but could not be found."),
]


@pytest.mark.parametrize("body, message", CLASSIFY_ERRORS)
def test_classify_errors(census, body, message):
    response = census.post("/v1/models/census:classify", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": message}


def test_regress_on_a_classification_signature(census):
    response = census.post("/v1/models/census:regress", json={"examples": [{"age": 1.0}]})
    assert response.status_code == 400
    assert response.json() == {
        "error": (
            "Expected regression signature method_name to be tensorflow/serving/regress. Was: "
            "tensorflow/serving/classify"
        )
    }


ROUTE_ERRORS = [
    ("POST", "/v1/models/nope:predict", 404, "Servable not found for request: Latest(nope)"),
    ("POST", "/v1/models/nope/versions/3:classify", 404, "Servable not found for request: Specific(nope, 3)"),
    ("POST", "/v1/models/raw/versions/1:predict", 404, "Servable not found for request: Specific(raw, 1)"),
    ("GET", "/v1/models/raw/versions/1/metadata", 404, "Servable not found for request: Specific(raw, 1)"),
    ("GET", "/v1/models/nope/metadata", 404, "Servable not found for request: Latest(nope)"),
    ("GET", "/v1/models/nope", 404, "Could not find any versions of model nope"),
    ("GET", "/v1/models/raw/versions/1", 404, "Could not find version 1 of model raw"),
    ("POST", "/v1/models/raw/labels/stable:predict", 400, "Unrecognized servable version label: stable"),
    ("GET", "/v1/models/raw/labels/stable", 400, "Unrecognized servable version label: stable"),
    (
        "POST",
        "/v1/models/raw/versions/99999999999999999999:predict",
        400,
        "Failed to convert version: 99999999999999999999 to numeric.",
    ),
    ("GET", "/v1/models", 400, "Missing model name in request."),
    ("GET", "/v1/models/raw:predict", 400, "Malformed request: GET /v1/models/raw:predict"),
    ("PUT", "/v1/models/raw:predict", 400, "Malformed request: PUT /v1/models/raw:predict"),
    ("DELETE", "/v1/models/raw", 400, "Malformed request: DELETE /v1/models/raw"),
    ("POST", "/v1/models/raw", 400, "Malformed request: POST /v1/models/raw"),
    ("POST", "/v1/models/raw:explain", 400, "Malformed request: POST /v1/models/raw:explain"),
    ("POST", "/v1/models/raw:PREDICT", 400, "Malformed request: POST /v1/models/raw:PREDICT"),
    ("GET", "/v1/models/raw/versions/x", 400, "Malformed request: GET /v1/models/raw/versions/x"),
]


@pytest.mark.parametrize("method, path, status, message", ROUTE_ERRORS)
def test_route_errors(raw, method, path, status, message):
    response = raw.request(method, path, content=b'{"instances": [1], "examples": [{"a": 1}]}')
    assert response.status_code == status
    assert response.json() == {"error": message}


def test_paths_outside_the_api_are_not_found(raw):
    response = raw.get("/metrics")
    assert response.status_code == 404 and "error" in response.json()


def test_a_failing_model_answers_500_and_the_server_keeps_serving(raw, caplog):
    response = raw.post("/v1/models/raw:predict", json={"signature_name": "fails", "instances": [[1, 2, 3]]})
    assert response.status_code == 500
    assert response.json() == {"error": "RuntimeError: the model is broken"}
    for body, _ in PREDICT_ERRORS[:8]:
        raw.post("/v1/models/raw:predict", content=body if isinstance(body, bytes) else json.dumps(body).encode())
    assert raw.post("/v1/models/raw:predict", json={"signature_name": "sum", "instances": [[1, 2, 3]]}).json() == {
        "predictions": [6.5]
    }
