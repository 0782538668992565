"""A real ``torch-estimator serve`` process serving exported census models to TF Serving REST
clients: predict (row and columnar), classify, regress, status and metadata, errors, and a burst of
concurrent requests; results equal in-process predictions."""

from __future__ import annotations

import base64
import concurrent.futures

import httpx
import numpy as np
import pytest
from server_process import start_server, wait_for

import torch_estimator as te
from torch_estimator._census import census_columns, census_features
from torch_estimator.datasets import load_census
from torch_estimator.export.tfexample import encode_example

fc = te.feature_column
WIDE, DEEP = census_columns()
SPEC = fc.make_parse_example_spec(WIDE + DEEP)
KEYS = sorted(SPEC)
TEST, _ = census_features(load_census("test").head(20))


def _row(i: int) -> dict:
    return {k: float(TEST[k][i]) if isinstance(TEST[k][i], (float, np.floating)) else str(TEST[k][i]) for k in KEYS}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Two exports of one trained wide & deep model (tf.Example and raw receivers) behind two servers."""
    root = tmp_path_factory.mktemp("census_serving")
    features, labels = census_features(load_census("train").sample(500, random_state=0))
    est = te.DNNLinearCombinedClassifier(
        model_dir=str(root / "model"), linear_feature_columns=WIDE, dnn_feature_columns=DEEP, dnn_hidden_units=[8]
    )
    est.train(te.inputs.numpy_input_fn(features, labels, batch_size=100, num_epochs=None, shuffle=True), steps=5)
    est.export_saved_model(str(root / "examples"), te.export.build_parsing_serving_input_receiver_fn(SPEC))
    raw = {k: TEST[k][:2] for k in KEYS}
    est.export_saved_model(str(root / "raw"), te.export.build_raw_serving_input_receiver_fn(raw))
    expected = list(est.predict(te.inputs.numpy_input_fn({k: TEST[k] for k in KEYS}, batch_size=20, shuffle=False)))
    processes, clients = [], {}
    try:
        for name in ("examples", "raw"):
            process, port = start_server(str(root / name), "census")
            processes.append(process)
            clients[name] = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        for process, client in zip(processes, clients.values()):
            wait_for(lambda c=client: c.get("/v1/models/census").status_code == 200, "the model loaded", process, 120)
        yield clients, expected
    finally:
        for client in clients.values():
            client.close()
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def test_predict_row_and_columnar_formats(served):
    clients, expected = served
    probabilities = np.stack([e["probabilities"] for e in expected])
    client = clients["raw"]
    rows = client.post(
        "/v1/models/census:predict", json={"signature_name": "predict", "instances": [_row(i) for i in range(5)]}
    )
    assert rows.status_code == 200, rows.text
    predictions = rows.json()["predictions"]
    np.testing.assert_allclose([p["probabilities"] for p in predictions], probabilities[:5], atol=1e-6)
    assert [p["classes"] for p in predictions] == [[e["classes"][0].decode()] for e in expected[:5]]
    columnar = {k: [_row(i)[k] for i in range(5)] for k in KEYS}
    cols = client.post("/v1/models/census:predict", json={"signature_name": "predict", "inputs": columnar})
    assert cols.status_code == 200, cols.text
    np.testing.assert_allclose(cols.json()["outputs"]["probabilities"], probabilities[:5], atol=1e-6)

    serialized = [
        {"b64": base64.b64encode(encode_example({k: [v] for k, v in _row(i).items()})).decode()} for i in range(5)
    ]
    by_examples = clients["examples"].post(
        "/v1/models/census/versions/" + _version(clients["examples"]) + ":predict",
        json={"signature_name": "predict", "instances": serialized},
    )
    assert by_examples.status_code == 200, by_examples.text
    np.testing.assert_allclose(
        [p["logistic"] for p in by_examples.json()["predictions"]], [e["logistic"] for e in expected[:5]], atol=1e-6
    )


def _version(client: httpx.Client) -> str:
    return client.get("/v1/models/census").json()["model_version_status"][0]["version"]


def test_classify_and_regress(served):
    clients, expected = served
    client = clients["examples"]
    body = {
        "examples": [{k: v for k, v in _row(i).items() if k != "age"} for i in range(3)],
        "context": {"age": _row(0)["age"]},
    }
    classify = client.post("/v1/models/census:classify", json=body)
    assert classify.status_code == 200, classify.text
    results = classify.json()["results"]
    assert [[label for label, _ in r] for r in results] == [["0", "1"]] * 3
    same_age = {k: TEST[k][:3] for k in KEYS}
    same_age["age"] = np.full(3, TEST["age"][0], dtype=np.float32)
    want = [p["probabilities"] for p in served_model_predictions(clients, same_age)]
    np.testing.assert_allclose([[s for _, s in r] for r in results], want, atol=1e-6)
    regress = client.post(
        "/v1/models/census:regress", json={"signature_name": "regression", "examples": [_row(i) for i in range(4)]}
    )
    assert regress.status_code == 200, regress.text
    np.testing.assert_allclose(regress.json()["results"], [e["logistic"][0] for e in expected[:4]], atol=1e-6)


def served_model_predictions(clients, features):
    """Predictions for ``features`` through the raw-receiver server (checked against predict() above)."""
    instances = [
        {k: float(features[k][i]) if features[k].dtype != object else str(features[k][i]) for k in KEYS}
        for i in range(len(features["age"]))
    ]
    return (
        clients["raw"]
        .post("/v1/models/census:predict", json={"signature_name": "predict", "instances": instances})
        .json()["predictions"]
    )


def test_status_and_metadata(served):
    client = served[0]["examples"]
    status = client.get("/v1/models/census").json()
    assert status["model_version_status"][0]["state"] == "AVAILABLE"
    assert status["model_version_status"][0]["status"] == {"error_code": "OK", "error_message": ""}
    metadata = client.get("/v1/models/census/metadata").json()
    assert metadata["model_spec"]["name"] == "census"
    signatures = metadata["metadata"]["signature_def"]["signature_def"]
    assert sorted(signatures) == ["classification", "predict", "regression", "serving_default"]
    assert signatures["serving_default"]["method_name"] == "tensorflow/serving/classify"
    assert signatures["classification"]["outputs"]["scores"]["dtype"] == "DT_FLOAT"


def test_bad_requests_get_errors_and_the_server_keeps_serving(served):
    client = served[0]["raw"]
    good = {"signature_name": "predict", "instances": [_row(0)]}
    cases = [
        ({"signature_name": "predict", "instances": [_row(0)], "inputs": {}}, 400),
        ({"signature_name": "predict"}, 400),
        ({"signature_name": "nope", "instances": [_row(0)]}, 400),
        ({"signature_name": "predict", "instances": [{k: v for k, v in _row(0).items() if k != "age"}]}, 400),
        ({"signature_name": "predict", "instances": [{**_row(0), "age": "old"}]}, 400),
    ]
    for body, status in cases:
        response = client.post("/v1/models/census:predict", json=body)
        assert response.status_code == status and "error" in response.json(), (body, response.text)
    assert client.post("/v1/models/census:predict", content=b"{not json").status_code == 400
    assert client.post("/v1/models/other:predict", json=good).status_code == 404
    assert client.post("/v1/models/census/versions/1:predict", json=good).status_code == 404
    assert client.post("/v1/models/census:predict", json=good).status_code == 200


def test_a_burst_of_concurrent_requests_all_succeed(served):
    client = served[0]["raw"]
    body = {"signature_name": "predict", "instances": [_row(1)]}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: client.post("/v1/models/census:predict", json=body).status_code, range(200)))
    assert codes == [200] * 200
