"""Tests for SessionRunHooks, the built-in hooks and their use in train/evaluate/predict (spec §1.1, §6.2, §6.10)."""

from __future__ import annotations

import json
import logging
import os
import re
import types

import numpy as np
import pytest
import torch

import torch_estimator as te
from torch_estimator._engine import hooks as hooks_mod

N_ROWS = 12
X = np.linspace(-1.0, 1.0, 2 * N_ROWS, dtype=np.float32).reshape(N_ROWS, 2)
Y = (X @ np.array([[0.5], [-0.3]], dtype=np.float32) + 0.1).astype(np.float32)

LOGGER = "torch_estimator"
LOSS_LINE = re.compile(r"^loss = (\S+), step = (\d+)( \(\d+\.\d{3} sec\))?$")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def make_model_fn(
    losses=None, calls=None, nan=False, training_hooks=None, evaluation_hooks=None, prediction_hooks=None
):
    """A one-dense-layer regression model_fn; ``*_hooks`` may be a list or a zero-arg factory."""

    def _hooks(spec_hooks):
        if spec_hooks is None:
            return None
        return spec_hooks() if callable(spec_hooks) else list(spec_hooks)

    def model_fn(features, labels, mode):
        if calls is not None:
            calls.append(mode)
        out = te.layers.dense(features["x"], 1)
        predictions = {"y": out}
        if mode == te.ModeKeys.PREDICT:
            return te.EstimatorSpec(mode, predictions=predictions, prediction_hooks=_hooks(prediction_hooks))
        loss = torch.nn.functional.mse_loss(out, labels)
        if nan:
            loss = loss * float("nan")
        if losses is not None:
            losses.append(float(loss.detach()))
        train_op = te.optimizers.get("SGD", 0.1).minimize(loss) if mode == te.ModeKeys.TRAIN else None
        return te.EstimatorSpec(
            mode,
            predictions=predictions,
            loss=loss,
            train_op=train_op,
            training_hooks=_hooks(training_hooks),
            evaluation_hooks=_hooks(evaluation_hooks),
        )

    return model_fn


def make_estimator(tmp_path, model_fn=None, **config):
    settings = dict(save_checkpoints_steps=1000, log_step_count_steps=1000, save_summary_steps=1000)
    settings.update(config)
    return te.Estimator(model_fn or make_model_fn(), model_dir=str(tmp_path / "model"), config=te.RunConfig(**settings))


def input_fn(num_epochs=None, batch_size=4, shuffle=False, labels=True):
    return te.inputs.numpy_input_fn(
        {"x": X}, Y if labels else None, batch_size=batch_size, num_epochs=num_epochs, shuffle=shuffle
    )


class Recorder(te.SessionRunHook):
    """Records every call, and the values of ``fetches`` (if any) after each step."""

    def __init__(self, fetches=None, stop_at=None):
        self.calls: list[str] = []
        self.results: list = []
        self.fetches = fetches
        self.stop_at = stop_at
        self.steps_seen = 0

    def begin(self):
        self.calls.append("begin")

    def after_create_session(self, session, coord):
        self.calls.append("after_create_session")
        self.initial_step = session.run("global_step")

    def before_run(self, run_context):
        self.calls.append("before_run")
        assert not run_context.stop_requested
        return te.SessionRunArgs(self.fetches) if self.fetches is not None else None

    def after_run(self, run_context, run_values):
        self.calls.append("after_run")
        assert isinstance(run_values, te.SessionRunValues)
        self.results.append(run_values.results)
        self.steps_seen += 1
        if self.stop_at is not None and self.steps_seen >= self.stop_at:
            run_context.request_stop()

    def end(self, session):
        self.calls.append("end")
        self.final_step = session.run("global_step")

    def count(self, name):
        return self.calls.count(name)


class RecordingListener(te.CheckpointSaverListener):
    def __init__(self, stop_after_save_at=None):
        self.calls: list[tuple[str, int | None]] = []
        self.stop_after_save_at = stop_after_save_at

    def begin(self):
        self.calls.append(("begin", None))

    def before_save(self, session, global_step_value):
        self.calls.append(("before_save", global_step_value))

    def after_save(self, session, global_step_value):
        self.calls.append(("after_save", global_step_value))
        return self.stop_after_save_at is not None and global_step_value >= self.stop_after_save_at

    def end(self, session, global_step_value):
        self.calls.append(("end", global_step_value))


def messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def expected_calls(steps):
    return ["begin", "after_create_session"] + ["before_run", "after_run"] * steps + ["end"]


# ---------------------------------------------------------------------------------------------
# call order and fetches
# ---------------------------------------------------------------------------------------------


def test_hook_call_order_with_steps(tmp_path):
    est = make_estimator(tmp_path)
    hook = Recorder()
    est.train(input_fn(), hooks=[hook], steps=3)
    assert hook.calls == expected_calls(3)
    assert hook.initial_step == 0
    assert hook.final_step == 3
    assert hook.results == [None, None, None]  # before_run returned None

    again = Recorder()
    est.train(input_fn(), hooks=[again], steps=2)
    assert again.calls == expected_calls(2)
    assert again.initial_step == 3
    assert again.final_step == 5


def test_hook_call_order_until_input_is_exhausted(tmp_path):
    est = make_estimator(tmp_path)
    hook = Recorder()
    est.train(input_fn(num_epochs=1, batch_size=5), hooks=[hook])  # 12 rows -> 5, 5, 2
    assert hook.calls == expected_calls(3)
    assert hook.final_step == 3
    assert est.get_variable_value("global_step") == 3


def test_several_hooks_are_called_in_the_given_order(tmp_path):
    order: list[str] = []

    class Named(te.SessionRunHook):
        def __init__(self, name):
            self.name = name

        def before_run(self, run_context):
            order.append(self.name + ".before")

        def after_run(self, run_context, run_values):
            order.append(self.name + ".after")

    make_estimator(tmp_path).train(input_fn(), hooks=[Named("a"), Named("b")], steps=2)
    assert order == ["a.before", "b.before", "a.after", "b.after"] * 2


def test_session_run_args_fetch_loss_and_global_step(tmp_path):
    losses: list[float] = []
    est = make_estimator(tmp_path, make_model_fn(losses=losses))
    hook = Recorder(fetches=["loss", "global_step"])
    est.train(input_fn(), hooks=[hook], steps=4)

    assert len(hook.results) == 4
    for i, result in enumerate(hook.results):
        assert isinstance(result, list)
        loss, step = result
        assert isinstance(loss, (np.ndarray, np.floating))
        assert np.shape(loss) == ()
        assert loss == np.float32(losses[i])  # the loss of this step (computed before the update)
        assert step == i  # global step before this step's update, 0-based

    more = Recorder(fetches=["loss", "global_step"])
    est.train(input_fn(), hooks=[more], steps=2)
    assert [r[1] for r in more.results] == [4, 5]


def test_fetch_structures_predictions_and_variables(tmp_path):
    est = make_estimator(tmp_path)
    seen = []

    class Fetcher(te.SessionRunHook):
        def before_run(self, run_context):
            return te.SessionRunArgs({"pair": ("global_step", "loss"), "y": "y", "kernel": "dense/kernel"})

        def after_run(self, run_context, run_values):
            seen.append(run_values.results)

    est.train(input_fn(batch_size=5), hooks=[Fetcher()], steps=2)
    assert len(seen) == 2
    first = seen[0]
    assert set(first) == {"pair", "y", "kernel"}
    assert isinstance(first["pair"], tuple) and first["pair"][0] == 0
    assert isinstance(first["y"], np.ndarray) and first["y"].shape == (5, 1)
    assert isinstance(first["kernel"], np.ndarray) and first["kernel"].shape == (2, 1)
    # the last fetched kernel is the trained (final) value
    np.testing.assert_allclose(seen[-1]["kernel"], est.get_variable_value("dense/kernel"))


def test_unknown_fetch_name_raises(tmp_path):
    est = make_estimator(tmp_path)
    with pytest.raises(ValueError, match=re.escape("Unknown fetch 'no_such_thing'")):
        est.train(input_fn(), hooks=[Recorder(fetches="no_such_thing")], steps=1)


def test_session_run_global_step_inside_after_run_is_the_updated_value(tmp_path):
    seen = []

    class Probe(te.SessionRunHook):
        def before_run(self, run_context):
            return te.SessionRunArgs("global_step")

        def after_run(self, run_context, run_values):
            seen.append((run_values.results, run_context.session.run("global_step")))

    make_estimator(tmp_path).train(input_fn(), hooks=[Probe()], steps=3)
    assert seen == [(0, 1), (1, 2), (2, 3)]


def test_session_run_args_defaults():
    args = te.SessionRunArgs(["loss"])
    assert args.fetches == ["loss"]
    assert args.feed_dict is None and args.options is None


