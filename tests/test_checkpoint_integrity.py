"""A checkpoint restores exactly or fails loudly: missing state, damaged index, bit rot,
truncation, leftovers of killed runs, and one trainer per model_dir."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import torch_estimator as te
from conftest import dense_model_fn, make_binary_data
from torch_estimator._core import checkpoint as _checkpoint
from torch_estimator._core import tensor_file as _tensor_file

X, Y = make_binary_data(128)


def _input(num_epochs=None):
    return te.inputs.numpy_input_fn({"x": X}, Y, batch_size=32, num_epochs=num_epochs, shuffle=False)


def _estimator(model_dir, model_fn=dense_model_fn, params=None, **config) -> te.Estimator:
    config.setdefault("save_checkpoints_steps", 5)
    config.setdefault("keep_checkpoint_max", 3)
    return te.Estimator(
        model_fn, model_dir=str(model_dir), params=params or {}, config=te.RunConfig(tf_random_seed=1, **config)
    )


def _deeper_model_fn(features, labels, mode, params):
    """dense_model_fn with one more hidden layer: variables the old checkpoints lack."""
    hidden = te.layers.dense(features["x"], 8, activation="relu", name="hidden")
    hidden = te.layers.dense(hidden, 8, activation="relu", name="hidden_2")
    logits = te.layers.dense(hidden, 1, name="logits")
    if mode == te.ModeKeys.PREDICT:
        return te.EstimatorSpec(mode, predictions={"logits": logits})
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    train_op = te.optimizers.Adagrad(0.1).minimize(loss) if mode == te.ModeKeys.TRAIN else None
    return te.EstimatorSpec(mode, predictions={"logits": logits}, loss=loss, train_op=train_op)


def _predictions(est: te.Estimator, **kwargs) -> np.ndarray:
    return np.array([p["logits"] for p in est.predict(te.inputs.numpy_input_fn({"x": X[:8]}, shuffle=False), **kwargs)])


def _rewrite(prefix: str, change) -> None:
    """Rewrites a checkpoint (with fresh checksums) after ``change(tensors)``."""
    tensors, metadata = _checkpoint.load(prefix)
    change(tensors)
    Path(prefix + _checkpoint.SUFFIX).write_bytes(_tensor_file.serialize(tensors, metadata))


def _steps_on_disk(model_dir) -> list[int]:
    return sorted(_checkpoint.step_of(p) for p in _checkpoint.on_disk(str(model_dir)))


@pytest.fixture
def trained(tmp_path):
    """A model_dir trained to step 20 (checkpoints 10, 15, 20 kept)."""
    est = _estimator(tmp_path)
    est.train(_input(), max_steps=20)
    return tmp_path, est


# -- missing state ------------------------------------------------------------------------------
def test_a_variable_the_checkpoint_lacks_fails_every_mode(trained):
    model_dir, _ = trained
    est = _estimator(model_dir, _deeper_model_fn)
    pattern = (
        re.escape(f"checkpoint {model_dir}/model.ckpt-20.safetensors lacks. Key hidden_2/")
        + r"(kernel|bias) not found in checkpoint \(and [13] more"
    )
    for _ in range(2):  # the failed model is never reused with fresh weights
        with pytest.raises(te.errors.NotFoundError, match=pattern) as info:
            _predictions(est)
        assert "hidden_2/kernel" in str(info.value) and "hidden_2/bias" in str(info.value)
    with pytest.raises(te.errors.NotFoundError, match=pattern):
        est.evaluate(_input(num_epochs=1))
    with pytest.raises(te.errors.NotFoundError, match=pattern):
        est.train(_input(), steps=5)
    assert _steps_on_disk(model_dir) == [10, 15, 20]  # nothing written by the failed run


def test_a_missing_optimizer_slot_fails_training_but_not_inference(trained):
    model_dir, est = trained
    before = _predictions(est)
    _rewrite(str(model_dir / "model.ckpt-20"), lambda t: t.pop("training/Adagrad/hidden/kernel/accumulator"))
    est = _estimator(model_dir)
    np.testing.assert_array_equal(_predictions(est), before)
    with pytest.raises(
        te.errors.NotFoundError, match="Key training/Adagrad/hidden/kernel/accumulator not found in checkpoint"
    ):
        est.train(_input(), steps=5)


def test_a_missing_global_step_fails(trained):
    model_dir, _ = trained
    _rewrite(str(model_dir / "model.ckpt-20"), lambda t: t.pop("global_step"))
    est = _estimator(model_dir)
    with pytest.raises(
        te.errors.NotFoundError, match=f"Key global_step not found in checkpoint {model_dir}/model.ckpt-20"
    ):
        _predictions(est)
    with pytest.raises(te.errors.NotFoundError, match="Key global_step"):
        est.train(_input(), steps=5)


def test_warm_start_still_fills_only_what_it_is_told(trained, tmp_path_factory):
    model_dir, old = trained
    settings = te.WarmStartSettings(str(model_dir), vars_to_warm_start="hidden/.*")
    est = te.Estimator(_deeper_model_fn, model_dir=str(tmp_path_factory.mktemp("warm")), warm_start_from=settings)
    est.train(_input(), steps=1)  # hidden_2 and logits start fresh: no NotFoundError without a checkpoint
    assert {"hidden/kernel", "hidden_2/kernel", "logits/kernel"} <= set(est.get_variable_names())
    # One Adagrad step (learning rate 0.1) moves a weight by at most 0.1 from its warm start.
    np.testing.assert_allclose(
        est.get_variable_value("hidden/kernel"), old.get_variable_value("hidden/kernel"), atol=0.101
    )


# -- a damaged index ----------------------------------------------------------------------------
DAMAGED_INDEXES = {
    "empty": (b"", "is empty"),
    "cut mid-line": (b'model_checkpoint_path: "model.ckpt-2', "is damaged (line 1 is not a checkpoint state entry"),
    "garbage": (b"\x00\xffPK\x03\x04 not an index\n", "is unreadable"),
    "names a file that is gone": (
        b'model_checkpoint_path: "model.ckpt-99"\nall_model_checkpoint_paths: "model.ckpt-99"\n',
        "names model.ckpt-99, whose file",
    ),
}


@pytest.mark.parametrize("damage", sorted(DAMAGED_INDEXES))
def test_a_damaged_index_resumes_from_the_newest_checkpoint_on_disk(trained, damage, caplog):
    model_dir, est = trained
    expected = _predictions(est)
    content, problem = DAMAGED_INDEXES[damage]
    (model_dir / "checkpoint").write_bytes(content)
    est = _estimator(model_dir)
    with caplog.at_level(logging.WARNING, logger="torch_estimator"):
        np.testing.assert_array_equal(_predictions(est), expected)
        est.train(_input(), steps=5)
    warning = f"The checkpoint index {model_dir}/checkpoint {problem}"
    assert any(warning in r.getMessage() and "model.ckpt-20.safetensors" in r.getMessage() for r in caplog.records), (
        caplog.text
    )
    assert est.get_variable_value("global_step") == 25
    assert _checkpoint.read_index(str(model_dir)).problem is None  # the next save wrote a sound index
    assert _steps_on_disk(model_dir) == [15, 20, 25]  # no earlier checkpoint orphaned or lost


def test_a_damaged_index_without_checkpoint_files_raises(trained):
    model_dir, _ = trained
    for prefix in _checkpoint.on_disk(str(model_dir)):
        os.unlink(prefix + _checkpoint.SUFFIX)
    est = _estimator(model_dir)
    with pytest.raises(
        te.errors.NotFoundError, match="whose file .* does not exist, and .* holds no checkpoint file to recover from"
    ):
        est.train(_input(), steps=5)


def test_a_missing_index_with_checkpoint_files_resumes_with_a_warning(trained, caplog):
    model_dir, _ = trained
    os.unlink(model_dir / "checkpoint")
    with caplog.at_level(logging.WARNING, logger="torch_estimator"):
        est = _estimator(model_dir).train(_input(), steps=1)
    assert "checkpoint is missing; using the newest checkpoint file on disk" in caplog.text
    assert est.get_variable_value("global_step") == 21


# -- bit rot and truncation ---------------------------------------------------------------------
def _flip_bytes_of(prefix: str, name: str, count: int = 4) -> None:
    """Flips ``count`` bytes in the stored data of tensor ``name`` (as a disk error would)."""
    path = prefix + _checkpoint.SUFFIX
    data = bytearray(Path(path).read_bytes())
    header_len = int.from_bytes(data[:8], "little")
    import json

    start, _ = json.loads(data[8 : 8 + header_len])[name]["data_offsets"]
    for i in range(count):
        data[8 + header_len + start + i] ^= 0x5A
    Path(path).write_bytes(bytes(data))


def test_bit_rot_is_detected_and_named(trained, caplog):
    model_dir, est = trained
    _flip_bytes_of(str(model_dir / "model.ckpt-20"), "logits/kernel")
    message = re.escape(
        f"Checksum mismatch in the checkpoint file {model_dir}/model.ckpt-20.safetensors: tensor 'logits/kernel'"
    )
    with pytest.raises(te.errors.DataLossError, match=message):
        _predictions(_estimator(model_dir), checkpoint_path=str(model_dir / "model.ckpt-20"))
    with pytest.raises(te.errors.DataLossError, match=message):
        _checkpoint.load_variable(str(model_dir / "model.ckpt-20"), "logits/kernel")
    # The latest is damaged, older ones are intact: fall back to the newest intact one, loudly.
    with caplog.at_level(logging.WARNING, logger="torch_estimator"):
        fallback = _predictions(_estimator(model_dir))
    assert "restoring the newest intact checkpoint, " + str(model_dir / "model.ckpt-15") in caplog.text
    np.testing.assert_array_equal(
        fallback, _predictions(_estimator(model_dir), checkpoint_path=str(model_dir / "model.ckpt-15"))
    )
    assert np.abs(fallback).max() < 100


def test_a_truncated_latest_checkpoint_resumes_from_the_newest_intact_one(trained, caplog):
    model_dir, _ = trained
    path = model_dir / "model.ckpt-20.safetensors"
    path.write_bytes(path.read_bytes()[:1000])
    est = _estimator(model_dir)
    with caplog.at_level(logging.WARNING, logger="torch_estimator"):
        est.train(_input(), steps=3)
    assert f"Unable to read the checkpoint file {path}" in caplog.text and "model.ckpt-15" in caplog.text
    assert est.get_variable_value("global_step") == 18
    assert _steps_on_disk(model_dir) == [10, 15, 18]  # the truncated file of the abandoned step 20 is gone
    est.train(_input(), steps=2)
    assert est.get_variable_value("global_step") == 20


def test_nothing_intact_raises_naming_every_file(trained):
    model_dir, _ = trained
    for prefix in _checkpoint.on_disk(str(model_dir)):
        Path(prefix + _checkpoint.SUFFIX).write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(
        te.errors.DataLossError, match="No intact checkpoint in .*model.ckpt-20.*model.ckpt-15.*model.ckpt-10"
    ):
        _estimator(model_dir).train(_input(), steps=1)


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "header too small"),
        (b"PK\x03\x04" + bytes(60), "header"),
        (b"\x10\x00\x00\x00\x00\x00\x00\x00" + b"{not json}      ", ""),
    ],
)
def test_every_load_error_names_the_file(tmp_path, content, problem):
    path = tmp_path / "model.ckpt-1.safetensors"
    path.write_bytes(content)
    with pytest.raises(
        te.errors.DataLossError, match=f"Unable to read the checkpoint file {re.escape(str(path))}: .*{problem}"
    ):
        _checkpoint.load(str(tmp_path / "model.ckpt-1"))
    with pytest.raises(te.errors.NotFoundError, match="does not exist"):
        _checkpoint.load(str(tmp_path / "model.ckpt-2"))


def test_a_file_without_checksums_is_refused(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.ones(2), "global_step": torch.tensor(1)}, str(tmp_path / "model.ckpt-1.safetensors"))
    with pytest.raises(te.errors.DataLossError, match="has no checksums"):
        _checkpoint.load(str(tmp_path / "model.ckpt-1"))


# -- leftovers of killed runs -------------------------------------------------------------------
def test_leftovers_of_a_killed_save_are_cleaned_at_the_next_save(trained):
    model_dir, _ = trained
    ckpt20 = (model_dir / "model.ckpt-20.safetensors").read_bytes()
    (model_dir / "model.ckpt-40.safetensors").write_bytes(ckpt20)  # renamed, index not yet updated
    (model_dir / "model.ckpt-5.safetensors").write_bytes(ckpt20)  # index updated, not yet pruned
    (model_dir / ".tmp-model.ckpt-25.safetensors-abc").write_bytes(b"half a file")
    _estimator(model_dir).train(_input(), steps=5)
    assert sorted(os.listdir(model_dir)) == sorted(
        [
            ".train.lock",
            "checkpoint",
            "model.ckpt-15.safetensors",
            "model.ckpt-20.safetensors",
            "model.ckpt-25.safetensors",
        ]
        + [n for n in os.listdir(model_dir) if n.startswith("events.out")]
    )


def test_keep_checkpoint_every_n_hours_preserved_files_survive_later_runs(tmp_path, monkeypatch):
    saver = _checkpoint.Saver(str(tmp_path), max_to_keep=1, keep_checkpoint_every_n_hours=1.0, start_step=0)
    tensors = {"global_step": torch.tensor(0)}
    now = time.time()
    for step in (1, 2, 3):
        saver.save("model.ckpt", step, tensors, {})
        os.utime(tmp_path / f"model.ckpt-{step}.safetensors", (now + 3600 * step * 1.5,) * 2)
    saver.save("model.ckpt", 4, tensors, {})
    preserved = _steps_on_disk(tmp_path)
    assert preserved[-1] == 4 and len(preserved) > 1
    later = _checkpoint.Saver(str(tmp_path), max_to_keep=1, keep_checkpoint_every_n_hours=1.0, start_step=4)
    later.save("model.ckpt", 5, tensors, {})
    assert _steps_on_disk(tmp_path) == preserved[:-1] + [5]


# -- one writer per model_dir -------------------------------------------------------------------
_HOLDER = textwrap.dedent(
    """
    import sys, time, numpy as np, torch_estimator as te
    sys.path.insert(0, sys.argv[2])
    from conftest import dense_model_fn, make_binary_data

    class Wait(te.SessionRunHook):
        def before_run(self, context):
            return te.SessionRunArgs("global_step")

        def after_run(self, context, values):
            if values.results >= 3:
                open(sys.argv[3], "w").close()
                time.sleep(120)

    x, y = make_binary_data(128)
    est = te.Estimator(dense_model_fn, model_dir=sys.argv[1], params={}, config=te.RunConfig(save_checkpoints_steps=2))
    input_fn = te.inputs.numpy_input_fn({"x": x}, y, batch_size=32, num_epochs=None, shuffle=True)
    est.train(input_fn, hooks=[Wait()], steps=1000)
    """
)


def test_a_second_trainer_fails_at_once_and_readers_keep_working(tmp_path):
    model_dir = tmp_path / "model"
    started = tmp_path / "started"
    script = tmp_path / "holder.py"
    script.write_text(_HOLDER)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    holder = subprocess.Popen(
        [sys.executable, str(script), str(model_dir), os.path.dirname(__file__), str(started)], env=env
    )
    try:
        deadline = time.time() + 120
        while not started.exists():
            assert holder.poll() is None and time.time() < deadline, "the first trainer did not start"
            time.sleep(0.1)
        est = _estimator(model_dir, save_checkpoints_steps=2)
        with pytest.raises(
            te.errors.ModelDirLockedError,
            match=f"model_dir {model_dir} is being trained by another process \\(pid {holder.pid} on host",
        ):
            est.train(_input(), steps=5)
        # Readers need no lock.
        assert est.get_variable_value("global_step") >= 2
        assert len(_predictions(est)) == 8
        assert "accuracy" in est.evaluate(_input(num_epochs=1))
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
        # The kernel released the killed holder's lock: training goes on from its checkpoint.
        step = est.get_variable_value("global_step")
        est.train(_input(), steps=2)
        assert est.get_variable_value("global_step") == step + 2
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_the_lock_is_released_when_training_fails(tmp_path):
    def failing_input_fn():
        raise RuntimeError("input broke")

    est = _estimator(tmp_path)
    with pytest.raises(RuntimeError, match="input broke"):
        est.train(failing_input_fn, steps=1)
    est.train(_input(), steps=1)
    assert est.get_variable_value("global_step") == 1
