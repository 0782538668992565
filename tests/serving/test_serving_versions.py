"""Version directories: the newest numeric one is served, new ones are picked up by polling and
swapped in, and a version that fails to load is reported while the previous one keeps serving."""

from __future__ import annotations

import os
import time

import pytest
from fake_serving_models import TestClient, load, write_version

from torch_estimator.serving import BatchingParameters, ModelManager, create_app, list_versions

SUM = {"signature_name": "sum", "instances": [[1, 2, 3]]}


def _status(client: TestClient) -> list[tuple[str, str, str]]:
    return [
        (s["version"], s["state"], s["status"]["error_code"])
        for s in client.get("/v1/models/m").json()["model_version_status"]
    ]


def test_only_numeric_directories_are_versions(tmp_path):
    for version in (3, 7, 12):
        write_version(str(tmp_path), version)
    os.makedirs(tmp_path / "temp-99")
    os.makedirs(tmp_path / "13.tmp")
    os.makedirs(tmp_path / ".14")
    (tmp_path / "15").write_text("a file, not a version")
    assert sorted(list_versions(str(tmp_path))) == [3, 7, 12]
    assert list_versions(str(tmp_path / "missing")) == {}


def test_new_versions_are_picked_up_and_swapped(tmp_path):
    write_version(str(tmp_path), 1, kind="raw", bias=0.0)
    write_version(str(tmp_path), 2, kind="raw", bias=1.0)
    with TestClient(create_app(str(tmp_path), "m", loader=load, file_system_poll_wait_seconds=0)) as client:
        assert client.post("/v1/models/m:predict", json=SUM).json() == {"predictions": [7.0]}
        assert _status(client) == [("2", "AVAILABLE", "OK")]
        write_version(str(tmp_path), 10, kind="raw", bias=2.0)
        client.app.state.manager.poll()
        assert client.post("/v1/models/m:predict", json=SUM).json() == {"predictions": [8.0]}
        assert client.post("/v1/models/m/versions/10:predict", json=SUM).json() == {"predictions": [8.0]}
        assert client.post("/v1/models/m/versions/2:predict", json=SUM).json() == {
            "error": "Servable not found for request: Specific(m, 2)"
        }
        assert _status(client) == [("10", "AVAILABLE", "OK"), ("2", "END", "OK")]


def test_a_broken_version_is_reported_and_the_previous_one_keeps_serving(tmp_path):
    write_version(str(tmp_path), 1, kind="raw")
    with TestClient(create_app(str(tmp_path), "m", loader=load, file_system_poll_wait_seconds=0)) as client:
        write_version(str(tmp_path), 2, kind="raw", broken="truncated variables")
        client.app.state.manager.poll()
        assert client.post("/v1/models/m:predict", json=SUM).json() == {"predictions": [6.0]}
        failed = client.get("/v1/models/m/versions/2").json()["model_version_status"][0]
        assert failed["state"] == "END" and failed["status"]["error_code"] == "INVALID_ARGUMENT"
        assert "truncated variables" in failed["status"]["error_message"]
        assert _status(client) == [("2", "END", "INVALID_ARGUMENT"), ("1", "AVAILABLE", "OK")]
        client.app.state.manager.poll()  # not retried while the directory is unchanged
        assert _status(client)[0] == ("2", "END", "INVALID_ARGUMENT")
        path = write_version(str(tmp_path), 2, kind="raw", bias=3.0)
        os.utime(path, (time.time() + 5, time.time() + 5))
        client.app.state.manager.poll()
        assert _status(client) == [("2", "AVAILABLE", "OK"), ("1", "END", "OK")]
        assert client.post("/v1/models/m:predict", json=SUM).json() == {"predictions": [9.0]}


def test_serving_starts_before_any_version_exists(tmp_path):
    with TestClient(
        create_app(str(tmp_path / "model"), "m", loader=load, file_system_poll_wait_seconds=0.02)
    ) as client:
        assert client.get("/v1/models/m").json() == {"error": "Could not find any versions of model m"}
        assert client.post("/v1/models/m:predict", json=SUM).json() == {
            "error": "Servable not found for request: Latest(m)"
        }
        write_version(str(tmp_path / "model"), 1, kind="raw")
        deadline = time.monotonic() + 10
        while client.get("/v1/models/m").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.02)  # the background poll picks it up
        assert client.post("/v1/models/m:predict", json=SUM).json() == {"predictions": [6.0]}


def test_loader_must_return_signatures(tmp_path):
    write_version(str(tmp_path), 1)
    manager = ModelManager("m", str(tmp_path), loader=lambda path: object(), file_system_poll_wait_seconds=0)
    manager.start()
    (status,) = manager.status(None)
    assert status.state == "END" and status.error_code == "INVALID_ARGUMENT"
    assert "'signatures' mapping" in status.error_message
    manager.stop()


def test_argument_checks(tmp_path):
    with pytest.raises(ValueError, match="file_system_poll_wait_seconds must be >= 0; got -1"):
        ModelManager("m", str(tmp_path), file_system_poll_wait_seconds=-1)
    with pytest.raises(ValueError, match="enable_batching is False"):
        create_app(str(tmp_path), batching_parameters=BatchingParameters())
    with pytest.raises(ValueError, match="'module:function'"):
        create_app(str(tmp_path), loader="no_colon")
