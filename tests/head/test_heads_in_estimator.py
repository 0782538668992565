"""Heads inside custom model_fns run by an Estimator: training, TF's eval key sets, logits_input."""

from __future__ import annotations

import copy
import pickle
import re

import numpy as np
import pytest
import torch

import torch_estimator as te
from canned_head_keys import BINARY_EVAL, BINARY_PREDICT

RNG = np.random.default_rng(0)
N = 240
X = RNG.normal(size=(N, 3)).astype(np.float32)
SCORE = X @ np.array([1.5, -1.0, 0.5], dtype=np.float32)
W = RNG.uniform(0.5, 2.0, size=(N, 1)).astype(np.float32)

BINARY = (SCORE > 0).astype(np.float32)[:, None]
MULTI = np.digitize(SCORE, [-0.7, 0.7]).astype(np.int64)[:, None]
MULTI_LABEL = np.stack([SCORE > 0, X[:, 1] > 0, X[:, 2] > 0.3], axis=1).astype(np.int64)
REGRESSION = np.stack([SCORE, 0.5 * SCORE + 1], axis=1).astype(np.float32)
PROBABILITY = (1 / (1 + np.exp(-SCORE)))[:, None].astype(np.float32)
COUNTS = RNG.poisson(np.exp(0.3 * SCORE)).astype(np.float32)[:, None]


CASES = {
    "binary": (lambda: te.BinaryClassHead(), BINARY, BINARY_EVAL, BINARY_PREDICT),
    "binary_weighted_vocab": (
        lambda: te.BinaryClassHead(weight_column="w", label_vocabulary=["neg", "pos"]),
        np.where(BINARY > 0, "pos", "neg"),
        BINARY_EVAL,
        BINARY_PREDICT,
    ),
    "binary_named_thresholds": (
        lambda: te.BinaryClassHead(thresholds=[0.3, 0.5], name="bh"),
        BINARY,
        [
            "accuracy/bh",
            "accuracy/positive_threshold_0.3/bh",
            "accuracy/positive_threshold_0.5/bh",
            "accuracy_baseline/bh",
            "auc/bh",
            "auc_precision_recall/bh",
            "average_loss/bh",
            "global_step",
            "label/mean/bh",
            "loss",
            "precision/bh",
            "precision/positive_threshold_0.3/bh",
            "precision/positive_threshold_0.5/bh",
            "prediction/mean/bh",
            "recall/bh",
            "recall/positive_threshold_0.3/bh",
            "recall/positive_threshold_0.5/bh",
        ],
        BINARY_PREDICT,
    ),
    "multi_class": (
        lambda: te.MultiClassHead(3, name="mh"),
        MULTI,
        ["accuracy/mh", "average_loss/mh", "global_step", "loss"],
        ["all_class_ids", "all_classes", "class_ids", "classes", "logits", "probabilities"],
    ),
    "multi_label": (
        lambda: te.MultiLabelHead(3, thresholds=[0.5], classes_for_class_based_metrics=[0, 2]),
        MULTI_LABEL,
        [
            "accuracy/positive_threshold_0.5",
            "auc",
            "auc/class0",
            "auc/class2",
            "auc_precision_recall",
            "auc_precision_recall/class0",
            "auc_precision_recall/class2",
            "average_loss",
            "global_step",
            "loss",
            "precision/positive_threshold_0.5",
            "probability_mean/class0",
            "probability_mean/class2",
            "recall/positive_threshold_0.5",
        ],
        ["classes", "logits", "probabilities"],
    ),
    "multi_label_vocab": (
        lambda: te.MultiLabelHead(3, label_vocabulary=["a", "b", "c"], classes_for_class_based_metrics=["a", "c"]),
        MULTI_LABEL,
        [
            "auc",
            "auc/a",
            "auc/c",
            "auc_precision_recall",
            "auc_precision_recall/a",
            "auc_precision_recall/c",
            "average_loss",
            "global_step",
            "loss",
            "probability_mean/a",
            "probability_mean/c",
        ],
        ["classes", "logits", "probabilities"],
    ),
    "regression": (
        lambda: te.RegressionHead(label_dimension=2, name="r2"),
        REGRESSION,
        ["average_loss/r2", "global_step", "label/mean/r2", "loss", "prediction/mean/r2"],
        ["predictions"],
    ),
    "logistic_regression": (
        lambda: te.LogisticRegressionHead(),
        PROBABILITY,
        ["average_loss", "global_step", "label/mean", "loss", "prediction/mean"],
        ["logits", "predictions"],
    ),
    "poisson_regression": (
        lambda: te.PoissonRegressionHead(),
        COUNTS,
        ["average_loss", "global_step", "label/mean", "loss", "prediction/mean"],
        ["logits", "predictions"],
    ),
}


