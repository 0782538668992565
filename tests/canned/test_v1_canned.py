"""``te.compat.v1.estimator``: TF1's canned estimators (SUM loss reduction, TF1's learning rates
and arguments) against the v2 classes with the same settings given explicitly."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import torch_estimator as te
from torch_estimator._census import census_columns, census_features
from torch_estimator.datasets import load_census

V1 = te.compat.v1.estimator
CENSUS = load_census("train").sample(600, random_state=1)
FEATURES, LABELS = census_features(CENSUS)
WIDE, DEEP = census_columns()


def _input(epochs=None, shuffle=True, batch_size=50):
    return te.inputs.numpy_input_fn(FEATURES, LABELS, batch_size=batch_size, num_epochs=epochs, shuffle=shuffle)


def _variables(est):
    return {n: est.get_variable_value(n) for n in est.get_variable_names()}


def test_v1_signatures_are_tf1s():
    params = inspect.signature(V1.DNNLinearCombinedClassifier).parameters
    assert params["loss_reduction"].default == te.compat.v1.losses.Reduction.SUM == "weighted_sum"
    assert list(params)[11] == "input_layer_partitioner"
    assert "partitioner" in inspect.signature(V1.LinearClassifier).parameters
    assert inspect.signature(V1.DNNClassifier).parameters["optimizer"].default == "Adagrad"


def test_v1_dnn_is_v2_with_sum_reduction_and_learning_rate_0_05(tmp_path):
    config = te.RunConfig(tf_random_seed=7)
    v1 = V1.DNNClassifier([8], DEEP, model_dir=str(tmp_path / "v1"), config=config)
    v2 = te.DNNClassifier(
        [8], DEEP, model_dir=str(tmp_path / "v2"), config=config, loss_reduction="sum",
        optimizer=lambda: te.optimizers.Adagrad(learning_rate=0.05),
    )  # fmt: skip
    for est in (v1, v2):
        est.train(_input(shuffle=False), steps=5)
    assert v1.get_variable_value("training/Adagrad/learning_rate") == pytest.approx(0.05)
    a, b = _variables(v1), _variables(v2)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-6, atol=1e-7, err_msg=name)


def test_v1_loss_is_the_batch_sum(tmp_path):
    """TF1 reports the SUM-reduced batch loss (about batch size x the v2 loss) as ``loss``."""
    v1 = V1.DNNLinearCombinedClassifier(
        model_dir=str(tmp_path / "v1"), linear_feature_columns=WIDE, dnn_feature_columns=DEEP, dnn_hidden_units=[4]
    )
    v1.train(_input(), steps=3)
    v2 = te.DNNLinearCombinedClassifier(
        model_dir=str(tmp_path / "v2"), linear_feature_columns=WIDE, dnn_feature_columns=DEEP, dnn_hidden_units=[4],
        warm_start_from=str(tmp_path / "v1"),
    )  # fmt: skip
    evaluate = _input(epochs=1, shuffle=False, batch_size=100)  # 6 full batches
    r1 = v1.evaluate(evaluate)
    r2 = v2.evaluate(evaluate)
    assert r1["average_loss"] == pytest.approx(r2["average_loss"], rel=1e-6)
    assert r1["loss"] == pytest.approx(100 * r2["loss"], rel=1e-5)
    assert r1["auc"] == pytest.approx(r2["auc"], abs=1e-6)


def test_v1_one_sgd_step_is_batch_size_times_the_v2_step(tmp_path):
    x = {"x": np.array([[1.0], [2.0], [3.0], [4.0]], np.float32)}
    y = np.array([[1.0], [0.0], [2.0], [5.0]], np.float32)
    cols = [te.feature_column.numeric_column("x")]
    step = te.inputs.numpy_input_fn(x, y, batch_size=4, num_epochs=1, shuffle=False)
    v1 = V1.LinearRegressor(cols, model_dir=str(tmp_path / "v1"), optimizer=lambda: te.optimizers.SGD(0.01))
    v2 = te.LinearRegressor(cols, model_dir=str(tmp_path / "v2"), optimizer=lambda: te.optimizers.SGD(0.04))
    v1.train(step)
    v2.train(step)
    name = "linear/linear_model/x/weights"
    np.testing.assert_allclose(v1.get_variable_value(name), v2.get_variable_value(name), rtol=1e-6)


def test_v1_reductions_and_partitioners_are_checked():
    R = te.compat.v1.losses.Reduction
    assert V1.LinearClassifier(WIDE, loss_reduction=R.SUM_OVER_BATCH_SIZE)._head.loss_reduction == "sum_over_batch_size"
    with pytest.raises(ValueError, match="TF1's MEAN / SUM_BY_NONZERO_WEIGHTS"):
        V1.LinearClassifier(WIDE, loss_reduction=R.MEAN)
    with pytest.raises(ValueError, match="Invalid loss_reduction: none"):
        V1.LinearClassifier(WIDE, loss_reduction=R.NONE)
    with pytest.raises(ValueError, match="partitioner=.*not supported"):
        V1.LinearClassifier(WIDE, partitioner=object())


def test_left_out_names_say_why():
    with pytest.raises(AttributeError, match="FeedFnHook is not provided: it feeds TF1 placeholders"):
        te.estimator.FeedFnHook  # noqa: B018
    with pytest.raises(AttributeError, match="tpu is not provided"):
        V1.tpu  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchThing'"):
        te.estimator.NoSuchThing  # noqa: B018
