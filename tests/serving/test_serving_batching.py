"""Server-side batching: concurrent calls merge into one model call, each caller gets its own rows
(or its own error), and calls that cannot be stacked run apart."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from fake_serving_models import TestClient, load, write_version

from torch_estimator.serving import BatchingParameters, create_app, read_batching_parameters
from torch_estimator.serving._batching import SignatureBatcher


class SlowDouble:
    """A model that doubles ``x``, takes 20 ms a call, and rejects negative values."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, inputs):
        with self.lock:
            self.sizes.append(len(inputs["x"]))
        time.sleep(0.02)
        if (inputs["x"] < 0).any():
            raise ValueError("x must be >= 0")
        return {"y": inputs["x"] * 2, "n": np.full(len(inputs["x"]), len(inputs["x"]))}


def _call_concurrently(batcher, inputs_list):
    with ThreadPoolExecutor(len(inputs_list)) as pool:
        futures = [pool.submit(batcher, inputs) for inputs in inputs_list]
        return [f.exception() or f.result() for f in futures]


def test_concurrent_calls_are_merged_and_split_back():
    model = SlowDouble()
    batcher = SignatureBatcher(model, BatchingParameters(max_batch_size=64))
    inputs = [{"x": np.full((i % 3 + 1, 2), float(i), np.float32)} for i in range(16)]
    results = _call_concurrently(batcher, inputs)
    for given, result in zip(inputs, results):
        np.testing.assert_array_equal(result["y"], given["x"] * 2)
    assert sum(model.sizes) == sum(len(i["x"]) for i in inputs)
    assert len(model.sizes) < 16 and max(model.sizes) > 3
    batcher.close()


def test_a_bad_call_gets_its_own_error_and_the_others_their_rows():
    model = SlowDouble()
    batcher = SignatureBatcher(model, BatchingParameters(batch_timeout_micros=50_000))
    inputs = [{"x": np.full((1, 2), -1.0 if i == 3 else float(i), np.float32)} for i in range(6)]
    results = _call_concurrently(batcher, inputs)
    assert isinstance(results[3], ValueError)
    for i in (0, 1, 2, 4, 5):
        np.testing.assert_array_equal(results[i]["y"], inputs[i]["x"] * 2)
    batcher.close()


def test_batch_size_limit_timeout_and_incompatible_shapes():
    model = SlowDouble()
    batcher = SignatureBatcher(model, BatchingParameters(max_batch_size=4, batch_timeout_micros=100_000))
    inputs = [{"x": np.ones((1, 2), np.float32)} for _ in range(8)] + [
        {"x": np.ones((1, 5), np.float32)},
        {"x": np.ones((9, 2), np.float32)},
    ]
    results = _call_concurrently(batcher, inputs)
    assert [r["y"].shape for r in results] == [(1, 2)] * 8 + [(1, 5), (9, 2)]
    assert max(size for size in model.sizes if size != 9) <= 4  # the 9-row call ran on its own
    assert model.sizes.count(4) >= 1
    batcher.close()


def test_outputs_that_are_not_batch_major_turn_batching_off():
    calls = []

    def total(inputs):
        calls.append(len(inputs["x"]))
        time.sleep(0.01)
        return {"sum": np.float32(inputs["x"].sum())}

    batcher = SignatureBatcher(total, BatchingParameters(batch_timeout_micros=50_000))
    results = _call_concurrently(batcher, [{"x": np.full(2, float(i), np.float32)} for i in range(4)])
    assert [float(r["sum"]) for r in results] == [0.0, 2.0, 4.0, 6.0]
    assert batcher({"x": np.ones(3, np.float32)})["sum"] == 3.0  # now runs unbatched
    batcher.close()


def test_batching_parameters_file(tmp_path, caplog):
    path = tmp_path / "batching.txt"
    path.write_text(
        "max_batch_size { value: 128 }\n"
        "batch_timeout_micros { value: 2000 }  # 2 ms\n"
        "max_enqueued_batches { value: 100 }\n"
        "num_batch_threads { value: 2 }\n"
    )
    assert read_batching_parameters(str(path)) == BatchingParameters(
        max_batch_size=128, batch_timeout_micros=2000, num_batch_threads=2
    )
    assert "max_enqueued_batches is not used" in caplog.text
    path.write_text("max_batch_sise { value: 128 }")
    with pytest.raises(ValueError, match="unknown batching parameter 'max_batch_sise'"):
        read_batching_parameters(str(path))
    with pytest.raises(ValueError, match="max_batch_size must be >= 1; got 0"):
        BatchingParameters(max_batch_size=0)


def test_the_server_merges_concurrent_predict_requests(tmp_path):
    write_version(str(tmp_path), 1, kind="raw")
    app = create_app(
        str(tmp_path),
        "m",
        loader=load,
        file_system_poll_wait_seconds=0,
        enable_batching=True,
        batching_parameters=BatchingParameters(batch_timeout_micros=20_000),
    )
    with TestClient(app) as client:
        model = app.state.manager.get(None).model

        def predict(i):
            return client.post(
                "/v1/models/m:predict", json={"signature_name": "sum", "instances": [[i, 0, 0]] * (i % 2 + 1)}
            ).json()

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(predict, range(16)))
    assert results == [{"predictions": [float(i)] * (i % 2 + 1)} for i in range(16)]
    assert len(model.calls) < 16 and sum(model.calls) == 24