def _model_fn(make_head):
    def model_fn(features, labels, mode):
        head = make_head()
        hidden = te.layers.dense(features["x"], 16, activation="relu", name="hidden")
        logits = te.layers.dense(hidden, head.logits_dimension, name="logits")
        return head.create_estimator_spec(
            features=features,
            mode=mode,
            labels=labels,
            optimizer=te.optimizers.Adagrad(learning_rate=0.3),
            logits=logits,
        )

    return model_fn


@pytest.mark.parametrize("case", sorted(CASES))
def test_head_trains_in_estimator_with_tf_key_sets(tmp_path, case):
    make_head, labels, eval_keys, predict_keys = CASES[case]
    est = te.Estimator(_model_fn(make_head), model_dir=str(tmp_path), config=te.RunConfig(tf_random_seed=1))
    features = {"x": X, "w": W}
    eval_input = te.inputs.numpy_input_fn(features, labels, batch_size=64, shuffle=False)
    before = est.evaluate(eval_input)
    est.train(te.inputs.numpy_input_fn(features, labels, batch_size=32, num_epochs=None, shuffle=True), steps=150)
    after = est.evaluate(eval_input)
    assert sorted(after) == eval_keys
    assert after["loss"] < before["loss"]
    prediction = next(est.predict(te.inputs.numpy_input_fn({"x": X[:4], "w": W[:4]}, shuffle=False)))
    assert sorted(prediction) == predict_keys


def test_binary_head_learns_census_like_task(tmp_path):
    est = te.Estimator(_model_fn(te.BinaryClassHead), model_dir=str(tmp_path), config=te.RunConfig(tf_random_seed=2))
    est.train(te.inputs.numpy_input_fn({"x": X}, BINARY, batch_size=32, num_epochs=None, shuffle=True), steps=300)
    result = est.evaluate(te.inputs.numpy_input_fn({"x": X}, BINARY, shuffle=False))
    assert result["accuracy"] > 0.9 and result["auc"] > 0.95
    assert result["accuracy_baseline"] == pytest.approx(max(BINARY.mean(), 1 - BINARY.mean()), rel=1e-6)
    assert result["label/mean"] == pytest.approx(BINARY.mean(), rel=1e-6)
    first = next(est.predict(te.inputs.numpy_input_fn({"x": X[:1]}, shuffle=False)))
    assert first["classes"].dtype == object and first["classes"][0] in (b"0", b"1")
    assert first["all_classes"].tolist() == [b"0", b"1"]
    assert first["class_ids"].dtype == np.int64 and first["all_class_ids"].dtype == np.int32


def test_multi_head_trains_with_dict_labels_and_tuple_prediction_keys(tmp_path):
    def model_fn(features, labels, mode):
        head = te.MultiHead([te.BinaryClassHead(name="h1"), te.RegressionHead(name="h2")], head_weights=[1.0, 0.5])
        logits = te.layers.dense(te.layers.dense(features["x"], 8, activation="relu"), head.logits_dimension)
        return head.create_estimator_spec(features, mode, logits, labels, optimizer="Adagrad")

    est = te.Estimator(model_fn, model_dir=str(tmp_path))
    labels = {"h1": BINARY, "h2": SCORE[:, None].astype(np.float32)}
    est.train(te.inputs.numpy_input_fn({"x": X}, labels, batch_size=40, num_epochs=None, shuffle=True), steps=20)
    result = est.evaluate(te.inputs.numpy_input_fn({"x": X}, labels, shuffle=False))
    assert sorted(result) == [
        "accuracy/h1",
        "accuracy_baseline/h1",
        "auc/h1",
        "auc_precision_recall/h1",
        "average_loss/h1",
        "average_loss/h2",
        "global_step",
        "label/mean/h1",
        "label/mean/h2",
        "loss",
        "loss/h1",
        "loss/h2",
        "precision/h1",
        "prediction/mean/h1",
        "prediction/mean/h2",
        "recall/h1",
    ]
    prediction = next(est.predict(te.inputs.numpy_input_fn({"x": X[:2]}, shuffle=False)))
    assert sorted(prediction) == [("h1", k) for k in BINARY_PREDICT] + [("h2", "predictions")]
    only = next(
        est.predict(te.inputs.numpy_input_fn({"x": X[:2]}, shuffle=False), predict_keys=[("h2", "predictions")])
    )
    assert list(only) == [("h2", "predictions")]


