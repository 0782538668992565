"""The host pipeline: batches read and prepared in a background thread are the synchronous
path's, errors reach the caller with their traceback, and the thread stops on every exit."""

from __future__ import annotations

import tempfile
import threading
import time
import traceback

import numpy as np
import pytest

import torch_estimator as te
from conftest import dense_model_fn, make_binary_data
from torch_estimator._engine import input_batches
from torch_estimator._inputs.batches import Batches

fc = te.feature_column
X, Y = make_binary_data(200)
RNG = np.random.default_rng(3)
FEATURES = {"x": X, "color": RNG.choice(["red", "green", "blue", ""], 200).astype(object)}


def _prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "torch_estimator-input-prefetch" and t.is_alive()]


def _no_prefetch_thread_left() -> bool:
    deadline = time.monotonic() + 10
    while _prefetch_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _prefetch_threads()


def _wide_deep(model_dir):
    color = fc.categorical_column_with_vocabulary_list("color", ["red", "green", "blue"])
    return te.DNNLinearCombinedClassifier(
        model_dir=model_dir,
        linear_feature_columns=[
            color,
            fc.crossed_column(["color", fc.bucketized_column(fc.numeric_column("x", shape=(4,)), [0.0])], 20),
        ],
        dnn_feature_columns=[fc.numeric_column("x", shape=(4,)), fc.embedding_column(color, 3)],
        dnn_hidden_units=[8],
        config=te.RunConfig(tf_random_seed=11),
    )


def _train_weights(background: bool, monkeypatch) -> dict[str, np.ndarray]:
    monkeypatch.setattr(Batches, "background_safe", background)
    est = _wide_deep(tempfile.mkdtemp())
    est.train(te.inputs.numpy_input_fn(FEATURES, Y.astype(np.int64), batch_size=16, num_epochs=4, shuffle=True))
    return {n: est.get_variable_value(n) for n in est.get_variable_names()}


def test_background_batches_train_the_same_weights(monkeypatch):
    background = _train_weights(True, monkeypatch)
    synchronous = _train_weights(False, monkeypatch)
    assert background.keys() == synchronous.keys()
    for name in background:
        np.testing.assert_array_equal(background[name], synchronous[name], err_msg=name)


def test_background_batches_are_the_synchronous_ones(monkeypatch):
    def batches(background: bool) -> list:
        monkeypatch.setattr(Batches, "background_safe", background)
        input_fn = te.inputs.numpy_input_fn(FEATURES, Y, batch_size=32, num_epochs=2, shuffle=True)
        np.random.seed(5)
        return [
            (f["x"].numpy().copy(), labels.numpy().copy())
            for f, labels in input_batches.model_batches(input_fn, te.ModeKeys.TRAIN, te.VariableStore().device)
        ]

    ours, reference = batches(True), batches(False)
    assert len(ours) == len(reference) == 13
    for (x1, y1), (x2, y2) in zip(ours, reference):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)


def _failing_input_fn():
    def make():
        for i in range(10):
            if i == 3:
                raise ZeroDivisionError("batch 3 of the input is broken")
            yield {"x": X[:8]}, Y[:8]

    return Batches(make)


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
def test_the_pipeline_thread_stops_on_every_exit(tmp_path, error):
    est = te.Estimator(dense_model_fn, model_dir=str(tmp_path), params={})
    input_fn = te.inputs.numpy_input_fn({"x": X}, Y, batch_size=8, num_epochs=None, shuffle=True)
    if error is None:
        est.train(input_fn, hooks=[_Raise(None)], steps=50)
        assert est.get_variable_value("global_step") == 2
    else:
        with pytest.raises(type(error)):
            est.train(input_fn, hooks=[_Raise(error)], steps=50)
    assert _no_prefetch_thread_left()


def test_predictions_from_a_background_input_are_in_order(tmp_path):
    est = te.Estimator(dense_model_fn, model_dir=str(tmp_path), params={}, config=te.RunConfig(tf_random_seed=2))
    est.train(te.inputs.numpy_input_fn({"x": X}, Y, batch_size=16, num_epochs=1, shuffle=True))
    logits = np.array(
        [p["logits"] for p in est.predict(te.inputs.numpy_input_fn({"x": X}, batch_size=7, shuffle=False))]
    )
    one_by_one = np.array(
        [
            p["logits"]
            for i in range(0, 200, 50)
            for p in est.predict(te.inputs.numpy_input_fn({"x": X[i : i + 50]}, batch_size=50, shuffle=False))
        ]
    )
    np.testing.assert_allclose(logits, one_by_one, rtol=1e-6)
    assert _no_prefetch_thread_left()