def test_run_context_request_stop():
    ctx = te.SessionRunContext(te.SessionRunArgs("loss"), session=None)
    assert ctx.original_args.fetches == "loss"
    assert ctx.session is None
    assert ctx.stop_requested is False
    ctx.request_stop()
    assert ctx.stop_requested is True


def test_request_stop_ends_training_after_that_step(tmp_path):
    calls: list[str] = []
    est = make_estimator(tmp_path, make_model_fn(calls=calls))
    stopper = Recorder(stop_at=3)
    other = Recorder()
    # num_epochs=None and no steps: only the hook can end training
    est.train(input_fn(num_epochs=None), hooks=[stopper, other])
    assert stopper.calls == expected_calls(3)
    assert other.calls == expected_calls(3)  # other hooks still get after_run of that step and end
    assert est.get_variable_value("global_step") == 3
    assert len(calls) == 3
    assert est.latest_checkpoint().endswith("model.ckpt-3")


# ---------------------------------------------------------------------------------------------
# StopAtStepHook
# ---------------------------------------------------------------------------------------------


def test_stop_at_step_hook_num_steps_and_last_step(tmp_path):
    est = make_estimator(tmp_path)
    est.train(input_fn(), hooks=[te.StopAtStepHook(num_steps=4)])
    assert est.get_variable_value("global_step") == 4
    est.train(input_fn(), hooks=[te.StopAtStepHook(num_steps=2)])  # relative to the restored step
    assert est.get_variable_value("global_step") == 6
    counter = Recorder()
    est.train(input_fn(), hooks=[te.StopAtStepHook(last_step=9), counter])  # absolute
    assert est.get_variable_value("global_step") == 9
    assert counter.count("after_run") == 3


def test_global_step_waiter_hook_passes_at_or_past_its_step_and_refuses_to_wait_forever(tmp_path):
    est = make_estimator(tmp_path)
    with pytest.raises(RuntimeError, match=r"wait_until_step=3\): the global step is 0 and only this training loop"):
        est.train(input_fn(), steps=2, hooks=[te.estimator.GlobalStepWaiterHook(3)])
    est.train(input_fn(), steps=3, hooks=[te.estimator.GlobalStepWaiterHook(0)])
    assert est.get_variable_value("global_step") == 3
    est.train(input_fn(), steps=2, hooks=[te.estimator.GlobalStepWaiterHook(3)])
    assert est.get_variable_value("global_step") == 5


def test_stop_at_step_hook_value_errors():
    with pytest.raises(ValueError, match=re.escape("One of num_steps or last_step must be specified.")):
        te.StopAtStepHook()
    with pytest.raises(ValueError, match=re.escape("Only one of num_steps or last_step can be specified.")):
        te.StopAtStepHook(num_steps=1, last_step=2)


def test_train_steps_and_max_steps_use_the_same_stopping(tmp_path):
    est = make_estimator(tmp_path)
    est.train(input_fn(), steps=3)
    assert est.get_variable_value("global_step") == 3
    est.train(input_fn(), max_steps=5)
    assert est.get_variable_value("global_step") == 5


# ---------------------------------------------------------------------------------------------
# LoggingTensorHook and the default train() log
# ---------------------------------------------------------------------------------------------