def test_logits_input_builds_the_head_logits_layer_and_restores_it(tmp_path):
    def model_fn(features, labels, mode):
        head = te.heads.regression_head(label_dimension=1)
        hidden = te.layers.dense(features["x"], 8, activation="relu", name="hidden")
        train_op_fn = lambda loss: te.optimizers.SGD(0.05).minimize(loss)  # noqa: E731
        return head.create_model_fn_ops(features, mode, labels, train_op_fn=train_op_fn, logits_input=hidden)

    est = te.Estimator(model_fn, model_dir=str(tmp_path), config=te.RunConfig(tf_random_seed=3))
    y = SCORE[:, None].astype(np.float32)
    eval_input = te.inputs.numpy_input_fn({"x": X}, y, shuffle=False)
    before = est.evaluate(eval_input)["loss"]
    est.train(te.inputs.numpy_input_fn({"x": X}, y, batch_size=32, num_epochs=None, shuffle=True), steps=100)
    after = est.evaluate(eval_input)
    assert after["loss"] < before * 0.5
    names = est.get_variable_names()
    assert "regression_head/logits/kernel" in names and "regression_head/logits/bias" in names
    kernel = est.get_variable_value("regression_head/logits/kernel")
    assert kernel.shape == (8, 1)
    restored = te.Estimator(model_fn, model_dir=str(tmp_path))
    assert restored.evaluate(eval_input)["loss"] == after["loss"]


def test_logits_input_errors():
    head = te.BinaryClassHead(name="b")
    store = te.VariableStore()
    with store.activate():
        with pytest.raises(ValueError, match="Neither logits nor logits_input supplied."):
            head.create_model_fn_ops({}, te.ModeKeys.PREDICT)
        with pytest.raises(ValueError, match="Both logits and logits_input supplied."):
            head.create_model_fn_ops({}, te.ModeKeys.PREDICT, logits=torch.zeros(2, 1), logits_input=torch.zeros(2, 3))
        with pytest.raises(ValueError, match="train_op_fn can not be None in TRAIN mode"):
            head.create_model_fn_ops({}, te.ModeKeys.TRAIN, labels=torch.zeros(2, 1), logits_input=torch.zeros(2, 3))
        ops = head.create_model_fn_ops({}, te.ModeKeys.PREDICT, logits_input=torch.zeros(2, 3))
    assert isinstance(ops, te.heads.ModelFnOps) and "b/logits/kernel" in store.variables()
    spec = ops.estimator_spec()
    assert isinstance(spec, te.EstimatorSpec) and spec.mode == te.ModeKeys.PREDICT
    assert set(spec.export_outputs) == {"serving_default", "classification", "regression", "predict"}
    from torch_estimator.head._contrib import logits_from_input

    with pytest.raises(ValueError, match="Invalid logits_dimension 0."):
        logits_from_input(0, None, torch.zeros(1, 1), "s")


def test_model_fn_ops_fields_validation_and_copies():
    ops = te.heads.ModelFnOps(
        te.ModeKeys.EVAL, loss=torch.tensor([[2.0]]), eval_metric_ops={"m": te.metrics.mean([1.0, 3.0])}
    )
    assert ops._fields == (
        "predictions",
        "loss",
        "train_op",
        "eval_metric_ops",
        "output_alternatives",
        "training_chief_hooks",
        "training_hooks",
        "scaffold",
        "mode",
    )
    assert ops.mode == te.ModeKeys.EVAL and ops.loss.shape == () and ops.output_alternatives is None
    with pytest.raises(ValueError, match="Missing loss."):
        te.heads.ModelFnOps(te.ModeKeys.EVAL)
    for copied in (copy.copy(ops), pickle.loads(pickle.dumps(ops))):
        assert copied.mode == ops.mode and copied.loss.item() == 2.0
        assert copied.eval_metric_ops["m"].result().item() == 2.0
    spec = ops.estimator_spec()
    assert spec.eval_metric_ops["m"] is ops.eval_metric_ops["m"] and spec.loss.item() == 2.0


