"""Every canned estimator trains, evaluates (TF's key sets) and predicts, on census and on
synthetic regression data; TF's argument errors; optimizer defaults."""

from __future__ import annotations

import re

import numpy as np
import pytest

import torch_estimator as te
from canned_head_keys import BINARY_EVAL, BINARY_PREDICT, MULTI_EVAL, MULTI_PREDICT, REGRESSION_EVAL
from torch_estimator._census import census_columns, census_features
from torch_estimator.datasets import load_census

fc = te.feature_column

CENSUS = load_census("train").sample(1500, random_state=0)
FEATURES, LABELS = census_features(CENSUS)
WIDE, DEEP = census_columns()


def _census_input(labels=LABELS, epochs=None, shuffle=True, batch_size=100):
    return te.inputs.numpy_input_fn(FEATURES, labels, batch_size=batch_size, num_epochs=epochs, shuffle=shuffle)


CLASSIFIERS = {
    "linear": lambda d, **kw: te.LinearClassifier(WIDE, model_dir=d, **kw),
    "dnn": lambda d, **kw: te.DNNClassifier([16, 8], DEEP, model_dir=d, **kw),
    "wide_deep": lambda d, **kw: te.DNNLinearCombinedClassifier(
        model_dir=d, linear_feature_columns=WIDE, dnn_feature_columns=DEEP, dnn_hidden_units=[16, 8], **kw
    ),
    "baseline": lambda d, **kw: te.BaselineClassifier(model_dir=d, **kw),
}


@pytest.mark.parametrize("kind", sorted(CLASSIFIERS))
def test_classifiers_on_census(tmp_path, kind):
    fast = {
        "dnn": {"optimizer": te.optimizers.Adagrad(0.1)},
        "wide_deep": {"dnn_optimizer": te.optimizers.Adagrad(0.1)},
    }.get(kind, {})
    est = CLASSIFIERS[kind](str(tmp_path), config=te.RunConfig(tf_random_seed=0), **fast)
    before = est.evaluate(_census_input(epochs=1, shuffle=False))
    est.train(_census_input(), steps=40)
    result = est.evaluate(_census_input(epochs=1, shuffle=False))
    assert sorted(result) == BINARY_EVAL and result["global_step"] == 40
    assert result["loss"] < before["loss"]
    if kind == "baseline":
        assert result["prediction/mean"] == pytest.approx(result["label/mean"], abs=0.2)
    if kind == "linear":
        assert result["auc"] > 0.8
    prediction = next(est.predict(_census_input(labels=None, epochs=1, shuffle=False)))
    assert sorted(prediction) == BINARY_PREDICT


@pytest.mark.parametrize("kind", sorted(CLASSIFIERS))
def test_multi_class_variants(tmp_path, kind):
    labels = np.digitize(FEATURES["age"], [30, 45]).astype(np.int64)
    est = CLASSIFIERS[kind](str(tmp_path), n_classes=3)
    est.train(_census_input(labels), steps=10)
    assert sorted(est.evaluate(_census_input(labels, epochs=1, shuffle=False))) == MULTI_EVAL
    assert sorted(next(est.predict(_census_input(None, epochs=1, shuffle=False)))) == MULTI_PREDICT
    logits_var = (
        "dnn/logits/kernel"
        if kind in ("dnn", "wide_deep")
        else ("linear/linear_model/bias_weights" if kind == "linear" else "baseline/bias")
    )
    assert est.get_variable_value(logits_var).shape[-1] == 3


RNG = np.random.default_rng(0)
REG_X = RNG.normal(size=(400, 3)).astype(np.float32)
REG_CAT = RNG.choice(["a", "b", "c"], 400)
REG_Y = np.stack([REG_X @ [1.0, -2.0, 0.5] + (REG_CAT == "a") * 2.0, REG_X[:, 0]], axis=1).astype(np.float32)
REG_COLS = [
    fc.numeric_column("x", shape=3),
    fc.indicator_column(fc.categorical_column_with_vocabulary_list("cat", ["a", "b", "c"])),
]
REGRESSORS = {
    "linear": lambda d, **kw: te.LinearRegressor(REG_COLS, model_dir=d, **kw),
    "dnn": lambda d, **kw: te.DNNRegressor([16], REG_COLS, model_dir=d, **kw),
    "wide_deep": lambda d, **kw: te.DNNLinearCombinedRegressor(
        model_dir=d, linear_feature_columns=REG_COLS, dnn_feature_columns=REG_COLS, dnn_hidden_units=[16], **kw
    ),
    "baseline": lambda d, **kw: te.BaselineRegressor(model_dir=d, **kw),
}