def test_default_logging_hook_line_format(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    losses: list[float] = []
    est = make_estimator(tmp_path, make_model_fn(losses=losses), log_step_count_steps=2)
    est.train(input_fn(), steps=5)

    lines = [m for m in messages(caplog) if m.startswith("loss = ")]
    assert len(lines) == 3
    matches = [LOSS_LINE.match(line) for line in lines]
    assert all(matches), lines
    assert [int(m.group(2)) for m in matches] == [0, 2, 4]  # step before the update, 0-based
    assert matches[0].group(3) is None  # first line: no elapsed time
    assert matches[1].group(3) is not None and matches[2].group(3) is not None
    assert lines[0] == "loss = " + str(np.float32(losses[0])) + ", step = 0"
    assert lines[1].startswith("loss = " + str(np.float32(losses[2])) + ", step = 2 (")


def test_default_train_log_lines(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    losses: list[float] = []
    est = make_estimator(tmp_path, make_model_fn(losses=losses), log_step_count_steps=2, save_checkpoints_steps=4)
    est.train(input_fn(), steps=5)
    msgs = messages(caplog)
    prefix = str(tmp_path / "model" / "model.ckpt")

    def index(text):
        return msgs.index(text)

    assert index("Calling model_fn.") < index("Done calling model_fn.") < index("Create CheckpointSaverHook.")
    assert (
        index("Calling checkpoint listeners before saving checkpoint 0...")
        < index(f"Saving checkpoints for 0 into {prefix}.")
        < index("Calling checkpoint listeners after saving checkpoint 0...")
    )
    assert f"Saving checkpoints for 4 into {prefix}." in msgs
    assert f"Saving checkpoints for 5 into {prefix}." in msgs  # at the end
    rates = [m for m in msgs if m.startswith("global_step/sec: ")]
    assert len(rates) == 2  # at global steps 2 and 4
    assert all(re.fullmatch(r"global_step/sec: [0-9.e+-]+", m) and float(m.split(": ")[1]) > 0 for m in rates)
    assert msgs[-1] == "Loss for final step: " + str(np.float32(losses[-1])) + "."
    assert index(f"Saving checkpoints for 0 into {prefix}.") < index(
        "loss = " + str(np.float32(losses[0])) + ", step = 0"
    )


def test_train_with_no_steps_warns(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    est = make_estimator(tmp_path)
    hook = Recorder()
    est.train(te.inputs.numpy_input_fn({"x": X[:0]}, Y[:0], shuffle=False), hooks=[hook])
    assert "Training with estimator made no steps. Perhaps input is empty or misspecified." in messages(caplog)
    assert not any(m.startswith("Loss for final step") for m in messages(caplog))
    assert hook.calls == []


def test_logging_tensor_hook_every_n_iter_with_dict_and_list(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    est = make_estimator(tmp_path)
    est.train(
        input_fn(),
        hooks=[
            te.LoggingTensorHook({"z_step": "global_step", "a_loss": "loss"}, every_n_iter=3),
            te.LoggingTensorHook(["global_step"], every_n_iter=3),
        ],
        steps=7,
    )
    msgs = messages(caplog)
    dict_lines = [m for m in msgs if m.startswith("a_loss = ")]
    assert len(dict_lines) == 3
    # dict tags are logged in sorted order
    assert [re.fullmatch(r"a_loss = \S+, z_step = (\d+)( \(\d+\.\d{3} sec\))?", m).group(1) for m in dict_lines] == [
        "0",
        "3",
        "6",
    ]
    list_lines = [m for m in msgs if m.startswith("global_step = ")]
    assert list_lines[0] == "global_step = 0"
    assert [re.sub(r" \(\d+\.\d{3} sec\)$", "", m) for m in list_lines] == [
        "global_step = 0",
        "global_step = 3",
        "global_step = 6",
    ]
    assert re.fullmatch(r"global_step = 3 \(\d+\.\d{3} sec\)", list_lines[1])


def test_logging_tensor_hook_formatter_every_n_secs_and_at_end(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    est = make_estimator(tmp_path)
    est.train(
        input_fn(),
        hooks=[
            te.LoggingTensorHook({"gs": "global_step"}, every_n_iter=2, formatter=lambda v: f"custom<{v['gs']}>"),
            te.LoggingTensorHook({"secs_step": "global_step"}, every_n_secs=3600),
            te.LoggingTensorHook({"final_step": "global_step"}, at_end=True),
        ],
        steps=5,
    )
    msgs = messages(caplog)
    assert [m for m in msgs if m.startswith("custom<")] == ["custom<0>", "custom<2>", "custom<4>"]
    assert [m for m in msgs if m.startswith("secs_step")] == ["secs_step = 0"]  # only the first step
    assert [m for m in msgs if m.startswith("final_step")] == ["final_step = 5"]  # only at the end
    assert msgs.index("final_step = 5") > msgs.index("custom<4>")


def test_logging_tensor_hook_value_errors():
    msg = "either at_end and/or exactly one of every_n_iter and every_n_secs must be provided."
    with pytest.raises(ValueError, match=re.escape(msg)):
        te.LoggingTensorHook(["loss"])
    with pytest.raises(ValueError, match=re.escape(msg)):
        te.LoggingTensorHook(["loss"], every_n_iter=1, every_n_secs=1)
    with pytest.raises(ValueError, match=re.escape(msg)):
        te.LoggingTensorHook(["loss"], every_n_iter=1, every_n_secs=1, at_end=True)
    with pytest.raises(ValueError, match=re.escape("invalid every_n_iter=0.")):
        te.LoggingTensorHook(["loss"], every_n_iter=0)
    with pytest.raises(ValueError, match=re.escape("invalid every_n_iter=-3.")):
        te.LoggingTensorHook(["loss"], every_n_iter=-3)
    te.LoggingTensorHook(["loss"], at_end=True)  # at_end alone is fine


def test_logging_tensor_hook_at_end_can_log_the_loss(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    est = make_estimator(tmp_path)
    est.train(input_fn(), hooks=[te.LoggingTensorHook({"final_loss": "loss"}, at_end=True)], steps=3)
    lines = [m for m in messages(caplog) if m.startswith("final_loss = ")]
    assert len(lines) == 1
    assert np.isfinite(float(lines[0].split(" = ")[1]))


# ---------------------------------------------------------------------------------------------
# NanTensorHook
# ---------------------------------------------------------------------------------------------


def test_nan_loss_raises_during_training(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    calls: list[str] = []
    est = make_estimator(tmp_path, make_model_fn(nan=True, calls=calls))
    with pytest.raises(te.NanLossDuringTrainingError) as info:
        est.train(input_fn(), steps=5)
    assert str(info.value) == "NaN loss during training."
    assert isinstance(info.value, RuntimeError)
    assert len(calls) == 1  # stopped at the first step
    errors = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == ["Model diverged with loss = NaN."]


def test_nan_loss_error_str():
    assert str(te.NanLossDuringTrainingError()) == "NaN loss during training."
    assert te.hooks.NanLossDuringTrainingError is te.NanLossDuringTrainingError


def test_nan_tensor_hook_without_failing_stops_evaluation(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    calls: list[str] = []
    est = make_estimator(tmp_path, make_model_fn(nan=True, calls=calls))
    result = est.evaluate(input_fn(num_epochs=1), hooks=[te.NanTensorHook("loss", fail_on_nan_loss=False)])
    assert calls == [te.ModeKeys.EVAL]  # stopped after the first batch instead of raising
    assert np.isnan(result["loss"])
    warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert "Model diverged with loss = NaN." in warnings

    with pytest.raises(te.NanLossDuringTrainingError, match=re.escape("NaN loss during training.")):
        est.evaluate(input_fn(num_epochs=1), hooks=[te.NanTensorHook("loss")])


def test_nan_tensor_hook_direct():
    hook = te.NanTensorHook("my_loss", fail_on_nan_loss=False)
    ctx = te.SessionRunContext(te.SessionRunArgs([]), session=None)
    assert hook.before_run(ctx).fetches == "my_loss"
    hook.after_run(ctx, te.SessionRunValues(np.float32(1.5), None, None))
    assert not ctx.stop_requested
    hook.after_run(ctx, te.SessionRunValues(np.float32("nan"), None, None))
    assert ctx.stop_requested

    failing = te.NanTensorHook("my_loss")
    ctx2 = te.SessionRunContext(te.SessionRunArgs([]), session=None)
    with pytest.raises(te.NanLossDuringTrainingError):
        failing.after_run(ctx2, te.SessionRunValues(np.float32("nan"), None, None))


# ---------------------------------------------------------------------------------------------
# CheckpointSaverListener / saving_listeners
# ---------------------------------------------------------------------------------------------


def test_checkpoint_saver_listener_calls(tmp_path):
    est = make_estimator(tmp_path, save_checkpoints_steps=2)
    listener = RecordingListener()
    est.train(input_fn(), steps=5, saving_listeners=[listener])
    saves = [0, 2, 4, 5]  # when the model is ready, every 2 steps, at the end
    expected = [("begin", None)]
    for step in saves:
        expected += [("before_save", step), ("after_save", step)]
    expected.append(("end", 5))
    assert listener.calls == expected
    assert est.latest_checkpoint().endswith("model.ckpt-5")

    second = RecordingListener()
    est.train(input_fn(), steps=1, saving_listeners=[second])
    assert second.calls == [
        ("begin", None),
        ("before_save", 5),
        ("after_save", 5),
        ("before_save", 6),
        ("after_save", 6),
        ("end", 6),
    ]


def test_checkpoint_saver_listener_with_save_secs(tmp_path):
    est = make_estimator(tmp_path, save_checkpoints_steps=None, save_checkpoints_secs=3600)
    listener = RecordingListener()
    est.train(input_fn(), steps=3, saving_listeners=[listener])
    assert [c for c in listener.calls if c[0] == "after_save"] == [("after_save", 0), ("after_save", 3)]
    assert listener.calls[-1] == ("end", 3)


def test_after_save_returning_true_stops_training(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    est = make_estimator(tmp_path, save_checkpoints_steps=2)
    listener = RecordingListener(stop_after_save_at=2)
    counter = Recorder()
    est.train(input_fn(), steps=10, saving_listeners=[listener], hooks=[counter])
    assert est.get_variable_value("global_step") == 2
    assert counter.count("after_run") == 2
    assert listener.calls == [
        ("begin", None),
        ("before_save", 0),
        ("after_save", 0),
        ("before_save", 2),
        ("after_save", 2),
        ("end", 2),  # no extra save at the end: step 2 was just saved
    ]
    assert est.latest_checkpoint().endswith("model.ckpt-2")
    assert any(m.startswith("A CheckpointSaverListener requested that training be stopped.") for m in messages(caplog))


def test_saving_listeners_require_a_checkpoint_saver_hook(tmp_path):
    est = make_estimator(tmp_path, save_checkpoints_steps=None, save_checkpoints_secs=None)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "There should be a CheckpointSaverHook to use saving_listeners. Please set one of the "
            "RunConfig.save_checkpoints_steps or RunConfig.save_checkpoints_secs."
        ),
    ):
        est.train(input_fn(), steps=2, saving_listeners=[RecordingListener()])
    # without listeners the same config trains, and saves nothing
    est.train(input_fn(), steps=2)
    assert est.latest_checkpoint() is None


def test_saving_listeners_attach_to_a_user_checkpoint_saver_hook(tmp_path):
    est = make_estimator(tmp_path, save_checkpoints_steps=None, save_checkpoints_secs=None)
    listener = RecordingListener()
    saver = te.CheckpointSaverHook(est.model_dir, save_steps=3)
    est.train(input_fn(), steps=4, hooks=[saver], saving_listeners=[listener])
    assert [c for c in listener.calls if c[0] == "after_save"] == [
        ("after_save", 0),
        ("after_save", 3),
        ("after_save", 4),
    ]
    assert est.latest_checkpoint().endswith("model.ckpt-4")


# ---------------------------------------------------------------------------------------------
# type checks
# ---------------------------------------------------------------------------------------------


def test_hooks_must_be_session_run_hooks(tmp_path):
    est = make_estimator(tmp_path)
    msg = "Hooks must be a SessionRunHook, given: not a hook"
    with pytest.raises(TypeError, match=re.escape(msg)):
        est.train(input_fn(), hooks=["not a hook"], steps=1)
    with pytest.raises(TypeError, match=re.escape(msg)):
        est.train(input_fn(), hooks=[Recorder(), "not a hook"], steps=1)
    assert est.latest_checkpoint() is None  # rejected before training
    with pytest.raises(TypeError, match=re.escape(msg)):
        est.evaluate(input_fn(num_epochs=1), hooks=["not a hook"])
    with pytest.raises(TypeError, match=re.escape(msg)):
        list(est.predict(input_fn(num_epochs=1, labels=False), hooks=["not a hook"]))


def test_saving_listeners_must_be_checkpoint_saver_listeners(tmp_path):
    est = make_estimator(tmp_path, save_checkpoints_steps=2)
    with pytest.raises(
        TypeError, match=re.escape("saving_listeners must be a list of CheckpointSaverListener, given: nope")
    ):
        est.train(input_fn(), steps=1, saving_listeners=["nope"])
    with pytest.raises(
        TypeError, match=re.escape("saving_listeners must be a list of CheckpointSaverListener, given: ")
    ):
        est.train(input_fn(), steps=1, saving_listeners=[Recorder()])  # a hook is not a listener
    assert est.latest_checkpoint() is None


# ---------------------------------------------------------------------------------------------
# hooks returned by the model_fn
# ---------------------------------------------------------------------------------------------


def test_spec_training_hooks_run_once_per_train_call(tmp_path):
    hook = Recorder(fetches="global_step")
    est = make_estimator(tmp_path, make_model_fn(training_hooks=[hook]))
    est.train(input_fn(), steps=4)
    assert hook.calls == expected_calls(4)
    assert hook.results == [0, 1, 2, 3]
    est.train(input_fn(), steps=2)
    assert hook.count("begin") == 2 and hook.count("end") == 2
    assert hook.count("after_run") == 6
    assert hook.results[4:] == [4, 5]


def test_spec_training_hooks_are_taken_from_the_first_model_fn_call(tmp_path):
    created: list[Recorder] = []

    def factory():
        created.append(Recorder())
        return [created[-1]]

    est = make_estimator(tmp_path, make_model_fn(training_hooks=factory))
    est.train(input_fn(), steps=3)
    assert len(created) == 3  # model_fn runs per batch ...
    assert created[0].calls == expected_calls(3)  # ... but the first call's hooks drive the whole run
    assert all(h.calls == [] for h in created[1:])


def test_spec_evaluation_hooks(tmp_path):
    losses: list[float] = []
    spec_hook = Recorder(fetches=["loss", "global_step"])
    est = make_estimator(tmp_path, make_model_fn(losses=losses, evaluation_hooks=[spec_hook]))
    est.train(input_fn(), steps=2)
    losses.clear()
    user_hook = Recorder()
    result = est.evaluate(input_fn(num_epochs=1, batch_size=5), hooks=[user_hook])  # 3 batches
    assert spec_hook.calls == expected_calls(3)
    assert user_hook.calls == expected_calls(3)
    assert [r[0] for r in spec_hook.results] == [np.float32(v) for v in losses]
    assert [r[1] for r in spec_hook.results] == [2, 2, 2]
    assert spec_hook.initial_step == 2 and spec_hook.final_step == 2
    assert result["global_step"] == 2

    est.evaluate(input_fn(num_epochs=1, batch_size=5), steps=2)
    assert spec_hook.count("begin") == 2
    assert spec_hook.count("after_run") == 5


def test_request_stop_ends_evaluation(tmp_path):
    calls: list[str] = []
    est = make_estimator(tmp_path, make_model_fn(calls=calls))
    hook = Recorder(stop_at=2)
    est.evaluate(input_fn(num_epochs=1, batch_size=2), hooks=[hook])  # 6 batches available
    assert calls == [te.ModeKeys.EVAL] * 2
    assert hook.calls == expected_calls(2)


def test_spec_prediction_hooks(tmp_path):
    spec_hook = Recorder(fetches="y")
    est = make_estimator(tmp_path, make_model_fn(prediction_hooks=[spec_hook]))
    user_hook = Recorder(fetches=["global_step"])
    predictions = est.predict(input_fn(num_epochs=1, batch_size=5, labels=False), hooks=[user_hook])
    first = next(predictions)
    assert spec_hook.calls == ["begin", "after_create_session", "before_run", "after_run"]
    rest = list(predictions)
    assert len(rest) + 1 == N_ROWS
    assert spec_hook.calls == expected_calls(3)
    assert user_hook.calls == expected_calls(3)
    assert [r.shape for r in spec_hook.results] == [(5, 1), (5, 1), (2, 1)]
    all_y = np.concatenate(spec_hook.results)
    np.testing.assert_allclose(all_y[0], first["y"])
    np.testing.assert_allclose(all_y[1:], np.stack([p["y"] for p in rest]))
    assert user_hook.results == [[0], [0], [0]]


# ---------------------------------------------------------------------------------------------
# SecondOrStepTimer
# ---------------------------------------------------------------------------------------------


def test_second_or_step_timer_value_errors():
    with pytest.raises(ValueError, match=re.escape("Either every_secs or every_steps should be provided.")):
        te.SecondOrStepTimer()
    with pytest.raises(ValueError, match=re.escape("Can not provide both every_secs and every_steps.")):
        te.SecondOrStepTimer(every_secs=1, every_steps=1)


def test_second_or_step_timer_every_steps():
    timer = te.SecondOrStepTimer(every_steps=3)
    assert timer.last_triggered_step() is None
    assert timer.should_trigger_for_step(5)  # first call always triggers
    assert timer.update_last_triggered_step(5) == (None, None)
    assert timer.last_triggered_step() == 5
    assert not timer.should_trigger_for_step(5)  # same step never triggers twice
    assert not timer.should_trigger_for_step(6)
    assert not timer.should_trigger_for_step(7)
    assert timer.should_trigger_for_step(8)
    assert timer.should_trigger_for_step(20)
    secs, steps = timer.update_last_triggered_step(9)
    assert steps == 4 and secs is not None and secs >= 0
    assert not timer.should_trigger_for_step(11)
    assert timer.should_trigger_for_step(12)
    timer.reset()
    assert timer.last_triggered_step() is None
    assert timer.should_trigger_for_step(0)


def test_second_or_step_timer_every_secs(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(hooks_mod, "time", types.SimpleNamespace(time=lambda: now[0]))
    timer = te.SecondOrStepTimer(every_secs=10)
    assert timer.should_trigger_for_step(0)
    assert timer.update_last_triggered_step(0) == (None, None)
    now[0] = 1009.9
    assert not timer.should_trigger_for_step(100)  # steps do not matter
    now[0] = 1010.0
    assert timer.should_trigger_for_step(1)
    assert not timer.should_trigger_for_step(0)  # but the same step never triggers twice
    assert timer.update_last_triggered_step(7) == (pytest.approx(10.0), 7)
    now[0] = 1015.0
    assert not timer.should_trigger_for_step(8)
    now[0] = 1021.0
    assert timer.should_trigger_for_step(8)


# ---------------------------------------------------------------------------------------------
# FinalOpsHook
# ---------------------------------------------------------------------------------------------


def test_final_ops_hook_gets_final_values(tmp_path):
    est = make_estimator(tmp_path)
    final = te.FinalOpsHook({"gs": "global_step", "kernel": "dense/kernel"})
    assert final.final_ops_values is None
    est.train(input_fn(), hooks=[final], steps=4)
    assert final.final_ops_values["gs"] == 4
    np.testing.assert_array_equal(final.final_ops_values["kernel"], est.get_variable_value("dense/kernel"))

    single = te.FinalOpsHook("global_step")
    est.evaluate(input_fn(num_epochs=1), hooks=[single])
    assert single.final_ops_values == 4

    tensor = torch.tensor([1.0, 2.0])
    as_tensor = te.FinalOpsHook([tensor, lambda: "global_step"])
    est.train(input_fn(), hooks=[as_tensor], steps=1)
    np.testing.assert_array_equal(as_tensor.final_ops_values[0], [1.0, 2.0])
    assert as_tensor.final_ops_values[1] == 5


def test_final_ops_hook_can_fetch_the_loss(tmp_path):
    losses: list[float] = []
    est = make_estimator(tmp_path, make_model_fn(losses=losses))
    final = te.FinalOpsHook("loss")
    est.train(input_fn(), hooks=[final], steps=3)
    assert np.isfinite(final.final_ops_values)


def test_logging_tensor_hook_tags_tensors_in_one_short_line(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)

    def model_fn(features, labels, mode):
        kernel = te.get_variable("kernel", [2, 1], initializer="zeros")
        predictions = features["x"] @ kernel
        loss = torch.mean((predictions - labels) ** 2)
        hook = te.LoggingTensorHook([kernel, predictions[:3, 0], "global_step"], every_n_iter=1)
        return te.EstimatorSpec(mode, loss=loss, train_op=te.optimizers.SGD(0.1).minimize(loss), training_hooks=[hook])

    make_estimator(tmp_path, model_fn).train(input_fn(), steps=2)
    lines = [m for m in messages(caplog) if m.startswith("kernel = ")]
    assert len(lines) == 2
    # the tags: a variable by its name, another tensor by position, shape and dtype (not torch's repr);
    # a matrix's value spans lines as numpy prints it, as in TensorFlow
    pattern = r"kernel = \[\[\S+\]\s+\[\S+\]\], tensor_1\[3\]:float32 = \[[^\]]*\], global_step = 0"
    assert re.fullmatch(pattern, lines[0], re.S), lines[0]
    assert "tensor(" not in lines[0] and "grad_fn" not in lines[0]


def test_profiler_hook_writes_a_chrome_trace_every_n_steps(tmp_path):
    hook = te.ProfilerHook(save_steps=2, output_dir=str(tmp_path / "profile"))
    make_estimator(tmp_path).train(input_fn(), hooks=[hook], steps=7)
    # TF's timer starts at the first step's stale global step (0), so the steps ending at global steps
    # 2, 4 and 6 are traced, each file named by the global step after it
    names = sorted(os.listdir(tmp_path / "profile"))
    assert names == ["timeline-2.json", "timeline-4.json", "timeline-6.json"]
    trace = json.load(open(tmp_path / "profile" / "timeline-4.json"))
    assert trace["traceEvents"] and any(e.get("name", "").startswith("aten::") for e in trace["traceEvents"])
    with pytest.raises(ValueError, match="Either every_secs or every_steps should be provided."):
        te.ProfilerHook()