def test_no_op_train_fn_leaves_variables_unchanged(tmp_path):
    def model_fn(features, labels, mode):
        logits = te.layers.dense(features["x"], 1)
        return te.heads.logistic_regression_head().create_estimator_spec(
            features, mode, logits, labels, train_op_fn=te.heads.no_op_train_fn
        )

    est = te.Estimator(model_fn, model_dir=str(tmp_path))
    est.train(te.inputs.numpy_input_fn({"x": X}, PROBABILITY, batch_size=32, shuffle=False), steps=3)
    first = est.get_variable_value("dense/kernel")
    est.train(te.inputs.numpy_input_fn({"x": X}, PROBABILITY, batch_size=32, shuffle=False), steps=3)
    np.testing.assert_array_equal(first, est.get_variable_value("dense/kernel"))
    assert est.get_variable_value("global_step") == 6


def test_factories_validate_loss_reduction():
    for factory in (
        te.heads.logistic_regression_head,
        te.heads.regression_head,
        te.heads.binary_classification_head,
        te.heads.poisson_regression_head,
    ):
        with pytest.raises(
            ValueError, match=re.escape("Invalid loss_reduction: none. See `tf.losses.Reduction` for valid options.")
        ):
            factory(loss_reduction="none")
    assert te.heads.multi_class_head(4).logits_dimension == 4
    assert te.heads.multi_label_head(2).logits_dimension == 2


class TestSpecErrors:
    def _run(self, **kwargs):
        head = te.BinaryClassHead()
        store = te.VariableStore()
        with store.activate():
            logits = te.layers.dense(torch.ones(2, 3), 1)
            return head.create_estimator_spec({}, te.ModeKeys.TRAIN, logits, torch.ones(2, 1), **kwargs)

    def test_optimizer_and_train_op_fn(self):
        with pytest.raises(ValueError, match="train_op_fn and optimizer cannot both be set."):
            self._run(optimizer="SGD", train_op_fn=lambda loss: None)
        with pytest.raises(ValueError, match="train_op_fn and optimizer cannot both be None."):
            self._run()

    def test_trainable_variables_and_update_ops_types(self):
        with pytest.raises(
            ValueError, match="trainable_variables should be a list or a tuple. Given type: <class 'set'>."
        ):
            self._run(optimizer="SGD", trainable_variables=set())
        with pytest.raises(ValueError, match="update_ops should be a list or a tuple. Given type: <class 'str'>."):
            self._run(optimizer="SGD", update_ops="x")

    def test_update_ops_run_with_the_train_op(self):
        calls = []
        spec = self._run(optimizer="SGD", update_ops=[lambda: calls.append(1)])
        spec.train_op()
        assert calls == [1]


def test_loss_fn_argument_rules():
    with pytest.raises(
        ValueError, match=re.escape("loss_fn must contain argument: logits. Given arguments: ('labels',)")
    ):
        te.BinaryClassHead(loss_fn=lambda labels: labels)
    with pytest.raises(ValueError, match=re.escape("loss_fn has unexpected args: ['extra']")):
        te.RegressionHead(loss_fn=lambda labels, logits, extra: labels)
    seen = {}

    def loss_fn(labels, logits, features):
        seen["features"] = features
        return (labels - logits).abs()

    head = te.RegressionHead(loss_fn=loss_fn)
    loss = head.loss(torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [0.0]]), {"f": 1})
    assert float(loss) == 2.0 and seen["features"] == {"f": 1}
    bad = te.RegressionHead(loss_fn=lambda labels, logits: (labels - logits).sum())
    with pytest.raises(ValueError, match=re.escape("loss_fn must return Tensor of shape [D0, D1, ... DN, 1].")):
        bad.loss(torch.ones(2, 1), torch.zeros(2, 1))


def test_weight_column_type_and_numeric_weights():
    with pytest.raises(TypeError, match="Weight column must be either a string or _NumericColumn."):
        te.BinaryClassHead(weight_column=3)
    head = te.BinaryClassHead(weight_column="w", loss_reduction="sum")
    with pytest.raises(ValueError, match="Weight column should be castable to float."):
        head.loss(torch.ones(2, 1), torch.zeros(2, 1), {"w": np.array(["a", "b"])})
    loss = head.loss(torch.ones(2, 1), torch.zeros(2, 1), {"w": np.array([1, 3])})
    assert float(loss) == pytest.approx(4 * np.log(2), rel=1e-6)