@pytest.mark.parametrize("kind", sorted(REGRESSORS))
def test_regressors_on_synthetic_data(tmp_path, kind):
    config = te.RunConfig(tf_random_seed=3)
    if kind == "wide_deep":
        est = REGRESSORS[kind](
            str(tmp_path),
            label_dimension=2,
            dnn_optimizer=te.optimizers.Adagrad(0.05),
            linear_optimizer=te.optimizers.Ftrl(0.05),
            config=config,
        )
    else:
        est = REGRESSORS[kind](str(tmp_path), label_dimension=2, optimizer=te.optimizers.SGD(0.05), config=config)
    features = {"x": REG_X, "cat": REG_CAT}
    evaluate = te.inputs.numpy_input_fn(features, REG_Y, batch_size=100, shuffle=False)
    before = est.evaluate(evaluate)["loss"]
    est.train(te.inputs.numpy_input_fn(features, REG_Y, batch_size=50, num_epochs=None, shuffle=True), steps=150)
    after = est.evaluate(evaluate)
    assert sorted(after) == REGRESSION_EVAL
    assert after["loss"] < before
    assert next(est.predict(te.inputs.numpy_input_fn(features, shuffle=False)))["predictions"].shape == (2,)


def test_estimators_with_heads(tmp_path):
    head = te.MultiLabelHead(2, name="ml")
    labels = np.stack([LABELS, (FEATURES["age"] > 40).astype(np.int64)], axis=1)
    for i, est in enumerate(
        [
            te.DNNEstimator(head, [8], DEEP, model_dir=str(tmp_path / "a")),
            te.LinearEstimator(head, WIDE, model_dir=str(tmp_path / "b")),
            te.DNNLinearCombinedEstimator(
                head,
                model_dir=str(tmp_path / "c"),
                linear_feature_columns=WIDE,
                dnn_feature_columns=DEEP,
                dnn_hidden_units=[8],
            ),
            te.BaselineEstimator(head, model_dir=str(tmp_path / "d")),
        ]
    ):
        est.train(_census_input(labels), steps=5)
        assert "auc/ml" in est.evaluate(_census_input(labels, epochs=1, shuffle=False), steps=2), i


def test_default_optimizers_and_learning_rates(tmp_path):
    est = te.DNNLinearCombinedClassifier(
        model_dir=str(tmp_path / "c"), linear_feature_columns=WIDE, dnn_feature_columns=DEEP, dnn_hidden_units=[4]
    )
    est.train(_census_input(), steps=3)
    assert est.get_variable_value("training/Adagrad/learning_rate") == pytest.approx(0.001)
    assert est.get_variable_value("training/Ftrl/learning_rate") == pytest.approx(min(0.005, 1 / np.sqrt(len(WIDE))))
    assert est.get_variable_value("training/Ftrl/iter") == 3 and est.get_variable_value("global_step") == 3
    linear = te.LinearClassifier(WIDE, model_dir=str(tmp_path / "l"))
    linear.train(_census_input(), steps=1)
    assert linear.get_variable_value("training/Ftrl/learning_rate") == pytest.approx(0.2)
    assert "training/Ftrl/iter" not in linear.get_variable_names()
    dnn = te.DNNClassifier([4], DEEP, model_dir=str(tmp_path / "d"))
    dnn.train(_census_input(), steps=1)
    assert dnn.get_variable_value("training/Adagrad/learning_rate") == pytest.approx(0.001)
    baseline = te.BaselineClassifier(model_dir=str(tmp_path / "b"))
    baseline.train(_census_input(), steps=1)
    assert baseline.get_variable_value("training/Ftrl/learning_rate") == pytest.approx(0.3)
    assert sorted(n for n in baseline.get_variable_names() if "baseline" in n) == [
        "baseline/bias",
        "training/Ftrl/baseline/bias/accumulator",
        "training/Ftrl/baseline/bias/linear",
    ]


def test_dropout_and_batch_norm_variables(tmp_path):
    est = te.DNNClassifier([4, 3], DEEP, model_dir=str(tmp_path), dropout=0.5, batch_norm=True)
    est.train(_census_input(), steps=2)
    names = est.get_variable_names()
    for v in ("beta", "gamma", "moving_mean", "moving_variance"):
        assert f"dnn/hiddenlayer_0/batchnorm_0/{v}" in names
    assert "training/Adagrad/dnn/hiddenlayer_0/batchnorm_0/gamma/accumulator" in names
    assert "training/Adagrad/dnn/hiddenlayer_0/batchnorm_0/moving_mean/accumulator" not in names


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="Either linear_feature_columns or dnn_feature_columns must be defined."):
        te.DNNLinearCombinedClassifier(model_dir=str(tmp_path))
    with pytest.raises(ValueError, match="dnn_hidden_units must be defined when dnn_feature_columns is specified."):
        te.DNNLinearCombinedClassifier(model_dir=str(tmp_path), dnn_feature_columns=DEEP)
    with pytest.raises(ValueError, match=re.escape("n_classes must be > 2: 1.")):
        te.DNNClassifier([4], DEEP, n_classes=1)
    with pytest.raises(ValueError, match=re.escape("Unsupported optimizer name: Nope.")):
        te.LinearClassifier(WIDE, model_dir=str(tmp_path / "x"), optimizer="Nope").train(_census_input(), steps=1)
    with pytest.raises(ValueError, match="Items of feature_columns must be a DenseColumn"):
        te.DNNClassifier([4], WIDE, model_dir=str(tmp_path / "y")).train(_census_input(), steps=1)
