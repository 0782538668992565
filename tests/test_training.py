"""train_and_evaluate's schedule and exporters (TF's observed example), spec validation, early
stopping on a plateau, and in-memory evaluation."""

from __future__ import annotations

import logging
import os
import re

import numpy as np
import pytest

import torch_estimator as te
from torch_estimator._engine.events import read_eval_metrics

fc = te.feature_column
RNG = np.random.default_rng(0)
X = RNG.normal(size=(200, 3)).astype(np.float32)
Y = (X @ np.array([1.0, -2.0, 0.5], np.float32) + 0.3)[:, None].astype(np.float32)
COLUMNS = [fc.numeric_column("x", shape=(3,))]


def _train_input():
    return te.inputs.numpy_input_fn({"x": X}, Y, batch_size=20, num_epochs=None, shuffle=True)


def _eval_input():
    return te.inputs.numpy_input_fn({"x": X}, Y, batch_size=100, num_epochs=1, shuffle=False)


def _regressor(model_dir, lr=0.05, **config):
    config = te.RunConfig(tf_random_seed=1, save_checkpoints_steps=config.pop("save_checkpoints_steps", 5), **config)
    return te.LinearRegressor(COLUMNS, model_dir=str(model_dir), optimizer=te.optimizers.SGD(lr), config=config)


def _receiver():
    return te.export.build_raw_serving_input_receiver_fn({"x": X[:2]})


def _exports(model_dir, name):
    base = os.path.join(model_dir, "export", name)
    return sorted(os.listdir(base)) if os.path.isdir(base) else []


def test_schedule_and_exporters_match_tensorflow(tmp_path, caplog):
    est = _regressor(tmp_path)
    exporters = [
        te.LatestExporter("latest", _receiver(), exports_to_keep=2),
        te.BestExporter(serving_input_receiver_fn=_receiver()),
        te.FinalExporter("final", _receiver()),
    ]
    with caplog.at_level(logging.INFO, logger="torch_estimator"):
        metrics, exports = te.train_and_evaluate(
            est,
            te.TrainSpec(_train_input(), max_steps=17),
            te.EvalSpec(_eval_input(), steps=None, exporters=exporters, throttle_secs=0),
        )
    assert sorted(read_eval_metrics(est.eval_dir())) == [5, 10, 15, 17]
    assert metrics["global_step"] == 17 and set(metrics) == {
        "average_loss",
        "label/mean",
        "loss",
        "prediction/mean",
        "global_step",
    }
    assert [len(_exports(tmp_path, n)) for n in ("latest", "best_exporter", "final")] == [2, 4, 1]
    assert [os.path.dirname(e).decode() for e in exports] == [
        os.path.join(str(tmp_path), "export", n) for n in ("latest", "best_exporter", "final")
    ]
    assert "Running training and evaluation locally (non-distributed)." in caplog.text
    assert "save_checkpoints_steps 5 or save_checkpoints_secs None" in caplog.text
    assert "Performing the final export in the end of training." in caplog.text


def test_throttle_skips_evaluations_but_not_the_final_one(tmp_path, caplog):
    est = _regressor(tmp_path)
    with caplog.at_level(logging.INFO, logger="torch_estimator"):
        metrics, exports = te.train_and_evaluate(
            est, te.TrainSpec(_train_input(), max_steps=17), te.EvalSpec(_eval_input(), steps=2, throttle_secs=3600)
        )
    assert sorted(read_eval_metrics(est.eval_dir())) == [
        5,
        17,
    ]  # the first eval starts the throttle timer; the final one always runs
    assert "Skip the current checkpoint eval due to throttle secs (3600 secs)." in caplog.text
    assert metrics["global_step"] == 17 and exports == []