def test_soft_labels_and_logistic_range_errors():
    head = te.BinaryClassHead()
    soft = head.loss(torch.tensor([[0.25]]), torch.tensor([[0.0]]))
    assert float(soft) == pytest.approx(np.log(2), rel=1e-6)
    with pytest.raises(
        ValueError,
        match=re.escape("Labels must be in range [0, 1] for LogisticRegressionHead; got labels in [-0.5, 1.7]."),
    ):
        te.LogisticRegressionHead().loss(torch.tensor([[1.7], [-0.5]]), torch.zeros(2, 1))


def test_multi_label_accepts_per_example_id_lists():
    head = te.MultiLabelHead(3, label_vocabulary=["a", "b", "c"])
    dense = head.loss(torch.tensor([[1, 0, 1], [0, 0, 0]]), torch.zeros(2, 3))
    ragged = head.loss([["a", "c"], []], torch.zeros(2, 3))
    assert float(dense) == float(ragged)
    ids = te.MultiLabelHead(3).loss([[0, 2], []], torch.zeros(2, 3))
    assert float(ids) == float(dense)
    with pytest.raises(ValueError, match=re.escape("labels must be an integer SparseTensor with values in [0, 3)")):
        te.MultiLabelHead(3).loss([[0, 5], [1]], torch.zeros(2, 3))


def test_exact_auc_metric_matches_sklearn():
    from sklearn.metrics import roc_auc_score

    metric = te.metrics.ExactAUC()
    scores = 1 / (1 + np.exp(-SCORE + RNG.normal(size=N)))
    metric.update_state(BINARY[:100], scores[:100, None], W[:100])
    other = te.metrics.ExactAUC()
    other.update_state(BINARY[100:], scores[100:, None], W[100:])
    metric.merge_state(other)
    assert float(metric.result()) == pytest.approx(
        roc_auc_score(BINARY.ravel(), scores, sample_weight=W.ravel()), rel=1e-12
    )


def test_add_metrics_reports_exact_auc_next_to_tf_auc(tmp_path):
    est = te.Estimator(_model_fn(te.BinaryClassHead), model_dir=str(tmp_path), config=te.RunConfig(tf_random_seed=4))
    est.train(te.inputs.numpy_input_fn({"x": X}, BINARY, batch_size=32, num_epochs=None, shuffle=True), steps=30)

    def exact_auc(labels, predictions):
        return {"auc_exact": te.metrics.ExactAUC().updated(labels, predictions["logistic"])}

    with_exact = te.add_metrics(est, exact_auc)
    assert with_exact.model_dir == est.model_dir
    result = with_exact.evaluate(te.inputs.numpy_input_fn({"x": X}, BINARY, batch_size=50, shuffle=False))
    from sklearn.metrics import roc_auc_score

    scores = np.concatenate([p["logistic"] for p in est.predict(te.inputs.numpy_input_fn({"x": X}, shuffle=False))])
    assert result["auc_exact"] == pytest.approx(roc_auc_score(BINARY.ravel(), scores), rel=1e-6)
    assert result["auc"] == pytest.approx(result["auc_exact"], abs=0.01)
    with pytest.raises(ValueError, match="has following not expected args: \\['mode'\\]"):
        te.add_metrics(est, lambda labels, mode: {})


def test_sparse_labels_and_bad_optimizer_are_rejected():
    sparse = torch.tensor([[1.0], [0.0]]).to_sparse()
    with pytest.raises(
        ValueError,
        match=re.escape("SparseTensor labels are not supported. Labels must be a Tensor of shape [D0, D1, ..., DN, 1]"),
    ):
        te.BinaryClassHead().loss(sparse, torch.zeros(2, 1))
    store = te.VariableStore()
    with store.activate():
        logits = te.layers.dense(torch.ones(2, 3), 1)
        with pytest.raises(ValueError, match="The given optimizer is not a torch_estimator optimizer. Given: 3"):
            te.BinaryClassHead().create_estimator_spec({}, te.ModeKeys.TRAIN, logits, torch.ones(2, 1), optimizer=3)
