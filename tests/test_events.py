"""Event files in model_dir and eval_dir are readable by TensorBoard's own event readers and hold
the expected tags at the expected steps (reference §4.6 training summaries, §6.3 evaluate).

Everything here is read with TensorBoard's readers (``tensorboard.backend.event_processing``),
never with the project's reader, except where the project's ``read_scalars`` is checked to agree.
"""

from __future__ import annotations

import glob
import math
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing import event_file_loader, plugin_event_accumulator
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util

import torch_estimator as te
from torch_estimator._engine import events as _events

K = 3  # save_summary_steps == log_step_count_steps
STEPS = 11
BATCH = 16
KEEP_ALL = {"scalars": 0, "histograms": 0, "tensors": 0, "distributions": 0}


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    x = rng.randn(n, 4).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], dtype=np.float32) > 0).astype(np.float32)
    return x, y


def model_fn(features, labels, mode, params):
    hidden = te.layers.dense(features["x"], 8, activation="tanh")
    logits = te.layers.dense(hidden, 1)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    te.summary.scalar("my_metric", 2.0 * loss)
    if params.get("histogram"):
        te.summary.histogram("logits_hist", logits)
    predictions = {"logits": logits}
    if mode == te.ModeKeys.EVAL:
        metrics = {
            "accuracy": te.metrics.accuracy(labels, (logits > 0).float()),
            "mean_abs_logit": te.metrics.mean(logits.abs()),
        }
        return te.EstimatorSpec(mode, predictions=predictions, loss=loss, eval_metric_ops=metrics)
    train_op = te.optimizers.get("Adagrad", learning_rate=0.1).minimize(loss) if mode == te.ModeKeys.TRAIN else None
    return te.EstimatorSpec(mode, predictions=predictions, loss=loss, train_op=train_op)


def _train_input():
    x, y = _data(96, 0)
    return te.inputs.numpy_input_fn({"x": x}, y, batch_size=BATCH, num_epochs=None, shuffle=True)


def _eval_input(n: int = 96, seed: int = 1):
    x, y = _data(n, seed)
    return te.inputs.numpy_input_fn({"x": x}, y, batch_size=BATCH, num_epochs=1, shuffle=False)


class _StepRecorder(te.SessionRunHook):
    """Records each training step's loss and logits by the global step after the step."""

    def __init__(self) -> None:
        self.loss: dict[int, float] = {}
        self.logits: dict[int, np.ndarray] = {}

    def before_run(self, run_context):
        return te.SessionRunArgs({"loss": "loss", "step": "global_step", "logits": "logits"})

    def after_run(self, run_context, run_values):
        step = int(run_values.results["step"]) + 1
        self.loss[step] = float(run_values.results["loss"])
        self.logits[step] = np.asarray(run_values.results["logits"])


def _estimator(model_dir: Path, params: dict | None = None, **config) -> te.Estimator:
    config.setdefault("tf_random_seed", 3)
    return te.Estimator(model_fn, model_dir=str(model_dir), config=te.RunConfig(**config), params=params or {})


def _accumulator(logdir: str | Path) -> EventAccumulator:
    acc = EventAccumulator(str(logdir), size_guidance=KEEP_ALL)
    acc.Reload()
    return acc


