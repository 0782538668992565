"""No request gets a 500 or a body outside TF Serving's ``{"error": ...}`` shape: text that is not
UTF-8, any method and path, bodies over the limit (found while reading); versions that fail to load
are retried when their files change and never replace the served one."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
import uvicorn
from fake_serving_models import FakeModel, TestClient, load, write_version

import torch_estimator as te
from torch_estimator._core import tensor_file as _tensor_file
from torch_estimator.export._signature import PREDICT_METHOD_NAME, Signature, TensorInfo
from torch_estimator.export.tfexample import encode_example
from torch_estimator.serving import DEFAULT_MAX_REQUEST_BYTES, RestApiHandler, create_app

SUM = {"signature_name": "sum", "instances": [[1, 2, 3]]}
SURROGATE = "JSON Parse error: The surrogate pair in string is invalid. at offset: "


@pytest.fixture(scope="module")
def clients(tmp_path_factory):
    base = tmp_path_factory.mktemp("models")
    write_version(str(base / "census"), 1)
    write_version(str(base / "raw"), 1, kind="raw")
    census = TestClient(create_app(str(base / "census"), "census", loader=load, file_system_poll_wait_seconds=0))
    raw = TestClient(create_app(str(base / "raw"), "raw", loader=load, file_system_poll_wait_seconds=0))
    limited = TestClient(
        create_app(str(base / "raw"), "raw", loader=load, file_system_poll_wait_seconds=0, max_request_bytes=1000)
    )
    with census, raw, limited:
        yield {"census": census, "raw": raw, "limited": limited}


def _instance(education: bytes, key: bytes = b"education") -> bytes:
    return b'{"instances": [{"age": 1, "' + key + b'": "' + education + b'", "hours": 1}]}'


UNICODE_ERRORS = [
    ("raw", "/v1/models/raw:predict", _instance(b"\\ud800"), SURROGATE + "40"),  # a high surrogate alone
    ("raw", "/v1/models/raw:predict", _instance(b"a\\ud800\\u0041"), SURROGATE + "41"),  # followed by no low one
    ("raw", "/v1/models/raw:predict", _instance(b"\\udc00"), SURROGATE + "40"),  # a low surrogate alone
    ("raw", "/v1/models/raw:predict", _instance(b"x", key=b"educ\\ud800"), SURROGATE + "31"),  # in a name
    (
        "raw",
        "/v1/models/raw:predict",
        b'{"signature_name": "\\udbff", "instances": [1] ',
        SURROGATE + "20",
    ),  # before a syntax error
    (
        "raw",
        "/v1/models/raw:predict",
        b'{"signature_name": "caf\xc3\xa9\\ud800"}',
        SURROGATE + "25",
    ),  # offsets count bytes
    ("census", "/v1/models/census:classify", b'{"examples": [{"age": 1.0, "x": "\\ud800"}]}', SURROGATE + "33"),
    (
        "census",
        "/v1/models/census:classify",
        b'{"examples": [{"age": 1.0, "caf\xe9": 1}]}',
        "Feature name b'caf\\xe9' is not valid UTF-8; a tf.Example feature name is a UTF-8 string",
    ),
    (
        "census",
        "/v1/models/census:regress",
        b'{"context": {"\xff": 1}, "examples": [{"age": 1.0}]}',
        "Feature name b'\\xff' is not valid UTF-8; a tf.Example feature name is a UTF-8 string",
    ),
]


@pytest.mark.parametrize("model, path, body, message", UNICODE_ERRORS)
def test_text_no_utf8_can_carry_is_a_400(clients, model, path, body, message):
    response = clients[model].post(path, content=body)
    assert (response.status_code, response.json()) == (400, {"error": message})


def test_surrogate_pairs_and_escaped_backslashes_are_not_lone_surrogates(clients):
    pair = clients["raw"].post("/v1/models/raw:predict", content=_instance(b"\\ud83d\\ude00")).json()
    assert pair["predictions"][0]["education_bytes"] == {"b64": "8J+YgA=="}  # U+1F600 in UTF-8
    literal = clients["raw"].post(
        "/v1/models/raw:predict", content=b'{"signature_name": "\\\\ud800", "instances": [1]}'
    )
    assert literal.json() == {"error": 'Serving signature name: "\\ud800" not found in signature def'}


def test_a_model_error_no_utf8_can_carry_is_escaped(tmp_path):
    def fails(inputs):
        raise ValueError("no value for \ud800")

    x = {"x": TensorInfo("DT_FLOAT", (-1,))}
    model = FakeModel({"serving_default": Signature("serving_default", PREDICT_METHOD_NAME, x, x, fails)})
    write_version(str(tmp_path), 1)
    with TestClient(
        create_app(str(tmp_path), "m", loader=lambda path: model, file_system_poll_wait_seconds=0)
    ) as client:
        response = client.post("/v1/models/m:predict", json={"instances": [1.0]})
        assert (response.status_code, response.content) == (400, b'{"error": "no value for \\ud800"}')


def test_a_failure_outside_the_handler_still_answers_in_tf_servings_shape(tmp_path, monkeypatch):
    def broken(self, method, path, body):
        raise RuntimeError("the handler broke")

    monkeypatch.setattr(RestApiHandler, "process", broken)
    write_version(str(tmp_path), 1, kind="raw")
    app = create_app(str(tmp_path), "m", loader=load, file_system_poll_wait_seconds=0)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/v1/models/m:predict", json=SUM)
        assert (response.status_code, response.json()) == (500, {"error": "RuntimeError: the handler broke"})


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "OPTIONS", "PATCH", "PUT", "DELETE", "FOO"])
def test_every_method_gets_tf_servings_error(clients, method):
    response = clients["raw"].request(method, "/v1/models/raw")
    assert (response.status_code, response.json()) == (400, {"error": f"Malformed request: {method} /v1/models/raw"})
    outside = clients["raw"].request(method, "/v2/anything")
    assert (outside.status_code, outside.json()) == (404, {"error": f"Not found: {method} /v2/anything"})


def test_a_body_over_the_limit_is_413(clients):
    body = json.dumps({"signature_name": "sum", "instances": [[0.5, 0.5, 0.5]] * 50}).encode()
    at_limit = body[:-1].ljust(999) + b"}"  # spaces up to 1000 bytes
    assert len(at_limit) == 1000
    assert clients["limited"].post("/v1/models/raw:predict", content=at_limit).json() == {"predictions": [1.5] * 50}
    response = clients["limited"].post("/v1/models/raw:predict", content=at_limit + b" ")
    assert (response.status_code, response.json()) == (
        413,
        {"error": "Request body is larger than the server's limit of 1000 bytes (max_request_bytes)."},
    )
    assert clients["limited"].post("/v1/models/raw:predict", json=SUM).json() == {"predictions": [6.0]}


def test_the_limit_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="max_request_bytes must be >= 1; got 0"):
        create_app(str(tmp_path), max_request_bytes=0)


# -- a real HTTP server: Content-Length, chunked bodies ---------------------------------------------


@contextlib.contextmanager
def _server(app) -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(30)


def _exchange(port: int, head: bytes, chunks: list[bytes] = ()) -> tuple[int, bytes]:
    """Sends a raw request (the body chunks from a thread, while the response is read) and returns
    the status and body of the response."""

    def send() -> None:
        with contextlib.suppress(OSError):  # the server may answer and close before all is sent
            for chunk in chunks:
                connection.sendall(chunk)

    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head)
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        response = b""
        with contextlib.suppress(ConnectionResetError):
            while data := connection.recv(65536):
                response += data
                if b"\r\n\r\n" in response and len(response.partition(b"\r\n\r\n")[2]) >= _content_length(response):
                    break
    sender.join(10)
    status = int(response.split(b" ", 2)[1])
    return status, response.partition(b"\r\n\r\n")[2]


def _content_length(response: bytes) -> int:
    for line in response.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


@pytest.fixture(scope="module")
def port(tmp_path_factory):
    base = tmp_path_factory.mktemp("served")
    write_version(str(base), 1, kind="raw")
    with _server(create_app(str(base), "raw", loader=load, file_system_poll_wait_seconds=0)) as port:
        yield port


TOO_LARGE = {
    "error": f"Request body is larger than the server's limit of {DEFAULT_MAX_REQUEST_BYTES} bytes (max_request_bytes)."
}


def test_a_declared_length_over_the_default_limit_is_refused_before_the_body_is_read(port):
    assert DEFAULT_MAX_REQUEST_BYTES == 32 * 1024 * 1024
    head = (
        f"POST /v1/models/raw:predict HTTP/1.1\r\nHost: x\r\nContent-Length: {DEFAULT_MAX_REQUEST_BYTES + 1}\r\n\r\n"
    ).encode()
    status, body = _exchange(port, head)  # no body sent: the server must not wait for it
    assert (status, json.loads(body)) == (413, TOO_LARGE)


def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(port):
    head = b"POST /v1/models/raw:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b" " * (1024 * 1024)
    chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 40  # 40 MiB, never terminated
    status, body = _exchange(port, head, chunks)
    assert (status, json.loads(body)) == (413, TOO_LARGE)


def test_the_content_length_decides_where_the_body_ends(port):
    head = b"POST /v1/models/raw:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n"
    status, body = _exchange(port, head, [json.dumps(SUM).encode()])  # longer than declared: cut after '{'
    assert (status, json.loads(body)) == (
        400,
        {"error": "JSON Parse error: Missing a name for object member. at offset: 1"},
    )
    status, body = _exchange(port, b"POST /v1/models/raw:predict HTTP/1.1\r\nHost: x\r\n\r\n")  # no length: no body
    assert (status, json.loads(body)) == (400, {"error": "JSON Parse error: The document is empty"})
    body = json.dumps(SUM).encode()
    assert _exchange(
        port, b"POST /v1/models/raw:predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body), [body]
    ) == (200, b'{"predictions": [6.0]}')


# -- versions ---------------------------------------------------------------------------------------


def _status(client) -> list[tuple[str, str, str]]:
    return [
        (s["version"], s["state"], s["status"]["error_code"])
        for s in client.get("/v1/models/m").json()["model_version_status"]
    ]


def test_a_failed_version_is_retried_when_any_of_its_files_changes(tmp_path):
    calls = []

    def counting_load(path):
        calls.append(path)
        return load(path)

    write_version(str(tmp_path), 1, kind="raw")
    with TestClient(create_app(str(tmp_path), "m", loader=counting_load, file_system_poll_wait_seconds=0)) as client:
        version = write_version(str(tmp_path), 2, kind="raw", broken="still being copied")
        os.makedirs(os.path.join(version, "variables"))
        with open(os.path.join(version, "variables", "part"), "wb") as f:
            f.write(b"half")
        manager = client.app.state.manager
        manager.poll()
        manager.poll()  # unchanged: not loaded again
        assert len(calls) == 2 and _status(client) == [("2", "END", "INVALID_ARGUMENT"), ("1", "AVAILABLE", "OK")]
        directory_times = os.stat(version).st_mtime_ns
        with open(os.path.join(version, "variables", "part"), "ab") as f:
            f.write(b" and the rest")  # the copy goes on: a file deeper down changes, the directory does not
        os.utime(version, ns=(directory_times, directory_times))
        manager.poll()
        assert len(calls) == 3
        write_version(str(tmp_path), 2, kind="raw", bias=1.0)  # the copy completes: fake_model.json rewritten in place
        os.utime(version, ns=(directory_times, directory_times))
        manager.poll()
        assert len(calls) == 4 and _status(client) == [("2", "AVAILABLE", "OK"), ("1", "END", "OK")]
        assert client.post("/v1/models/m:predict", json=SUM).json() == {"predictions": [7.0]}


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    rng = np.random.default_rng(0)
    features = {"age": rng.uniform(20, 60, 100).astype(np.float32)}
    age = te.feature_column.numeric_column("age")
    est = te.DNNClassifier([4], [age], model_dir=str(root / "model"))
    est.train(
        te.inputs.numpy_input_fn(
            features, (features["age"] > 40).astype(np.int64), batch_size=50, num_epochs=None, shuffle=True
        ),
        steps=2,
    )
    receiver = te.export.build_parsing_serving_input_receiver_fn(te.feature_column.make_parse_example_spec([age]))
    return est.export_saved_model(str(root / "export"), receiver).decode()


def test_an_export_that_fails_its_checks_never_replaces_the_served_version(export_dir, tmp_path):
    shutil.copytree(export_dir, tmp_path / "1")
    with TestClient(create_app(str(tmp_path), "m", file_system_poll_wait_seconds=0)) as client:
        body = {"examples": [{"age": 50.0}]}
        served = client.post("/v1/models/m:classify", json=body).json()
        variables = shutil.copytree(export_dir, tmp_path / "2") / "variables" / "variables.safetensors"
        tensors, metadata = _tensor_file.read(str(variables), "export variables")
        tensors = {k: v.clone() for k, v in tensors.items() if k != "dnn/logits/bias"}
        variables.write_bytes(_tensor_file.serialize(tensors, metadata))
        client.app.state.manager.poll()
        assert _status(client) == [("2", "END", "INVALID_ARGUMENT"), ("1", "AVAILABLE", "OK")]
        message = client.get("/v1/models/m/versions/2").json()["model_version_status"][0]["status"]["error_message"]
        assert "missing variables ['dnn/logits/bias']" in message and str(variables) in message
        assert client.post("/v1/models/m:classify", json=body).json() == served

        program = shutil.copytree(export_dir, tmp_path / "3") / "program.onnx"
        data = bytearray(program.read_bytes())
        data[len(data) // 2] ^= 0xFF
        program.write_bytes(bytes(data))
        client.app.state.manager.poll()
        assert _status(client)[:2] == [("3", "END", "DATA_LOSS"), ("2", "END", "INVALID_ARGUMENT")]
        assert (
            "Checksum mismatch in the export program file"
            in client.get("/v1/models/m/versions/3").json()["model_version_status"][0]["status"]["error_message"]
        )
        assert client.post("/v1/models/m:classify", json=body).json() == served
        predict = {
            "signature_name": "predict",
            "instances": [{"b64": base64.b64encode(encode_example({"age": [50.0]})).decode()}],
        }
        assert client.post("/v1/models/m/versions/1:predict", json=predict).status_code == 200
