"""``torch-estimator serve`` as a real server process, with the test models' loader (``--loader``)."""

from __future__ import annotations

import os
import signal
import subprocess

import httpx
import pytest
from fake_serving_models import write_version
from server_process import environment_with, start_server, wait_for

from torch_estimator.cli import main

HERE = os.path.dirname(os.path.abspath(__file__))


def test_serve_command_serves_and_picks_up_new_versions(tmp_path):
    write_version(str(tmp_path), 1, kind="raw")
    process, port = start_server(
        str(tmp_path),
        "m",
        "--file_system_poll_wait_seconds",
        "0.05",
        "--enable_batching",
        "--loader",
        "fake_serving_models:load",
        "--max_request_bytes",
        "200",
        port_flag="--rest_api_port",
        env=environment_with(HERE),
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            wait_for(lambda: client.get("/v1/models/m").status_code == 200, "the model loaded", process)
            body = {"signature_name": "sum", "instances": [[1, 2, 3]]}
            assert client.post("/v1/models/m:predict", json=body).json() == {"predictions": [6.0]}
            bad = client.post("/v1/models/m:predict", content=b'{"instances": ')
            assert bad.status_code == 400 and bad.json()["error"].startswith("JSON Parse error: Invalid value.")
            assert (
                client.post(
                    "/v1/models/m:predict", json={"signature_name": "fails", "instances": [[1, 2, 3]]}
                ).status_code
                == 500
            )
            too_big = client.post("/v1/models/m:predict", json={"signature_name": "sum", "instances": [[1, 2, 3]] * 30})
            assert too_big.status_code == 413 and "200" in too_big.json()["error"], too_big.text
            write_version(str(tmp_path), 2, kind="raw", bias=1.0)
            wait_for(
                lambda: client.post("/v1/models/m:predict", json=body).json() == {"predictions": [7.0]},
                "version 2",
                process,
            )
            assert client.get("/v1/models/m/metadata").json()["model_spec"]["version"] == "2"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0, process.stderr.read()


def test_serve_command_argument_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["serve", str(tmp_path / "a"), "--model_base_path", str(tmp_path / "b")])
    assert "differ; give one" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve"])
    assert "--model_base_path (or MODEL_BASE_PATH) is required" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", str(tmp_path), "--rest_api_port", "70000"])
    assert "must be a port number" in capsys.readouterr().err