def test_best_exporter_compares_with_results_of_earlier_runs(tmp_path):
    est = _regressor(tmp_path, lr=0.05)
    est.train(_train_input(), steps=40)
    est.evaluate(_eval_input())  # a good result (loss after 40 steps) on disk
    worse = _regressor(tmp_path / "other", lr=0.05)
    worse.train(_train_input(), steps=1)
    result = worse.evaluate(_eval_input())
    exporter = te.BestExporter(
        serving_input_receiver_fn=_receiver(),
        event_file_pattern=os.path.relpath(
            os.path.join(str(tmp_path), "eval", "*.tfevents.*"), str(tmp_path / "other")
        ),
    )
    assert exporter.export(worse, str(tmp_path / "best"), worse.latest_checkpoint(), result, False) is None
    fresh = te.BestExporter(serving_input_receiver_fn=_receiver(), event_file_pattern="")
    assert fresh.export(worse, str(tmp_path / "best"), worse.latest_checkpoint(), result, False) is not None


def test_spec_and_exporter_validation():
    fn = _train_input()
    with pytest.raises(TypeError, match="`input_fn` must be callable, given: 3"):
        te.TrainSpec(3)
    with pytest.raises(ValueError, match="Must specify max_steps > 0, given: 0"):
        te.TrainSpec(fn, max_steps=0)
    with pytest.raises(TypeError, match="All hooks must be `SessionRunHook` instances, given: 1"):
        te.TrainSpec(fn, hooks=[1])
    with pytest.raises(ValueError, match="Must specify steps > 0, given: 0"):
        te.EvalSpec(fn, steps=0)
    with pytest.raises(TypeError, match="`name` must be string, given: 3"):
        te.EvalSpec(fn, name=3)
    with pytest.raises(ValueError, match="Must specify throttle_secs >= 0, given: -1"):
        te.EvalSpec(fn, throttle_secs=-1)
    with pytest.raises(ValueError, match="Must specify start_delay_secs >= 0, given: -1"):
        te.EvalSpec(fn, start_delay_secs=-1)
    latest = te.LatestExporter("a", _receiver())
    with pytest.raises(ValueError, match="`exporters` must have unique names"):
        te.EvalSpec(fn, exporters=[latest, te.FinalExporter("a", _receiver())])
    with pytest.raises(TypeError, match="`exporters` must be an Exporter"):
        te.EvalSpec(fn, exporters=[1])
    with pytest.raises(ValueError, match="An Exporter cannot have a name that is `None` or empty"):
        te.EvalSpec(fn, exporters=[te.LatestExporter("", _receiver())])
    with pytest.raises(ValueError, match="`exports_to_keep`, if provided, must be a positive number. Got 0"):
        te.LatestExporter("a", _receiver(), exports_to_keep=0)
    with pytest.raises(ValueError, match="must include current_eval_result argument"):
        te.BestExporter(compare_fn=lambda best_eval_result: True)
    with pytest.raises(TypeError, match="`estimator` must have type"):
        te.train_and_evaluate(object(), te.TrainSpec(fn), te.EvalSpec(fn))
    with pytest.raises(TypeError, match="`eval_spec` must have type"):
        te.train_and_evaluate(te.Estimator(lambda features: None), te.TrainSpec(fn), None)


def test_early_stopping_stops_within_one_evaluation_period_of_a_plateau(tmp_path, caplog):
    est = _regressor(tmp_path, lr=0.0)  # the loss never decreases: a plateau from the start
    hook = te.experimental.stop_if_no_decrease_hook(est, "loss", max_steps_without_decrease=10)
    with caplog.at_level(logging.INFO, logger="torch_estimator"):
        te.train_and_evaluate(
            est, te.TrainSpec(_train_input(), max_steps=1000, hooks=[hook]), te.EvalSpec(_eval_input(), throttle_secs=0)
        )
    # evaluations at 5, 10, 15: at 15 the loss has not decreased for 10 steps -> stop at once
    assert est.get_variable_value("global_step") == 15
    assert (
        'No decrease in metric "loss" for 10 steps, which is greater than or equal to max steps (10) '
        "configured for early stopping." in caplog.text
    )
    assert re.search(
        r"Requesting early stopping at global step 1[45]\n", caplog.text
    )  # the hook sees the step before its update, as in TF


