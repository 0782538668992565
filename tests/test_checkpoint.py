"""The checkpoint layout on its own (``_core/checkpoint.py``): the index's text format, the Saver's
pruning, resolving a path to a prefix, and reading variables back. What training makes of it
(damage, crashes, the training lock) is in test_checkpoint_integrity.py and test_crash_safety.py."""

from __future__ import annotations

import os
import re

import pytest
import torch

from torch_estimator._core import checkpoint as _checkpoint
from torch_estimator._core.errors import DataLossError, NotFoundError

TENSORS = {"global_step": torch.tensor(3), "dense/kernel": torch.arange(6.0).reshape(2, 3), "bias": torch.ones(4)}


def _save(directory, step: int, max_to_keep: int | None = 5, **kwargs) -> str:
    return _checkpoint.Saver(str(directory), max_to_keep, **kwargs).save("model.ckpt", step, TENSORS, {})


def _write_index(directory, text: str | bytes) -> None:
    data = text.encode() if isinstance(text, str) else text
    (directory / _checkpoint.INDEX).write_bytes(data)


def _steps(directory) -> list[int]:
    return sorted(_checkpoint.step_of(p) or 0 for p in _checkpoint.on_disk(str(directory)))


# -- prefixes and files -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("prefix", "step"),
    [("/d/model.ckpt-120", 120), ("model.ckpt-0", 0), ("/d/my-model-7", 7), ("/d/model.ckpt", None), ("x-y", None)],
)
def test_step_of(prefix, step):
    assert _checkpoint.step_of(prefix) == step


def test_on_disk_lists_checkpoint_files_newest_step_first(tmp_path):
    for step in (2, 10, 1):
        (tmp_path / f"model.ckpt-{step}.safetensors").write_bytes(b"")
    (tmp_path / "model.ckpt-3.index").write_bytes(b"")  # TensorFlow's checkpoint, named by its index
    (tmp_path / "model.ckpt-3.data-00000-of-00001").write_bytes(b"")
    (tmp_path / "model.ckpt-12.meta").write_bytes(b"")  # a graph, not a checkpoint
    (tmp_path / "notes.txt").write_bytes(b"")
    assert _checkpoint.on_disk(str(tmp_path)) == [str(tmp_path / f"model.ckpt-{s}") for s in (10, 3, 2, 1)]
    assert _checkpoint.on_disk(str(tmp_path / "missing")) == []


# -- the index -----------------------------------------------------------------------------------
def test_read_index_of_tensorflows_format(tmp_path):
    for step in (5, 10):
        _save(tmp_path, step)
    _write_index(
        tmp_path,
        'model_checkpoint_path: "model.ckpt-10"\n'
        'all_model_checkpoint_paths: "model.ckpt-5"\n'
        f'all_model_checkpoint_paths: "{tmp_path / "model.ckpt-10"}"\n'
        "all_model_checkpoint_timestamps: 1700000000.5\n"
        "last_preserved_timestamp: 1699999999.25\n",
    )
    index = _checkpoint.read_index(str(tmp_path))
    assert index.problem is None
    assert index.latest == str(tmp_path / "model.ckpt-10")  # relative entries are made absolute
    assert index.kept == [str(tmp_path / "model.ckpt-5"), str(tmp_path / "model.ckpt-10")]
    assert index.last_preserved == 1699999999.25


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "is empty"),
        ("\n\n", "is empty"),
        ('model_checkpoint_path: "model.ckpt-5"', "is cut short (no final newline)"),
        ('all_model_checkpoint_paths: "model.ckpt-5"\n', "names no model_checkpoint_path"),
        ("model_checkpoint_path: model.ckpt-5\n", "is damaged (line 1 is not a checkpoint state entry"),
        ('model_checkpoint_path: "model.ckpt-5"\n\x00\x01garbage\n', "is damaged (line 2 is not"),
        (b"\xff\xfe not utf-8\n", "is unreadable"),
        ('model_checkpoint_path: "model.ckpt-99"\n', "names model.ckpt-99, whose file"),
    ],
)
def test_read_index_names_what_is_wrong(tmp_path, text, problem):
    _save(tmp_path, 5)
    _write_index(tmp_path, text)
    index = _checkpoint.read_index(str(tmp_path))
    assert index.problem is not None and index.problem.startswith(problem), index.problem


def test_read_index_without_an_index(tmp_path):
    assert _checkpoint.read_index(str(tmp_path)).problem is None  # a fresh model_dir
    (tmp_path / "model.ckpt-5.safetensors").write_bytes(b"")
    assert _checkpoint.read_index(str(tmp_path)).problem == "is missing"


def test_the_saver_writes_an_index_tensorflow_reads(tmp_path):
    for step in (1, 2):
        _save(tmp_path, step)
    text = (tmp_path / _checkpoint.INDEX).read_text()
    assert text == (
        'model_checkpoint_path: "model.ckpt-2"\n'
        'all_model_checkpoint_paths: "model.ckpt-1"\n'
        'all_model_checkpoint_paths: "model.ckpt-2"\n'
    )
    assert _checkpoint.latest_checkpoint(str(tmp_path)) == str(tmp_path / "model.ckpt-2")


def test_latest_checkpoint(tmp_path):
    assert _checkpoint.latest_checkpoint(None) is None
    assert _checkpoint.latest_checkpoint("") is None
    assert _checkpoint.latest_checkpoint(str(tmp_path)) is None
    _save(tmp_path, 3)
    _save(tmp_path, 8)
    _write_index(tmp_path, "garbage\n")
    assert _checkpoint.latest_checkpoint(str(tmp_path)) == str(tmp_path / "model.ckpt-8")  # newest file on disk
    for step in (3, 8):
        os.unlink(tmp_path / f"model.ckpt-{step}.safetensors")
    with pytest.raises(NotFoundError, match="holds no checkpoint file to recover from"):
        _checkpoint.latest_checkpoint(str(tmp_path))


