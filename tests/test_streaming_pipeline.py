"""The stages of the streaming input pipeline on their own (torch_estimator._inputs.streaming):
sharding, the shuffle buffer, the batcher and its vocabularies; and the shared Batches iterable
and argument checks of torch_estimator._inputs."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from torch_estimator._core.batches import Batches
from torch_estimator._inputs.arguments import check_count, check_flag
from torch_estimator._inputs.streaming.batching import Batcher
from torch_estimator._inputs.streaming.files import part_slice, shard_units
from torch_estimator._inputs.streaming.shuffle import ShuffleBuffer

FILES = ["a", "b", "c", "d"]


# -- sharding ------------------------------------------------------------------------------------


def test_enough_files_are_dealt_out_round_robin():
    assert shard_units(FILES, 2, 1) == ([("b", None), ("d", None)], None)
    assert shard_units(FILES, 1, 0) == ([(path, None) for path in FILES], None)


def test_fewer_files_than_pipelines_split_row_groups_when_there_are_enough():
    # (file, row group) pairs in order: a0 a1 a2 b0 b1 b2; pipeline 1 of 4 reads the 2nd and the 6th.
    units, part = shard_units(FILES[:2], 4, 1, row_groups=lambda path: 3)
    assert units == [("a", [1]), ("b", [2])] and part is None


def test_otherwise_every_pipeline_reads_every_file_and_keeps_its_slice_of_each_block():
    assert shard_units(FILES[:2], 8, 5, row_groups=lambda path: 3) == ([("a", None), ("b", None)], (5, 8))
    assert shard_units(FILES[:1], 3, 0) == ([("a", None)], (0, 3))


@pytest.mark.parametrize("num_rows", [0, 1, 7, 100])
@pytest.mark.parametrize("shards", [1, 3, 8])
def test_the_slices_of_a_block_partition_its_rows(num_rows, shards):
    slices = [part_slice(num_rows, (shard, shards)) for shard in range(shards)]
    assert slices[0][0] == 0 and slices[-1][1] == num_rows
    assert all(hi == next_lo for (_, hi), (next_lo, _) in zip(slices, slices[1:]))
    assert part_slice(num_rows, None) == (0, num_rows)


# -- shuffle buffer ------------------------------------------------------------------------------


def _ids(lo: int, hi: int) -> dict[str, np.ndarray]:
    return {"id": np.arange(lo, hi)}


def test_the_shuffle_buffer_lets_every_row_out_exactly_once():
    buffer = ShuffleBuffer(10, np.random.default_rng(0))
    out = []
    for lo in range(0, 95, 19):
        out += [chunk["id"] for chunk in buffer.add(_ids(lo, lo + 19))]
    assert sum(len(ids) for ids in out) == 95 - 10  # the buffer holds its size until drained
    out.append(buffer.drain()["id"])
    assert sorted(np.concatenate(out)) == list(range(95))
    assert buffer.drain() is None and buffer.held() == []


def test_the_shuffle_buffer_holds_rows_until_it_is_full():
    buffer = ShuffleBuffer(10, np.random.default_rng(0))
    assert buffer.add(_ids(0, 6)) == []
    assert [len(chunk["id"]) for chunk in buffer.add(_ids(6, 13))] == [3]
    assert sum(len(chunk["id"]) for chunk in buffer.held()) == 10


def test_the_shuffle_order_is_the_seed_s():
    def order(seed: int) -> list[int]:
        buffer = ShuffleBuffer(8, np.random.default_rng(seed))
        leaving = buffer.add(_ids(0, 40))
        return np.concatenate([chunk["id"] for chunk in [*leaving, buffer.drain()]]).tolist()

    assert order(1) == order(1) and order(1) != order(2) and sorted(order(1)) == list(range(40))


# -- batcher -------------------------------------------------------------------------------------


def _raw(words: list[str], labels: list[int]) -> dict:
    return {"word": pa.array(words).dictionary_encode(), "label": np.asarray(labels, dtype=np.int64)}


def test_batches_run_across_epochs_and_only_the_last_is_smaller():
    batcher = Batcher(4, "label", shuffle=None)
    batches = list(batcher.add(_raw(["a", "b", "c"], [0, 1, 2])))
    batches += list(batcher.end_epoch())
    batches += list(batcher.add(_raw(["d", "e", "f"], [3, 4, 5])))
    batches += list(batcher.end_epoch()) + list(batcher.end())
    assert [labels.tolist() for _, labels in batches] == [[0, 1, 2, 3], [4, 5]]
    assert [features["word"].tolist() for features, _ in batches] == [["a", "b", "c", "d"], ["e", "f"]]


def test_string_features_share_one_dictionary_while_it_is_small():
    batcher = Batcher(2, None, shuffle=None)
    first, second = batcher.add({"word": pa.array(["x", "y", "x", "z"]).dictionary_encode()})
    assert first["word"].dictionary is second["word"].dictionary
    assert second["word"].tolist() == ["x", "z"]


def test_a_large_vocabulary_is_compacted_without_changing_any_string():
    batcher = Batcher(1000, None, ShuffleBuffer(50, np.random.default_rng(3)))
    words = [f"w{i}" for i in range(20000)]  # all distinct: the vocabulary outgrows the rows in flight
    out = []
    for lo in range(0, len(words), 1000):
        out += list(batcher.add({"word": pa.array(words[lo : lo + 1000]).dictionary_encode()}))
    out += list(batcher.end_epoch()) + list(batcher.end())
    assert len(batcher.vocabularies["word"].values) < 2 * 1100 + 4096
    assert sorted(np.concatenate([batch["word"] for batch in out]).tolist()) == sorted(words)


# -- Batches and argument checks -----------------------------------------------------------------


def test_batches_are_made_afresh_by_every_iteration_and_sized_when_known():
    sized = Batches(lambda: iter([1, 2, 3]), 3)
    assert list(sized) == list(sized) == [1, 2, 3]
    assert len(sized) == sized.known_length == 3
    unsized = Batches(lambda: iter([1]))
    assert unsized.known_length is None
    with pytest.raises(TypeError, match="not known up front"):
        len(unsized)


@pytest.mark.parametrize("value", [0, -1, 2.5, True, "3", None])
def test_check_count_names_the_argument_and_the_value(value):
    with pytest.raises(ValueError, match=f"^n must be an integer >= 1; got {value!r}\\.$".replace("(", r"\(")):
        check_count("n", value, 1)


def test_check_count_accepts_integers_and_none_when_allowed():
    assert check_count("n", np.int32(3), 1) == 3 and type(check_count("n", np.int32(3), 1)) is int
    assert check_count("n", None, 1, allow_none=True) is None
    with pytest.raises(ValueError, match=r"^n must be an integer >= 0 or None; got -1\.$"):
        check_count("n", -1, 0, allow_none=True)
    with pytest.raises(ValueError, match=r"^n must be a positive integer; got 0\.$"):
        check_count("n", 0, 1, expected="a positive integer")


def test_check_flag():
    assert check_flag("f", False) is False
    with pytest.raises(ValueError, match=r"^f must be True or False; got 1\.$"):
        check_flag("f", 1)
    with pytest.raises(ValueError, match="^custom$"):
        check_flag("f", None, "custom")