def test_threshold_hooks(tmp_path, caplog):
    est = _regressor(tmp_path, lr=0.05)
    hook = te.experimental.stop_if_lower_hook(est, "loss", threshold=1.0, run_every_secs=None, run_every_steps=1)
    with caplog.at_level(logging.INFO, logger="torch_estimator"):
        te.train_and_evaluate(
            est, te.TrainSpec(_train_input(), max_steps=2000, hooks=[hook]), te.EvalSpec(_eval_input(), throttle_secs=0)
        )
    steps = sorted(read_eval_metrics(est.eval_dir()))
    first_below = next(s for s in steps if read_eval_metrics(est.eval_dir())[s]["loss"] < 1.0)
    assert est.get_variable_value("global_step") == first_below
    assert "which is less than the stopping threshold 1.0" in caplog.text
    with pytest.raises(ValueError, match="Only one of `run_every_secs` and `run_every_steps` must be set."):
        te.experimental.stop_if_higher_hook(est, "loss", 1.0, run_every_steps=5)
    with pytest.raises(TypeError, match="`estimator` must have type"):
        te.experimental.stop_if_higher_hook(object(), "loss", 1.0)


def test_in_memory_evaluator_hook_evaluates_without_checkpoints(tmp_path):
    est = _regressor(tmp_path, save_checkpoints_steps=1000)
    hook = te.experimental.InMemoryEvaluatorHook(est, _eval_input(), every_n_iter=10)
    est.train(_train_input(), steps=30, hooks=[hook])
    assert (
        est.get_variable_names() and len([f for f in os.listdir(tmp_path) if f.endswith(".safetensors")]) == 2
    )  # steps 0 and 30 only
    assert sorted(read_eval_metrics(est.eval_dir())) == [10, 20, 30]
    final = est.evaluate(_eval_input())
    assert hook.eval_result["loss"] == pytest.approx(final["loss"], rel=1e-6)
    with pytest.raises(ValueError, match="invalid every_n_iter=0."):
        te.experimental.InMemoryEvaluatorHook(est, _eval_input(), every_n_iter=0)


def test_make_stop_at_checkpoint_step_hook(tmp_path):
    est = _regressor(tmp_path)
    est.train(_train_input(), hooks=[te.experimental.make_stop_at_checkpoint_step_hook(est, 7)])
    assert est.get_variable_value("global_step") == 7


def test_census_wide_and_deep_schedule(tmp_path):
    from torch_estimator._census import census_columns, census_features
    from torch_estimator.datasets import load_census

    features, labels = census_features(load_census("train").sample(400, random_state=0))
    wide, deep = census_columns()
    est = te.DNNLinearCombinedClassifier(
        model_dir=str(tmp_path),
        linear_feature_columns=wide,
        dnn_feature_columns=deep,
        dnn_hidden_units=[8],
        dnn_optimizer=te.optimizers.Adagrad(0.1),
        linear_optimizer=te.optimizers.Ftrl(0.1),
        config=te.RunConfig(save_checkpoints_steps=5),
    )
    receiver = te.export.build_parsing_serving_input_receiver_fn(fc.make_parse_example_spec(wide + deep))
    exporters = [
        te.LatestExporter("latest", receiver, exports_to_keep=2),
        te.BestExporter(serving_input_receiver_fn=receiver),
        te.FinalExporter("final", receiver),
    ]
    train = te.inputs.numpy_input_fn(features, labels, batch_size=40, num_epochs=None, shuffle=True)
    evaluation = te.inputs.numpy_input_fn(features, labels, batch_size=200, num_epochs=1, shuffle=False)
    metrics, _ = te.train_and_evaluate(
        est,
        te.TrainSpec(train, max_steps=17),
        te.EvalSpec(evaluation, steps=None, exporters=exporters, throttle_secs=0),
    )
    evals = read_eval_metrics(est.eval_dir())
    assert sorted(evals) == [5, 10, 15, 17] and metrics["global_step"] == 17
    losses = [evals[s]["loss"] for s in sorted(evals)]
    improvements = sum(1 for i, loss in enumerate(losses) if i == 0 or loss < min(losses[:i]))
    assert [len(_exports(tmp_path, n)) for n in ("latest", "best_exporter", "final")] == [2, improvements, 1]