# -- the Saver's pruning -------------------------------------------------------------------------
def test_the_saver_keeps_the_newest_max_to_keep(tmp_path):
    saver = _checkpoint.Saver(str(tmp_path), max_to_keep=2)
    for step in range(1, 6):
        prefix = saver.save("model.ckpt", step, TENSORS, {})
        assert prefix == str(tmp_path / f"model.ckpt-{step}")
    assert _steps(tmp_path) == [4, 5]
    index = _checkpoint.read_index(str(tmp_path))
    assert index.latest == str(tmp_path / "model.ckpt-5")
    assert index.kept == [str(tmp_path / "model.ckpt-4"), str(tmp_path / "model.ckpt-5")]


@pytest.mark.parametrize("max_to_keep", [0, None])
def test_max_to_keep_zero_or_none_keeps_every_file_and_names_only_the_latest(tmp_path, max_to_keep):
    saver = _checkpoint.Saver(str(tmp_path), max_to_keep=max_to_keep)
    for step in range(1, 5):
        saver.save("model.ckpt", step, TENSORS, {})
    assert _steps(tmp_path) == [1, 2, 3, 4]
    assert _checkpoint.read_index(str(tmp_path)).kept == [str(tmp_path / "model.ckpt-4")]


def test_a_new_saver_continues_the_window_of_the_index(tmp_path):
    for step in (1, 2, 3):
        _save(tmp_path, step, max_to_keep=3)
    _save(tmp_path, 4, max_to_keep=3)
    assert _steps(tmp_path) == [2, 3, 4]


def test_resaving_a_step_replaces_it_once_in_the_index(tmp_path):
    saver = _checkpoint.Saver(str(tmp_path), max_to_keep=5)
    for step in (1, 2, 2):
        saver.save("model.ckpt", step, TENSORS, {})
    assert _checkpoint.read_index(str(tmp_path)).kept == [str(tmp_path / f"model.ckpt-{s}") for s in (1, 2)]


def test_later_steps_of_an_abandoned_run_are_deleted_at_the_next_save(tmp_path):
    for step in (1, 2, 3):
        _save(tmp_path, step)
    _write_index(tmp_path, 'model_checkpoint_path: "model.ckpt-1"\nall_model_checkpoint_paths: "model.ckpt-1"\n')
    _save(tmp_path, 2, start_step=1)  # resumed from step 1: step 3 belongs to a run that did not finish
    assert _steps(tmp_path) == [1, 2]


def test_without_start_step_the_saver_deletes_only_what_it_prunes(tmp_path):
    for step in (1, 2, 3):
        _save(tmp_path, step)
    _write_index(tmp_path, 'model_checkpoint_path: "model.ckpt-1"\nall_model_checkpoint_paths: "model.ckpt-1"\n')
    _save(tmp_path, 2)
    assert _steps(tmp_path) == [1, 2, 3]


def test_a_new_saver_removes_temporary_files_of_interrupted_saves(tmp_path):
    leftover = tmp_path / (_checkpoint.TMP_PREFIX + "model.ckpt-7.safetensors-abc")
    leftover.write_bytes(b"half")
    _checkpoint.Saver(str(tmp_path))
    assert not leftover.exists()


def test_metadata_is_stored_with_the_format(tmp_path):
    prefix = _checkpoint.Saver(str(tmp_path)).save("model.ckpt", 1, TENSORS, {"rng/torch": "abc"})
    tensors, metadata = _checkpoint.load(prefix)
    assert metadata == {"format": _checkpoint.FORMAT, "rng/torch": "abc"}
    assert set(tensors) == set(TENSORS)
    for name, value in TENSORS.items():
        torch.testing.assert_close(tensors[name], value)


# -- resolving and reading -----------------------------------------------------------------------
def test_resolve_a_prefix_a_file_or_a_directory(tmp_path):
    first, latest = _save(tmp_path, 1), _save(tmp_path, 2)
    assert _checkpoint.resolve(first) == first
    assert _checkpoint.resolve(first + _checkpoint.SUFFIX) == first
    assert _checkpoint.resolve(str(tmp_path)) == latest
    assert _checkpoint.resolve(str(tmp_path / "model.ckpt-9")) is None
    assert _checkpoint.resolve(str(tmp_path / "nowhere")) is None
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _checkpoint.resolve(str(empty)) is None


def test_list_variables_sorted_with_shapes(tmp_path):
    prefix = _save(tmp_path, 1)
    assert _checkpoint.list_variables(prefix) == [("bias", [4]), ("dense/kernel", [2, 3]), ("global_step", [])]


def test_load_variable(tmp_path):
    prefix = _save(tmp_path, 1)
    torch.testing.assert_close(_checkpoint.load_variable(prefix, "dense/kernel"), TENSORS["dense/kernel"])
    with pytest.raises(NotFoundError, match=re.escape("Key nope not found in the checkpoint file")):
        _checkpoint.load_variable(prefix, "nope")


def test_load_newest_intact_falls_back_to_an_older_checkpoint(tmp_path, caplog):
    older, latest = _save(tmp_path, 1), _save(tmp_path, 2)
    with open(latest + _checkpoint.SUFFIX, "r+b") as f:
        f.truncate(20)
    prefix, tensors, _ = _checkpoint.load_newest_intact(str(tmp_path), latest)
    assert prefix == older and set(tensors) == set(TENSORS)
    assert "The latest checkpoint is damaged" in caplog.text
    os.unlink(older + _checkpoint.SUFFIX)
    with pytest.raises(DataLossError, match="No intact checkpoint in"):
        _checkpoint.load_newest_intact(str(tmp_path), latest)
