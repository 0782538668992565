"""The host pipeline: batches read in the background thread are the synchronous path's (same
trained weights), errors reach the caller with their traceback, and the thread stops on every exit."""

from __future__ import annotations

import threading
import time
import traceback

import numpy as np
import pandas as pd
import pytest

import torch_estimator as te
from conftest import dense_model_fn, make_binary_data
from torch_estimator._core.batches import Batches
from torch_estimator._engine import input_batches

fc = te.feature_column
X, Y = make_binary_data(200)
RNG = np.random.default_rng(3)
COLORS = RNG.choice(["red", "green", "blue", "pink"], 200)


def _prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "torch_estimator-input-prefetch" and t.is_alive()]


def _no_prefetch_thread_left() -> bool:
    deadline = time.monotonic() + 10
    while _prefetch_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _prefetch_threads()


@pytest.fixture
def csv_file(tmp_path) -> str:
    frame = pd.DataFrame({f"x{i}": X[:, i] for i in range(X.shape[1])})
    frame["color"] = COLORS
    frame["label"] = Y.astype(np.int64)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return str(path)


def _csv_input(path: str, prefetch: int, **kwargs):
    return te.inputs.make_csv_input_fn(
        path, 16, label_key="label", shuffle_seed=4, prefetch_buffer_size=prefetch, **{"num_epochs": 3, **kwargs}
    )


def _wide_deep(model_dir):
    color = fc.categorical_column_with_vocabulary_list("color", ["red", "green", "blue"])
    x = [fc.numeric_column(f"x{i}") for i in range(X.shape[1])]
    return te.DNNLinearCombinedClassifier(
        model_dir=model_dir,
        linear_feature_columns=[color, fc.crossed_column(["color", fc.bucketized_column(x[0], [0.0])], 20)],
        dnn_feature_columns=[*x, fc.embedding_column(color, 3)],
        dnn_hidden_units=[8],
        config=te.RunConfig(tf_random_seed=11),
    )


def test_a_prefetching_input_is_read_in_the_background(csv_file):
    batches = _csv_input(csv_file, 2)()
    assert isinstance(batches, Batches) and batches.prefetch == 2
    before = set(_prefetch_threads())
    stream = input_batches.model_batches(lambda: batches, te.ModeKeys.TRAIN, te.VariableStore().device)
    next(stream)
    assert len(set(_prefetch_threads()) - before) == 1, "one thread reads, parses and converts"
    stream.close()
    assert _no_prefetch_thread_left()


def test_in_memory_inputs_are_read_in_the_loop_thread():
    batches = te.inputs.numpy_input_fn({"x": X}, Y, batch_size=16, num_epochs=1, shuffle=False)()
    assert batches.prefetch == 0
    before = set(_prefetch_threads())
    stream = input_batches.model_batches(lambda: batches, te.ModeKeys.TRAIN, te.VariableStore().device)
    next(stream)
    assert set(_prefetch_threads()) <= before


def test_background_batches_train_the_same_weights(csv_file, tmp_path):
    weights = []
    for prefetch in (2, 0):
        est = _wide_deep(str(tmp_path / f"prefetch{prefetch}"))
        est.train(_csv_input(csv_file, prefetch))
        weights.append({n: est.get_variable_value(n) for n in est.get_variable_names()})
    background, synchronous = weights
    assert background.keys() == synchronous.keys()
    assert background["global_step"] == synchronous["global_step"] == 38
    for name in background:
        np.testing.assert_array_equal(background[name], synchronous[name], err_msg=name)


def test_background_batches_are_the_synchronous_ones(csv_file):
    def batches(prefetch: int) -> list:
        stream = input_batches.model_batches(
            _csv_input(csv_file, prefetch), te.ModeKeys.TRAIN, te.VariableStore().device
        )
        return [(f["x0"].numpy().copy(), f["color"].copy(), labels.numpy().copy()) for f, labels in stream]

    ours, reference = batches(2), batches(0)
    assert len(ours) == len(reference) == 38
    for a, b in zip(ours, reference):
        for x1, x2 in zip(a, b):
            np.testing.assert_array_equal(x1, x2)


def _failing_input_fn():
    def make():
        for i in range(10):
            if i == 3:
                raise ZeroDivisionError("batch 3 of the input is broken")
            yield {"x": X[:8]}, Y[:8]

    return Batches(make, prefetch=2)


def test_a_failing_input_raises_its_own_error_in_the_caller(tmp_path):
    est = te.Estimator(dense_model_fn, model_dir=str(tmp_path), params={})
    with pytest.raises(ZeroDivisionError, match="batch 3 of the input is broken") as info:
        est.train(_failing_input_fn)
    assert any(frame.name == "make" for frame in traceback.extract_tb(info.tb)), "the input's own frame is kept"
    assert _no_prefetch_thread_left()


class _Raise(te.SessionRunHook):
    def __init__(self, error: BaseException | None, at: int = 2) -> None:
        self.error, self.at, self.calls = error, at, 0

    def after_run(self, context, values):
        self.calls += 1
        if self.calls == self.at:
            if self.error is None:
                context.request_stop()
            else:
                raise self.error


@pytest.mark.parametrize(
    "error", [None, RuntimeError("model broke"), KeyboardInterrupt()], ids=["stop", "error", "interrupt"]
)
def test_the_pipeline_thread_stops_on_every_exit(tmp_path, csv_file, error):
    est = _wide_deep(str(tmp_path / "model"))
    input_fn = _csv_input(csv_file, 2, num_epochs=None)
    if error is None:
        est.train(input_fn, hooks=[_Raise(None)], steps=50)
        assert est.get_variable_value("global_step") == 2
    else:
        with pytest.raises(type(error)):
            est.train(input_fn, hooks=[_Raise(error)], steps=50)
    assert _no_prefetch_thread_left()


def test_predictions_from_a_background_input_are_in_order(tmp_path, csv_file):
    est = _wide_deep(str(tmp_path / "model"))
    est.train(_csv_input(csv_file, 2, num_epochs=1))
    streamed = [p["logits"] for p in est.predict(_csv_input(csv_file, 2, num_epochs=1, shuffle=False))]
    frame = pd.read_csv(csv_file).drop(columns="label")
    in_memory = [p["logits"] for p in est.predict(te.inputs.pandas_input_fn(frame, batch_size=50, shuffle=False))]
    assert len(streamed) == len(in_memory) == 200
    np.testing.assert_allclose(np.array(streamed), np.array(in_memory), rtol=1e-6)
    assert _no_prefetch_thread_left()
