"""EstimatorSpec and ExportOutput validation (spec sections 1.1, 2.6 and 3)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import torch_estimator as te

TRAIN, EVAL, PREDICT = te.ModeKeys.TRAIN, te.ModeKeys.EVAL, te.ModeKeys.PREDICT
FIELDS = (
    "mode",
    "predictions",
    "loss",
    "train_op",
    "eval_metric_ops",
    "export_outputs",
    "training_chief_hooks",
    "training_hooks",
    "scaffold",
    "evaluation_hooks",
    "prediction_hooks",
)


def _train_op():
    return None


def _loss():
    return torch.tensor(0.5)


# -- structure ------------------------------------------------------------------------------------


def test_field_order_matches_tf():
    assert te.EstimatorSpec._fields == FIELDS


def test_is_a_namedtuple():
    spec = te.EstimatorSpec(EVAL, loss=_loss())
    assert isinstance(spec, tuple)
    assert len(spec) == len(FIELDS)
    assert spec[0] == EVAL
    assert list(spec._asdict()) == list(FIELDS)


def test_positional_arguments_follow_field_order():
    preds = {"y": torch.ones(2, 1)}
    loss = torch.tensor(1.5)
    spec = te.EstimatorSpec(TRAIN, preds, loss, _train_op)
    assert spec.mode == TRAIN
    assert spec.predictions is preds
    assert spec.loss.item() == 1.5
    assert spec.train_op is _train_op


def test_defaults_of_optional_fields():
    spec = te.EstimatorSpec(EVAL, loss=_loss())
    assert spec.predictions == {}
    assert spec.train_op is None
    assert spec.eval_metric_ops == {}
    assert spec.scaffold is None
    for field in ("training_chief_hooks", "training_hooks", "evaluation_hooks", "prediction_hooks"):
        assert list(getattr(spec, field)) == []


def test_mode_cannot_be_changed_by_replace():
    spec = te.EstimatorSpec(EVAL, loss=_loss())
    with pytest.raises(ValueError, match=re.escape("mode of EstimatorSpec cannot be changed.")):
        spec._replace(mode=PREDICT)


def test_replace_revalidates():
    spec = te.EstimatorSpec(EVAL, loss=_loss())
    with pytest.raises(ValueError, match=re.escape("Loss must be scalar, given: ")):
        spec._replace(loss=torch.ones(3))
    new = spec._replace(loss=torch.tensor([[4.0]]))
    assert new.loss.shape == ()
    assert new.loss.item() == 4.0


# -- required fields per mode ---------------------------------------------------------------------


def test_train_requires_train_op():
    with pytest.raises(ValueError, match=re.escape("Missing train_op.")):
        te.EstimatorSpec(TRAIN, loss=_loss())


def test_train_with_neither_reports_train_op_first():
    with pytest.raises(ValueError, match=re.escape("Missing train_op.")):
        te.EstimatorSpec(TRAIN)


def test_train_requires_loss():
    with pytest.raises(ValueError, match=re.escape("Missing loss.")):
        te.EstimatorSpec(TRAIN, train_op=_train_op)


def test_eval_requires_loss():
    with pytest.raises(ValueError, match=re.escape("Missing loss.")):
        te.EstimatorSpec(EVAL, predictions={"y": torch.ones(1)})


def test_predict_requires_predictions():
    with pytest.raises(ValueError, match=re.escape("Missing predictions.")):
        te.EstimatorSpec(PREDICT, loss=_loss())


def test_minimal_valid_specs():
    assert te.EstimatorSpec(TRAIN, loss=_loss(), train_op=_train_op).train_op is _train_op
    assert te.EstimatorSpec(EVAL, loss=_loss()).loss.item() == 0.5
    spec = te.EstimatorSpec(PREDICT, predictions={"y": torch.ones(2)})
    assert spec.loss is None
    assert spec.train_op is None


# -- loss -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2,), (1, 2), (2, 2), (0,)])
def test_loss_must_have_one_element(shape):
    with pytest.raises(ValueError, match=re.escape("Loss must be scalar, given: ")):
        te.EstimatorSpec(EVAL, loss=torch.ones(shape))


@pytest.mark.parametrize("shape", [(), (1,), (1, 1), (1, 1, 1)])
def test_one_element_loss_is_reshaped_to_scalar(shape):
    loss = torch.full(shape, 3.25)
    spec = te.EstimatorSpec(EVAL, loss=loss)
    assert spec.loss.shape == torch.Size([])
    assert spec.loss.item() == 3.25


def test_reshaped_loss_keeps_gradient():
    w = torch.tensor([[2.0]], requires_grad=True)
    spec = te.EstimatorSpec(TRAIN, loss=w * 3.0, train_op=_train_op)
    spec.loss.backward()
    assert w.grad.item() == 3.0


# -- eval_metric_ops ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [[1, 2], "acc", 3.0])
def test_eval_metric_ops_must_be_a_dict(bad):
    with pytest.raises(TypeError, match=re.escape(f"eval_metric_ops must be a dict, given: {bad}")):
        te.EstimatorSpec(EVAL, loss=_loss(), eval_metric_ops=bad)


def test_metric_not_updated_raises():
    metric = te.metrics.Mean(name="my_mean")
    with pytest.raises(ValueError, match=re.escape('Please call update_state(...) on the "my_mean" metric')):
        te.EstimatorSpec(EVAL, loss=_loss(), eval_metric_ops={"m": metric})


def test_metric_reset_counts_as_not_updated():
    metric = te.metrics.mean(torch.ones(3), name="avg")
    metric.reset_state()
    with pytest.raises(ValueError, match=re.escape('Please call update_state(...) on the "avg" metric')):
        te.EstimatorSpec(EVAL, loss=_loss(), eval_metric_ops={"m": metric})


@pytest.mark.parametrize(
    "bad",
    [
        (1.0, 2.0, 3.0),
        (1.0,),
        0.5,
        torch.tensor(0.5),
    ],
    ids=["3-tuple", "1-tuple", "float", "tensor"],
)
def test_bad_eval_metric_value_raises(bad):
    message = f"Values of eval_metric_ops must be (metric_value, update_op) tuples, given: {bad} for key: acc"
    with pytest.raises(TypeError, match=re.escape(message)):
        te.EstimatorSpec(EVAL, loss=_loss(), eval_metric_ops={"acc": bad})


def test_tf1_value_and_update_op_pairs_are_accepted():
    # The official custom-estimator sample: accuracy = tf.compat.v1.metrics.accuracy(...);
    # tf.summary.scalar("accuracy", accuracy[1]); eval_metric_ops={"accuracy": accuracy}.
    accuracy = te.metrics.accuracy(labels=torch.tensor([1, 0, 1, 1]), predictions=torch.tensor([1, 1, 1, 1]))
    assert len(accuracy) == 2 and accuracy[1].item() == accuracy[0].item() == 0.75
    value, update_op = accuracy
    for given in (accuracy, (value, update_op), tuple(accuracy)):
        spec = te.EstimatorSpec(EVAL, loss=_loss(), eval_metric_ops={"accuracy": given})
        assert spec.eval_metric_ops["accuracy"] is accuracy
    other = te.metrics.mean(torch.tensor([1.0]))
    with pytest.raises(TypeError, match="must be \\(metric_value, update_op\\) tuples"):
        te.EstimatorSpec(EVAL, loss=_loss(), eval_metric_ops={"mixed": (value, other[1])})
    with pytest.raises(IndexError, match="index 2 is out of range"):
        accuracy[2]


def test_updated_metric_is_accepted():
    metric = te.metrics.mean(torch.tensor([1.0, 3.0]))
    spec = te.EstimatorSpec(EVAL, loss=_loss(), eval_metric_ops={"mean": metric})
    assert spec.eval_metric_ops["mean"] is metric
    assert spec.eval_metric_ops["mean"].result().item() == 2.0


def test_metric_update_op_tuple_is_accepted():
    metric = te.metrics.accuracy(torch.tensor([1, 0]), torch.tensor([1, 1]))
    spec = te.EstimatorSpec(EVAL, loss=_loss(), eval_metric_ops={"acc": (metric, None)})
    assert spec.eval_metric_ops["acc"] is metric
    assert spec.eval_metric_ops["acc"].result().item() == 0.5


# -- hooks ----------------------------------------------------------------------------------------

HOOK_FIELDS = ["training_chief_hooks", "training_hooks", "evaluation_hooks", "prediction_hooks"]


@pytest.mark.parametrize("field", HOOK_FIELDS)
def test_hooks_must_be_session_run_hooks(field):
    bad = object()
    with pytest.raises(TypeError, match=re.escape(f"All hooks must be SessionRunHook instances, given: {bad}")):
        te.EstimatorSpec(EVAL, loss=_loss(), **{field: [te.SessionRunHook(), bad]})


@pytest.mark.parametrize("field", HOOK_FIELDS)
def test_hooks_are_kept_in_order(field):
    h1, h2 = te.SessionRunHook(), te.hooks.StopAtStepHook(num_steps=3)
    spec = te.EstimatorSpec(EVAL, loss=_loss(), **{field: [h1, h2]})
    assert list(getattr(spec, field)) == [h1, h2]


# -- export_outputs -------------------------------------------------------------------------------


def test_predict_defaults_to_serving_default_predict_output():
    preds = {"y": torch.ones(2, 1), "z": torch.zeros(2)}
    spec = te.EstimatorSpec(PREDICT, predictions=preds)
    assert set(spec.export_outputs) == {"serving_default"}
    output = spec.export_outputs["serving_default"]
    assert isinstance(output, te.PredictOutput)
    outputs = output.outputs()
    assert set(outputs) == {"y", "z"}
    assert outputs["y"] is preds["y"]
    assert outputs["z"] is preds["z"]


def test_predict_tensor_predictions_default_output_is_named_output():
    pred = torch.ones(3)
    spec = te.EstimatorSpec(PREDICT, predictions=pred)
    outputs = spec.export_outputs["serving_default"].outputs()
    assert list(outputs) == ["output"]
    assert outputs["output"] is pred


def test_single_non_default_export_output_is_copied_to_serving_default():
    cls = te.ClassificationOutput(scores=torch.rand(2, 3))
    spec = te.EstimatorSpec(PREDICT, predictions={"y": torch.ones(2)}, export_outputs={"classification": cls})
    assert set(spec.export_outputs) == {"classification", "serving_default"}
    assert spec.export_outputs["serving_default"] is cls
    assert spec.export_outputs["classification"] is cls


def test_explicit_serving_default_is_kept():
    reg = te.RegressionOutput(torch.ones(2, 1))
    pred = te.PredictOutput({"y": torch.ones(2)})
    spec = te.EstimatorSpec(
        PREDICT, predictions={"y": torch.ones(2)}, export_outputs={"serving_default": reg, "predict": pred}
    )
    assert spec.export_outputs == {"serving_default": reg, "predict": pred}


def test_multiple_export_outputs_without_default_raises():
    outputs = {
        "regression": te.RegressionOutput(torch.ones(2, 1)),
        "predict": te.PredictOutput({"y": torch.ones(2)}),
    }
    with pytest.raises(
        ValueError,
        match=re.escape("Multiple `export_outputs` were provided, but none of them are specified as the default."),
    ):
        te.EstimatorSpec(PREDICT, predictions={"y": torch.ones(2)}, export_outputs=outputs)


def test_export_outputs_must_be_dict():
    bad = [te.PredictOutput({"y": torch.ones(2)})]
    with pytest.raises(TypeError, match=re.escape("export_outputs must be dict, given: ")):
        te.EstimatorSpec(PREDICT, predictions={"y": torch.ones(2)}, export_outputs=bad)


def test_export_outputs_values_must_be_export_outputs():
    with pytest.raises(TypeError, match=re.escape("Values in export_outputs must be ExportOutput objects. Given: ")):
        te.EstimatorSpec(PREDICT, predictions={"y": torch.ones(2)}, export_outputs={"serving_default": torch.ones(2)})


# -- ExportOutput classes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scores", [torch.tensor([[1, 2]]), np.ones((1, 2), dtype=np.float32), [[0.5, 0.5]]], ids=["int", "numpy", "list"]
)
def test_classification_scores_must_be_float_tensor(scores):
    with pytest.raises(ValueError, match=re.escape(f"Classification scores must be a float32 Tensor; got {scores}")):
        te.ClassificationOutput(scores=scores)


@pytest.mark.parametrize("classes", [torch.tensor([[1, 2]]), np.array([[1, 2]])], ids=["tensor", "int-array"])
def test_classification_classes_must_be_strings(classes):
    with pytest.raises(ValueError, match=re.escape(f"Classification classes must be a string Tensor; got {classes}")):
        te.ClassificationOutput(classes=classes)


def test_classification_output_needs_scores_or_classes():
    message = (
        "Cannot create a ClassificationOutput with empty arguments. At least one of `scores` and "
        "`classes` must be defined."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        te.ClassificationOutput()


def test_classification_output_valid():
    scores = torch.rand(2, 3)
    classes = np.array([[b"a", b"b", b"c"]] * 2)
    out = te.ClassificationOutput(scores=scores, classes=classes)
    assert out.scores is scores
    assert out.classes is classes
    assert set(out.outputs()) == {"scores", "classes"}
    assert set(te.ClassificationOutput(scores=scores).outputs()) == {"scores"}
    assert set(te.ClassificationOutput(classes=classes).outputs()) == {"classes"}
    assert isinstance(out, te.ExportOutput)


@pytest.mark.parametrize(
    "value", [torch.tensor([1, 2]), np.ones(2, dtype=np.float32), None], ids=["int", "numpy", "none"]
)
def test_regression_value_must_be_float_tensor(value):
    with pytest.raises(ValueError, match=re.escape(f"Regression output value must be a float32 Tensor; got {value}")):
        te.RegressionOutput(value)


def test_regression_output_valid():
    value = torch.ones(4, 1, dtype=torch.float64)
    out = te.RegressionOutput(value)
    assert out.value is value
    assert out.outputs() == {"outputs": value}


def test_predict_output_joins_tuple_keys_and_wraps_single_tensor():
    a, b = torch.ones(2), torch.zeros(2)
    out = te.PredictOutput({("head1", "logits"): a, "b": b})
    assert out.outputs() == {"head1/logits": a, "b": b}
    single = te.PredictOutput(a)
    assert single.outputs() == {"output": a}


def test_predict_output_key_must_be_string():
    with pytest.raises(ValueError, match=re.escape("Prediction output key must be a string; got 1.")):
        te.PredictOutput({1: torch.ones(2)})


def test_predict_output_value_must_be_tensor():
    with pytest.raises(ValueError, match=re.escape("output value must be a Tensor; got [1, 2].")):
        te.PredictOutput({"y": [1, 2]})


def test_predict_output_value_message_matches_tf():
    with pytest.raises(ValueError, match=re.escape("Prediction output value must be a Tensor; got [1, 2].")):
        te.PredictOutput({"y": [1, 2]})
