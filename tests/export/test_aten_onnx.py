"""The program written as ONNX directly (``_aten_onnx``): canned models and the operators it
knows take it; any other operator, or a translation that does not match the model, falls back
to torch.onnx.export; either way the export predicts what predict() does."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

import torch_estimator as te
from torch_estimator.export import _aten_onnx

fc = te.feature_column
RNG = np.random.default_rng(5)
N = 48
FEATURES = {
    "x": RNG.normal(0, 2, (N, 3)).astype(np.float32),
    "n": RNG.integers(0, 5, (N, 1)).astype(np.int64),
    "word": RNG.choice(["a", "b", "c"], (N, 1)).astype(object),
}
LABELS = (FEATURES["x"][:, 0] > 0).astype(np.float32)
FALLBACK = "exported with torch.onnx.export"


def _many_ops_model_fn(features, labels, mode):
    """A model_fn using many of the operators the translator writes."""
    x = features["x"]
    n = features["n"].to(torch.float32)
    words = fc.DenseFeatures([fc.indicator_column(fc.categorical_column_with_vocabulary_list("word", ["a", "b"]))])(
        features
    )
    h = torch.cat([x, n, words], dim=1)
    h = te.layers.dense(h, 4, name="hidden")
    h = torch.where(h > 0.5, torch.tanh(h), torch.sigmoid(h) - 1.0)
    h = torch.clamp(h, -0.9, 0.9) + torch.log1p(torch.abs(x[:, :1])) * torch.rsqrt(n + 1.0)
    h = h / (1.0 + torch.exp(-h)) - torch.sqrt(torch.abs(h) + 1.0)
    pooled = torch.sum(h, dim=1, keepdim=True) + torch.mean(h[:, 1:3], dim=1, keepdim=True)
    expanded = pooled.expand(-1, 2).reshape(-1, 2) * torch.arange(2, dtype=torch.float32)
    logits = te.layers.dense(torch.cat([h, expanded], dim=1), 1, name="logits")
    head = te.BinaryClassHead()
    return head.create_estimator_spec(features, mode, logits, labels=labels, optimizer=te.optimizers.Adagrad(0.1))


def _erf_model_fn(features, labels, mode):
    """A model_fn with an operator the translator does not write (erf)."""
    logits = te.layers.dense(torch.erf(features["x"]), 1, name="logits")
    head = te.RegressionHead()
    return head.create_estimator_spec(features, mode, logits, labels=labels, optimizer=te.optimizers.Adagrad(0.1))


def _assert_serves_what_predict_gives(estimator, path, features) -> None:
    served = te.saved_model.load(path).run_features(features)
    predicted = list(estimator.predict(te.inputs.numpy_input_fn(features, batch_size=N, shuffle=False)))
    for key in predicted[0]:
        want = np.stack([p[key] for p in predicted])
        if want.dtype == object:
            assert served[key].tolist() == want.tolist(), key
        else:
            np.testing.assert_allclose(served[key], want, rtol=1e-5, atol=1e-6, err_msg=key)


def _export_and_compare(model_fn, tmp_path, caplog, labels=LABELS):
    estimator = te.Estimator(model_fn, model_dir=str(tmp_path / "model"))
    estimator.train(te.inputs.numpy_input_fn(FEATURES, labels, batch_size=16, num_epochs=None, shuffle=True), steps=3)
    receiver = te.export.build_raw_serving_input_receiver_fn({k: v[:2] for k, v in FEATURES.items()})
    with caplog.at_level(logging.INFO, logger="torch_estimator"):
        path = estimator.export_saved_model(str(tmp_path / "export"), receiver)
    _assert_serves_what_predict_gives(estimator, path, FEATURES)
    return [r.getMessage() for r in caplog.records if FALLBACK in r.getMessage()]


def test_the_operators_it_knows_are_written_directly(tmp_path, caplog):
    assert _export_and_compare(_many_ops_model_fn, tmp_path, caplog) == []


def test_an_operator_it_does_not_know_falls_back_to_torch_onnx(tmp_path, caplog):
    fallbacks = _export_and_compare(_erf_model_fn, tmp_path, caplog, labels=LABELS[:, None])
    assert len(fallbacks) == 1 and "aten.erf" in fallbacks[0]


def test_a_translation_that_does_not_match_the_model_falls_back(tmp_path, caplog, monkeypatch):
    wrong = _aten_onnx._unary("Sigmoid")  # tanh written as sigmoid
    monkeypatch.setitem(_aten_onnx._RULES, torch.ops.aten.tanh.default, wrong)
    fallbacks = _export_and_compare(_many_ops_model_fn, tmp_path, caplog)
    assert len(fallbacks) == 1 and "differs from the model's on random inputs" in fallbacks[0]


@pytest.mark.parametrize(
    "build",
    [
        lambda d, c: te.DNNLinearCombinedClassifier(
            model_dir=d, linear_feature_columns=c, dnn_feature_columns=c[:1], dnn_hidden_units=[4], n_classes=3
        ),
        lambda d, c: te.LinearRegressor(c, model_dir=d, label_dimension=2),
        lambda d, c: te.DNNClassifier([4], c[:1], model_dir=d, batch_norm=True, label_vocabulary=["no", "yes"]),
    ],
)
def test_canned_estimators_are_written_directly(tmp_path, caplog, build):
    columns = [fc.numeric_column("x", shape=(3,)), fc.categorical_column_with_identity("n", 5)]
    estimator = build(str(tmp_path / "model"), columns)
    labels = {
        te.DNNLinearCombinedClassifier: FEATURES["n"][:, 0] % 3,
        te.LinearRegressor: FEATURES["x"][:, :2],
        te.DNNClassifier: np.array(["no", "yes"], dtype=object)[(FEATURES["x"][:, 0] > 0).astype(int)],
    }[type(estimator)]
    estimator.train(te.inputs.numpy_input_fn(FEATURES, labels, batch_size=16, num_epochs=None, shuffle=True), steps=3)
    receiver = te.export.build_raw_serving_input_receiver_fn({k: FEATURES[k][:2] for k in ("x", "n")})
    with caplog.at_level(logging.INFO, logger="torch_estimator"):
        path = estimator.export_saved_model(str(tmp_path / "export"), receiver)
    assert not [r for r in caplog.records if FALLBACK in r.getMessage()]
    _assert_serves_what_predict_gives(estimator, path, {k: FEATURES[k] for k in ("x", "n")})


def _promotion_model_fn(features, labels, mode):
    """Comparisons torch promotes in ways a naive promotion would not (a 0-dim float64 tensor
    against float32, a bool tensor against an int), and log1p of tiny values."""
    x = features["x"]
    positive = x > 0
    parts = [
        (x == torch.tensor(0.1, dtype=torch.float64)).to(torch.float32),
        (x > torch.tensor(0.5, dtype=torch.float64)).to(torch.float32),
        (positive == 2).to(torch.float32),  # compared as int64: never true
        torch.log1p(x * 1e-9) * 1e9,  # ~x, which log(1 + x) would round to 0
    ]
    logits = te.layers.dense(torch.cat(parts, dim=1), 1, name="logits")
    head = te.RegressionHead()
    return head.create_estimator_spec(features, mode, logits, labels=labels, optimizer=te.optimizers.Adagrad(0.1))


def test_promotions_and_precision_follow_torch(tmp_path, caplog):
    exact = FEATURES["x"].copy()
    exact[:4, 0] = np.float32(0.1)  # equal to float64 0.1 once torch compares in float32
    features = {**FEATURES, "x": exact}
    estimator = te.Estimator(_promotion_model_fn, model_dir=str(tmp_path / "model"))
    estimator.train(
        te.inputs.numpy_input_fn(features, LABELS[:, None], batch_size=16, num_epochs=None, shuffle=True), steps=3
    )
    receiver = te.export.build_raw_serving_input_receiver_fn({"x": exact[:2]})
    with caplog.at_level(logging.INFO, logger="torch_estimator"):
        path = estimator.export_saved_model(str(tmp_path / "export"), receiver)
    assert not [r for r in caplog.records if FALLBACK in r.getMessage()]
    _assert_serves_what_predict_gives(estimator, path, {"x": exact})


def test_a_torch_onnx_program_that_does_not_match_the_model_is_refused(tmp_path, monkeypatch):
    # Without its own rule for log1p, the program goes to torch.onnx.export, which writes
    # log(1 + x): 0 for x * 1e-9, where the model computes ~x.
    monkeypatch.delitem(_aten_onnx._RULES, torch.ops.aten.log1p.default)
    estimator = te.Estimator(_promotion_model_fn, model_dir=str(tmp_path / "model"))
    estimator.train(
        te.inputs.numpy_input_fn(FEATURES, LABELS[:, None], batch_size=16, num_epochs=None, shuffle=True), steps=3
    )
    receiver = te.export.build_raw_serving_input_receiver_fn({"x": FEATURES["x"][:2]})
    with pytest.raises(te.export.NotExportableError, match="differs from the model_fn's on random inputs"):
        estimator.export_saved_model(str(tmp_path / "export"), receiver)
