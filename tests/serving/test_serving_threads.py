"""Where model calls run: small requests to an export on the event loop, large ones and other
loaders' models in the thread pool; both answer the same."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from fake_serving_models import TestClient, load, write_version

import torch_estimator as te
from torch_estimator.export._loader import SavedModel
from torch_estimator.serving import create_app

fc = te.feature_column


@pytest.fixture(scope="module")
def export_base(tmp_path_factory):
    root = tmp_path_factory.mktemp("threads")
    x = np.linspace(0, 1, 64, dtype=np.float32)
    estimator = te.LinearRegressor([fc.numeric_column("x")], model_dir=str(root / "model"))
    estimator.train(te.inputs.numpy_input_fn({"x": x}, 2 * x, batch_size=16, num_epochs=None, shuffle=True), steps=5)
    receiver = te.export.build_raw_serving_input_receiver_fn({"x": x[:2]})
    estimator.export_saved_model(str(root / "export"), receiver)
    return str(root / "export")


def _threads_of_calls(monkeypatch) -> list[threading.Thread]:
    threads: list[threading.Thread] = []
    run = SavedModel.run_features

    def recording(self, features):
        threads.append(threading.current_thread())
        return run(self, features)

    monkeypatch.setattr(SavedModel, "run_features", recording)
    return threads


def test_small_calls_run_on_the_event_loop_and_large_ones_in_the_pool(export_base, monkeypatch):
    explicit = create_app(export_base, "m", loader=te.export.load, file_system_poll_wait_seconds=0)
    for app in (create_app(export_base, "m", file_system_poll_wait_seconds=0), explicit):
        _check_small_inline_large_pooled(app, monkeypatch)


def _check_small_inline_large_pooled(app, monkeypatch) -> None:
    with TestClient(app) as client:
        loop_thread = client.portal.call(threading.current_thread)
        threads = _threads_of_calls(monkeypatch)
        small = client.post("/v1/models/m:predict", json={"signature_name": "predict", "instances": [{"x": 0.5}]})
        large = client.post(
            "/v1/models/m:predict", json={"signature_name": "predict", "instances": [{"x": 0.5}] * 8000}
        )
        assert small.status_code == large.status_code == 200
        assert len(json.dumps({"signature_name": "predict", "instances": [{"x": 0.5}] * 8000})) > 64 * 1024
        assert threads[0] is loop_thread and threads[1] is not loop_thread
        assert large.json()["predictions"] == small.json()["predictions"] * 8000


def _recorded(process, seen):
    def run(*args, **kwargs):
        seen.append(threading.current_thread())
        return process(*args, **kwargs)

    return run


def test_with_batching_or_another_loader_every_call_runs_in_the_pool(export_base, tmp_path, monkeypatch):
    write_version(str(tmp_path / "fake"), 1, kind="raw")
    apps = [
        create_app(export_base, "m", file_system_poll_wait_seconds=0, enable_batching=True),
        create_app(str(tmp_path / "fake"), "m", loader=load, file_system_poll_wait_seconds=0),
    ]
    for app, body in zip(
        apps,
        [
            {"signature_name": "predict", "instances": [{"x": 0.5}]},
            {"instances": [{"age": 1, "education": "a", "hours": 1}]},
        ],
    ):
        with TestClient(app) as client:
            loop_thread = client.portal.call(threading.current_thread)
            seen: list[threading.Thread] = []
            monkeypatch.setattr(app.state.handler, "process", _recorded(app.state.handler.process, seen))
            assert client.post("/v1/models/m:predict", json=body).status_code == 200
            assert seen and seen[0] is not loop_thread
