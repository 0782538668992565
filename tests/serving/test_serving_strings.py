"""Served strings: empty strings are missing values, as in predict(), also when requests are
dictionary-encoded; the caches they share are safe across threads."""

from __future__ import annotations

import concurrent.futures

import numpy as np
import pytest
from fake_serving_models import TestClient

import torch_estimator as te
from torch_estimator._core.values import DictionaryCache
from torch_estimator.serving import create_app

fc = te.feature_column


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("strings")
    words = np.array(["a", "b", "", "c", "zz"] * 8, dtype=object)
    x = np.linspace(0, 1, len(words), dtype=np.float32)
    columns = [
        fc.indicator_column(fc.categorical_column_with_hash_bucket("s", 10)),
        fc.indicator_column(fc.categorical_column_with_vocabulary_list("u", ["a", "b"], num_oov_buckets=2)),
        fc.embedding_column(fc.categorical_column_with_vocabulary_list("t", ["a", "c"], default_value=0), 2),
        fc.numeric_column("x"),
    ]
    features = {"s": words, "t": words[::-1].copy(), "u": words.copy(), "x": x}
    estimator = te.DNNRegressor([3], columns, model_dir=str(root / "model"))
    estimator.train(te.inputs.numpy_input_fn(features, x, batch_size=8, num_epochs=None, shuffle=True), steps=3)
    receiver = te.export.build_raw_serving_input_receiver_fn({k: v[:2] for k, v in features.items()})
    estimator.export_saved_model(str(root / "export"), receiver)
    with TestClient(create_app(str(root / "export"), "m", file_system_poll_wait_seconds=0)) as client:
        yield client, estimator


def test_empty_strings_are_missing_as_in_predict(served):
    client, estimator = served
    pairs = [("", ""), ("a", ""), ("", "c"), ("zz", "b"), ("", "")]
    rows = [{"s": s, "t": t, "u": s, "x": 0.5} for s, t in pairs]
    for _ in range(2):  # the second time over the dictionary the first one grew
        answer = client.post("/v1/models/m:predict", json={"signature_name": "predict", "instances": rows})
        assert answer.status_code == 200, answer.text
        features = {k: np.array([r[k] for r in rows], dtype=np.float32 if k == "x" else object) for k in rows[0]}
        predicted = [p["predictions"] for p in estimator.predict(te.inputs.numpy_input_fn(features, shuffle=False))]
        served_values = [r["predictions"] if isinstance(r, dict) else r for r in answer.json()["predictions"]]
        np.testing.assert_allclose(
            np.array(served_values, dtype=np.float32).reshape(-1), np.concatenate(predicted), rtol=1e-5
        )


def test_a_dictionary_cache_is_safe_when_threads_evict_at_once():
    cache = DictionaryCache(capacity=4)
    keys = [np.array([i], dtype=object) for i in range(64)]

    def work(offset: int) -> bool:
        return all(
            int(cache.get(keys[(offset + i) % 64], lambda k: k.astype(np.int64))[0]) == (offset + i) % 64
            for i in range(2000)
        )

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert all(pool.map(work, range(8)))