def _tb_scalars(logdir: str | Path) -> dict[str, list[tuple[int, float]]]:
    acc = _accumulator(logdir)
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _plugin_scalars(logdir: str | Path) -> dict[str, list[tuple[int, float]]]:
    """Scalars as today's TensorBoard serves them: migrated to tensors of the 'scalars' plugin."""
    acc = plugin_event_accumulator.EventAccumulator(str(logdir), tensor_size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return {
        tag: [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]
        for tag in acc.PluginTagToContent("scalars")
    }


def _event_files(logdir: str | Path) -> list[str]:
    return sorted(glob.glob(os.path.join(str(logdir), "events.out.tfevents.*")))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained STEPS steps with summaries and step counts every K steps, then evaluated."""
    model_dir = tmp_path_factory.mktemp("events") / "model"
    recorder = _StepRecorder()
    est = _estimator(model_dir, save_summary_steps=K, log_step_count_steps=K, save_checkpoints_steps=5)
    est.train(_train_input(), hooks=[recorder], steps=STEPS)
    results = est.evaluate(_eval_input())
    named = est.evaluate(_eval_input(40, seed=2), name="holdout")
    return est, recorder, results, named


# -- model_dir ------------------------------------------------------------------------------------
def test_model_dir_event_file_is_a_valid_tensorboard_file(trained) -> None:
    est, *_ = trained
    files = _event_files(est.model_dir)
    assert len(files) == 1, files
    events = list(event_file_loader.EventFileLoader(files[0]).Load())
    assert events[0].file_version == "brain.Event:2"
    assert all(e.wall_time > 0 for e in events)
    acc = _accumulator(est.model_dir)
    assert acc.file_version == 2.0


def test_loss_summaries_at_steps_1_plus_multiples_of_k_with_the_step_losses(trained) -> None:
    est, recorder, *_ = trained
    scalars = _tb_scalars(est.model_dir)
    expected_steps = list(range(1, STEPS + 1, K))  # 1, 4, 7, 10 as TensorFlow writes them
    assert [s for s, _ in scalars["loss"]] == expected_steps
    for step, value in scalars["loss"]:
        assert value == pytest.approx(recorder.loss[step], rel=1e-6), step


def test_model_fn_scalar_summary_is_written_with_loss(trained) -> None:
    est, recorder, *_ = trained
    scalars = _tb_scalars(est.model_dir)
    assert [s for s, _ in scalars["my_metric"]] == list(range(1, STEPS + 1, K))
    for step, value in scalars["my_metric"]:
        assert value == pytest.approx(2.0 * recorder.loss[step], rel=1e-6), step


def test_model_fn_histogram_summary_is_readable(tmp_path: Path) -> None:
    recorder = _StepRecorder()
    est = _estimator(tmp_path / "model", params={"histogram": True}, save_summary_steps=K, log_step_count_steps=K)
    est.train(_train_input(), hooks=[recorder], steps=STEPS)
    histograms = _accumulator(est.model_dir).Histograms("logits_hist")
    assert [h.step for h in histograms] == list(range(1, STEPS + 1, K))
    for h in histograms:
        logits = recorder.logits[h.step]
        assert h.histogram_value.num == logits.size == BATCH
        assert h.histogram_value.min == pytest.approx(float(logits.min()), rel=1e-5)
        assert h.histogram_value.max == pytest.approx(float(logits.max()), rel=1e-5)
        assert h.histogram_value.sum == pytest.approx(float(logits.sum()), rel=1e-4, abs=1e-5)


def test_global_step_per_sec_every_k_steps(trained) -> None:
    est, *_ = trained
    scalars = _tb_scalars(est.model_dir)
    rate = scalars["global_step/sec"]
    steps = [s for s, _ in rate]
    assert len(steps) == (STEPS - 1) // K
    assert all(1 <= s <= STEPS for s in steps)
    assert all(b - a == K for a, b in zip(steps, steps[1:])), steps
    assert all(math.isfinite(v) and v > 0 for _, v in rate)


def test_global_step_per_sec_at_tensorflow_steps(trained) -> None:
    est, *_ = trained
    scalars = _tb_scalars(est.model_dir)
    assert [s for s, _ in scalars["global_step/sec"]] == list(range(1 + K, STEPS + 1, K))


def test_model_dir_holds_only_training_tags(trained) -> None:
    est, *_ = trained
    assert set(_tb_scalars(est.model_dir)) == {"loss", "my_metric", "global_step/sec"}
    assert _accumulator(est.model_dir).Tags()["histograms"] == []


def test_modern_tensorboard_scalar_path_agrees(trained) -> None:
    est, *_ = trained
    for logdir in (est.model_dir, est.eval_dir(), est.eval_dir("holdout")):
        plugin, legacy = _plugin_scalars(logdir), _tb_scalars(logdir)
        assert set(plugin) == set(legacy)
        for tag in legacy:
            assert [s for s, _ in plugin[tag]] == [s for s, _ in legacy[tag]]
            assert [v for _, v in plugin[tag]] == pytest.approx([v for _, v in legacy[tag]], rel=1e-7)


def test_project_reader_agrees_with_tensorboard(trained) -> None:
    est, *_ = trained
    for logdir in (est.model_dir, est.eval_dir(), est.eval_dir("holdout")):
        ours = _events.read_scalars(logdir)
        theirs = _tb_scalars(logdir)
        assert set(ours) == set(theirs)
        for tag in theirs:
            assert [s for s, _ in ours[tag]] == [s for s, _ in theirs[tag]], tag
            assert [v for _, v in ours[tag]] == pytest.approx([v for _, v in theirs[tag]], rel=1e-7), tag


# -- eval dirs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [None, "holdout"])
def test_eval_dir_holds_loss_and_metrics_at_the_checkpoint_step(trained, name) -> None:
    est, _, results, named = trained
    returned = results if name is None else named
    eval_dir = Path(est.model_dir) / ("eval" if name is None else "eval_holdout")
    assert est.eval_dir(name) == str(eval_dir)
    assert len(_event_files(eval_dir)) == 1
    assert returned["global_step"] == STEPS
    scalars = _tb_scalars(eval_dir)
    # TF writes every returned value but global_step, at the checkpoint's global step.
    assert set(scalars) == {"loss", "accuracy", "mean_abs_logit"}
    for tag, series in scalars.items():
        assert len(series) == 1, (tag, series)
        step, value = series[0]
        assert step == STEPS
        assert value == pytest.approx(float(returned[tag]), rel=1e-6), tag
        assert np.float32(value) == returned[tag], tag


@pytest.mark.parametrize("name", [None, "holdout"])
def test_eval_dir_holds_checkpoint_path_tensor(trained, name) -> None:
    est, *_ = trained
    acc = _accumulator(est.eval_dir(name))
    assert "checkpoint_path" in acc.Tags()["tensors"]
    (event,) = acc.Tensors("checkpoint_path")
    assert event.step == STEPS
    value = tensor_util.make_ndarray(event.tensor_proto)
    assert value.reshape(()).item().decode() == os.path.join(est.model_dir, f"model.ckpt-{STEPS}")


def test_named_and_default_eval_dirs_hold_different_evaluations(trained) -> None:
    est, _, results, named = trained
    assert results["loss"] != named["loss"]
    default, holdout = _tb_scalars(est.eval_dir()), _tb_scalars(est.eval_dir("holdout"))
    assert default["loss"][0][1] == pytest.approx(float(results["loss"]), rel=1e-6)
    assert holdout["loss"][0][1] == pytest.approx(float(named["loss"]), rel=1e-6)


def test_summaries_continue_from_the_restored_step(tmp_path: Path) -> None:
    """A second train() call (new process view: restored checkpoint) writes at restored+1, +k, ..."""
    model_dir = tmp_path / "model"
    _estimator(model_dir, save_summary_steps=K, log_step_count_steps=100).train(_train_input(), steps=4)
    _estimator(model_dir, save_summary_steps=K, log_step_count_steps=100).train(_train_input(), steps=5)
    assert len(_event_files(model_dir)) == 1  # one file per directory and process, appended to
    assert [s for s, _ in _tb_scalars(model_dir)["loss"]] == [1, 4, 5, 8]


# -- several writers into one directory ------------------------------------------------------------
def _within_one_second(action) -> None:
    """Runs ``action`` (which opens two event writers in one directory) inside one wall-clock second."""
    for _ in range(10):
        fraction = time.time() % 1.0
        if fraction > 0.3:
            time.sleep(1.0 - fraction + 0.01)
        start = time.time()
        action()
        if int(start) == int(time.time()):
            return
    pytest.skip("could not run the two writes within one second")


def test_two_evaluations_in_one_second_both_reach_the_eval_dir(tmp_path: Path) -> None:
    attempts = iter(range(100))

    def action() -> None:
        model_dir = tmp_path / f"model-{next(attempts)}"
        est = _estimator(model_dir, save_checkpoints_steps=1, save_summary_steps=100, log_step_count_steps=100)
        est.train(_train_input(), steps=2)
        action.results = (
            est.evaluate(_eval_input(), checkpoint_path=os.path.join(model_dir, "model.ckpt-1")),
            est.evaluate(_eval_input()),
        )
        action.est = est

    _within_one_second(action)
    first, second = action.results
    assert (first["global_step"], second["global_step"]) == (1, 2)
    loss = _tb_scalars(action.est.eval_dir())["loss"]
    assert [s for s, _ in loss] == [1, 2]
    assert [v for _, v in loss] == pytest.approx([float(first["loss"]), float(second["loss"])], rel=1e-6)


def test_two_train_calls_in_one_second_keep_both_summaries(tmp_path: Path) -> None:
    attempts = iter(range(100))

    def action() -> None:
        model_dir = tmp_path / f"model-{next(attempts)}"
        est = _estimator(model_dir, save_summary_steps=100, log_step_count_steps=100)
        est.train(_train_input(), steps=2)
        est.train(_train_input(), steps=2)
        action.model_dir = model_dir

    _within_one_second(action)
    assert [s for s, _ in _tb_scalars(action.model_dir)["loss"]] == [1, 3]


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(0).normal(size=1000),
        np.zeros(5),
        np.array([1.0]),
        np.random.default_rng(1).exponential(size=300) * 1e5,
        -np.random.default_rng(2).exponential(size=(7, 3)),
        np.array([0.0, 1e-13, -1e-13]),
        np.array([np.nan, 1.0, np.inf]),
    ],
    ids=["normal", "zeros", "one", "large", "negative-2d", "tiny", "nan-inf"],
)
def test_histograms_have_tensorboardx_buckets(values: np.ndarray) -> None:
    from tensorboardX.summary import make_histogram

    from torch_estimator._engine.events import _DEFAULT_BINS, histogram_proto

    ours, reference = histogram_proto(values), make_histogram(values.astype(float), _DEFAULT_BINS)
    assert list(ours.bucket) == list(reference.bucket)
    assert list(ours.bucket_limit) == list(reference.bucket_limit)
    assert ours.num == reference.num
    np.testing.assert_allclose(
        [ours.min, ours.max, ours.sum, ours.sum_squares],
        [reference.min, reference.max, reference.sum, reference.sum_squares],
        rtol=1e-12,
        atol=1e-12,
    )


def test_an_empty_histogram_is_refused() -> None:
    from torch_estimator._engine.events import histogram_proto

    with pytest.raises(ValueError, match="at least one value"):
        histogram_proto(np.zeros((0, 3)))


def test_a_histogram_of_nans_is_written_with_empty_buckets() -> None:
    """tensorboardX refuses it ("The histogram is empty"), which would stop training at a summary
    step; the NaN shows in the written min, max and sum instead."""
    from torch_estimator._engine.events import histogram_proto

    proto = histogram_proto(np.full(4, np.nan))
    assert list(proto.bucket) == [0.0, 0.0] and len(proto.bucket_limit) == 2
    assert proto.num == 4 and np.isnan(proto.min) and np.isnan(proto.max) and np.isnan(proto.sum)
