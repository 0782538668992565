"""Tests for the streaming CSV / Parquet input functions (torch_estimator._inputs.streaming)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import torch_estimator as te
from torch_estimator._core.values import EncodedStrings
from torch_estimator._engine.distribute import InputContext
from torch_estimator._inputs.streaming import make_csv_input_fn, make_parquet_input_fn

CENSUS = Path(te.__file__).parent / "datasets" / "census" / "adult.data.csv.gz"
PREFETCH_THREAD = "torch_estimator-input-prefetch"


def _frame(n: int, start: int = 0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(start, start + n, dtype=np.int64),
            "score": rng.normal(size=n).round(3).astype(np.float32),
            "color": rng.choice(["red", "green", "blue"], size=n),
            "label": rng.integers(0, 2, size=n),
        }
    )


def _write_csv(path: Path, frame: pd.DataFrame, header: bool = True) -> Path:
    frame.to_csv(path, index=False, header=header)
    return path


def _rows(batches, key: str = "id") -> np.ndarray:
    """The ``key`` column of every batch, in order (features dict or (features, labels))."""
    parts = [(b[0] if isinstance(b, tuple) else b)[key] for b in batches]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def _prefetch_threads() -> int:
    return sum(t.name == PREFETCH_THREAD for t in threading.enumerate())


def _wait_for_no_prefetch_threads(timeout: float = 5.0) -> int:
    deadline = time.monotonic() + timeout
    while _prefetch_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    return _prefetch_threads()


# ---------------------------------------------------------------------------------------------
# CSV: values, types, options
# ---------------------------------------------------------------------------------------------


def test_csv_values_dtypes_and_labels(tmp_path):
    frame = _frame(50)
    path = _write_csv(tmp_path / "data.csv", frame)
    batches = list(make_csv_input_fn(str(path), batch_size=16, label_key="label", num_epochs=1, shuffle=False)())

    assert [len(labels) for _, labels in batches] == [16, 16, 16, 2]
    features, labels = batches[0]
    assert list(features) == ["id", "score", "color"]
    assert features["id"].dtype == np.int64 and features["score"].dtype == np.float32
    assert isinstance(features["color"], EncodedStrings) and features["color"].dtype == object
    np.testing.assert_array_equal(features["color"].dictionary[features["color"].codes], features["color"])
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(_rows(batches), frame["id"])
    np.testing.assert_allclose(_rows(batches, "score"), frame["score"])
    np.testing.assert_array_equal(_rows(batches, "color"), frame["color"])
    np.testing.assert_array_equal(np.concatenate([labels for _, labels in batches]), frame["label"])


def test_csv_label_name_is_tfs_name_for_label_key(tmp_path):
    path = _write_csv(tmp_path / "data.csv", _frame(20))
    by_name = list(make_csv_input_fn(str(path), batch_size=8, label_name="label", num_epochs=1, shuffle=False)())
    by_key = list(make_csv_input_fn(str(path), batch_size=8, label_key="label", num_epochs=1, shuffle=False)())
    assert [list(f) for f, _ in by_name] == [list(f) for f, _ in by_key] == [["id", "score", "color"]] * 3
    for (_, a), (_, b) in zip(by_name, by_key):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="label_key='id' and label_name='label' differ"):
        make_csv_input_fn(str(path), batch_size=8, label_key="id", label_name="label")


def test_csv_without_label_yields_features_alone(tmp_path):
    path = _write_csv(tmp_path / "data.csv", _frame(5))
    (batch,) = list(make_csv_input_fn(str(path), batch_size=8, num_epochs=1, shuffle=False)())
    assert isinstance(batch, dict) and list(batch) == ["id", "score", "color", "label"]


def test_csv_without_header_takes_column_names_and_defaults(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("1,2.5,a\n2,,b\n3,7,\n")
    fn = make_csv_input_fn(
        str(path),
        batch_size=10,
        column_names=["n", "x", "s"],
        column_defaults=[np.int32, [-1.0], "none"],
        header=False,
        num_epochs=1,
        shuffle=False,
    )
    (batch,) = list(fn())
    assert batch["n"].dtype == np.int32 and batch["x"].dtype == np.float32
    np.testing.assert_array_equal(batch["n"], [1, 2, 3])
    np.testing.assert_array_equal(batch["x"], [2.5, -1.0, 7.0])
    np.testing.assert_array_equal(batch["s"], ["a", "b", "none"])

    with pytest.raises(ValueError, match="Expected `column_names` or `header` arguments"):
        make_csv_input_fn(str(path), batch_size=10, header=False)


def test_csv_column_defaults_dtypes_and_required_columns(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b,c\n1,2,x\n3,,y\n")
    (batch,) = list(make_csv_input_fn(str(path), 4, column_defaults=[np.float64, 0, ""], num_epochs=1, shuffle=False)())
    assert batch["a"].dtype == np.float64 and batch["b"].dtype == np.int64
    np.testing.assert_array_equal(batch["b"], [2, 0])

    fn = make_csv_input_fn(str(path), 4, column_defaults=[0.0, int, str], num_epochs=1, shuffle=False)
    with pytest.raises(ValueError, match=r"data\.csv, line 3: column 'b': a value is required but missing"):
        list(fn())
    with pytest.raises(TypeError, match=r"column_defaults\[1\] \(column 'b'\)"):
        make_csv_input_fn(str(path), 4, column_defaults=[0.0, {"x": 1}, ""])
    with pytest.raises(ValueError, match=r"one item per column \(3: \['a', 'b', 'c'\]\); got 2"):
        make_csv_input_fn(str(path), 4, column_defaults=[0.0, 0])
    with pytest.raises(ValueError, match=r"one item per selected column \(2: \['a', 'c'\]\); got 3"):
        make_csv_input_fn(str(path), 4, select_columns=["a", "c"], column_defaults=[0.0, 0, ""])


def test_csv_select_columns_by_name_or_index_in_file_order(tmp_path):
    path = _write_csv(tmp_path / "data.csv", _frame(6))
    for select in (["label", "id"], [3, 0]):
        (batch,) = list(
            make_csv_input_fn(str(path), 8, label_key="label", select_columns=select, num_epochs=1, shuffle=False)()
        )
        features, labels = batch
        assert list(features) == ["id"] and len(labels) == 6
    with pytest.raises(
        ValueError,
        match=r"Column 'nope' specified in `select_columns` .* columns are \['id', 'score', 'color', 'label'\]",
    ):
        make_csv_input_fn(str(path), 8, select_columns=["id", "nope"])
    with pytest.raises(
        ValueError, match=r"`label_key` provided must be one of the columns: \['id'\]\. Received: 'label'"
    ):
        make_csv_input_fn(str(path), 8, label_key="label", select_columns=["id"])


def test_csv_na_value_and_type_inference(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("i,f,s,mixed,empty,big\n1,1.5,a,1,,1e300\n?,2,?,x,,2\n3,?,c,2.5,,3\n")
    (batch,) = list(make_csv_input_fn(str(path), 8, na_value="?", num_epochs=1, shuffle=False)())
    assert {k: v.dtype.name for k, v in batch.items()} == {
        "i": "int64",
        "f": "float32",
        "s": "object",
        "mixed": "object",
        "empty": "object",
        "big": "float64",
    }
    np.testing.assert_array_equal(batch["i"], [1, 0, 3])  # inferred columns default to 0 / ''
    np.testing.assert_array_equal(batch["f"], [1.5, 2.0, 0.0])
    np.testing.assert_array_equal(batch["s"], ["a", "", "c"])
    np.testing.assert_array_equal(batch["mixed"], ["1", "x", "2.5"])


def test_csv_inference_reads_only_num_rows_for_inference(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a\n" + "1\n" * 5 + "x\n")
    fn = make_csv_input_fn(str(path), 8, num_rows_for_inference=5, num_epochs=1, shuffle=False)
    with pytest.raises(ValueError, match=r"line 7: column 'a': could not parse 'x' as int64"):
        list(fn())
    (batch,) = list(make_csv_input_fn(str(path), 8, num_rows_for_inference=None, num_epochs=1, shuffle=False)())
    assert batch["a"].dtype == object


def test_csv_reads_gzip_and_lists_of_patterns(tmp_path):
    frame = _frame(30)
    frame.iloc[:10].to_csv(tmp_path / "a.csv.gz", index=False, compression="gzip")
    frame.iloc[10:].to_csv(tmp_path / "b.csv", index=False)
    fn = make_csv_input_fn([str(tmp_path / "*.gz"), str(tmp_path / "b.csv")], 64, num_epochs=1, shuffle=False)
    np.testing.assert_array_equal(_rows(fn()), frame["id"])


def test_csv_quoted_fields_and_other_delimiters(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_text('a\tb\n"x\ty"\t1\n"say ""hi"""\t2\n')
    (batch,) = list(make_csv_input_fn(str(path), 4, field_delim="\t", num_epochs=1, shuffle=False)())
    np.testing.assert_array_equal(batch["a"], ["x\ty", 'say "hi"'])


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_no_files_matching_is_tf_error(tmp_path):
    with pytest.raises(ValueError, match=r"No files match `file_pattern` .*nothing-\*\.csv\."):
        make_csv_input_fn(str(tmp_path / "nothing-*.csv"), 4)
    with pytest.raises(ValueError, match="Argument `file_pattern` should not be empty."):
        make_parquet_input_fn([], 4)


def test_malformed_rows_name_file_and_line_even_in_later_blocks(tmp_path):
    frame = _frame(8000)
    lines = _write_csv(tmp_path / "data.csv", frame).read_text().splitlines()
    bad_fields, bad_number = 6001, 7001  # 0-based line indices: lines 6002 and 7002 of the file
    lines[bad_fields] = "1,2"
    lines[bad_number] = "7000,oops,red,1"
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    fn = make_csv_input_fn(str(tmp_path / "data.csv"), 100, num_epochs=1, shuffle=False, chunk_rows=1000)
    with pytest.raises(ValueError, match=r"data\.csv, line 6002: expected 4 fields but found 2: '1,2'"):
        list(fn())
    lines[bad_fields] = "6000,0.5,red,1"
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"data\.csv, line 7002: column 'score': could not parse 'oops' as float32"):
        list(make_csv_input_fn(str(tmp_path / "data.csv"), 100, num_epochs=1, shuffle=False, chunk_rows=1000)())


def test_ignore_errors_skips_malformed_records(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,2\n3\n4,x\n5,6,7\n8,9\n")
    fn = make_csv_input_fn(str(path), 10, column_defaults=[0, 0], ignore_errors=True, num_epochs=1, shuffle=False)
    (batch,) = list(fn())
    np.testing.assert_array_equal(batch["a"], [1, 8])
    np.testing.assert_array_equal(batch["b"], [2, 9])


def test_header_mismatch_between_files(tmp_path):
    _write_csv(tmp_path / "a.csv", _frame(3))
    _write_csv(tmp_path / "b.csv", _frame(3).rename(columns={"score": "points"}))
    with pytest.raises(
        ValueError, match=r"same column names in the header row\. File .*b\.csv has different column names"
    ):
        list(make_csv_input_fn(str(tmp_path / "*.csv"), 4, num_epochs=1, shuffle=False)())


def test_argument_errors(tmp_path):
    path = _write_csv(tmp_path / "data.csv", _frame(3))
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1; got 0"):
        make_csv_input_fn(str(path), 0)
    with pytest.raises(ValueError, match="num_epochs must be an integer >= 1 or None; got 0"):
        make_csv_input_fn(str(path), 4, num_epochs=0)
    with pytest.raises(ValueError, match="field_delim must be a single character; got ';;'"):
        make_csv_input_fn(str(path), 4, field_delim=";;")
    with pytest.raises(ValueError, match=r"duplicate column names: \['a'\]"):
        make_csv_input_fn(str(path), 4, column_names=["a", "a", "b", "c"])


# ---------------------------------------------------------------------------------------------
# Epochs, shuffling, sharding
# ---------------------------------------------------------------------------------------------


def _worker_rows(input_fn, workers: int, key: str = "id") -> list[np.ndarray]:
    return [_rows(input_fn(InputContext(workers, i)), key) for i in range(workers)]


def _assert_exactly_once_per_epoch(per_worker: list[np.ndarray], ids: np.ndarray, epochs: int) -> None:
    """Each worker's stream is its share once per epoch; the shares partition ``ids``."""
    firsts = []
    for rows in per_worker:
        assert len(rows) % epochs == 0
        share = len(rows) // epochs
        epoch_rows = rows.reshape(epochs, share)
        for later in epoch_rows[1:]:
            np.testing.assert_array_equal(np.sort(later), np.sort(epoch_rows[0]))
        firsts.append(epoch_rows[0])
    np.testing.assert_array_equal(np.sort(np.concatenate(firsts)), np.sort(ids))


@pytest.fixture
def csv_files(tmp_path) -> tuple[str, np.ndarray]:
    frames = [_frame(n, start) for n, start in ((700, 0), (500, 1000), (900, 2000))]
    for i, frame in enumerate(frames):
        _write_csv(tmp_path / f"part-{i}.csv", frame)
    return str(tmp_path / "part-*.csv"), np.concatenate([f["id"] for f in frames])


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_csv_file_level_sharding_exactly_once_per_epoch(csv_files, workers):
    pattern, ids = csv_files
    fn = make_csv_input_fn(pattern, 64, label_key="label", num_epochs=2, shuffle_buffer_size=200, shuffle_seed=3)
    _assert_exactly_once_per_epoch(_worker_rows(fn, workers), ids, epochs=2)


@pytest.mark.parametrize("workers", [2, 3])
def test_csv_row_level_sharding_exactly_once_per_epoch(tmp_path, workers):
    frame = _frame(20000)
    path = _write_csv(tmp_path / "one.csv", frame)
    fn = make_csv_input_fn(str(path), 100, num_epochs=2, shuffle_buffer_size=500, chunk_rows=3000, shuffle_seed=1)
    per_worker = _worker_rows(fn, workers)
    _assert_exactly_once_per_epoch(per_worker, frame["id"].to_numpy(), epochs=2)
    sizes = [len(rows) // 2 for rows in per_worker]
    assert max(sizes) - min(sizes) < 0.05 * len(frame)  # every block is split evenly


def test_unsharded_stream_is_in_file_order_without_shuffle(csv_files):
    pattern, ids = csv_files
    fn = make_csv_input_fn(pattern, 128, num_epochs=2, shuffle=False)
    np.testing.assert_array_equal(_rows(fn()), np.concatenate([ids, ids]))
    sizes = [len(b["id"]) for b in fn()]  # batches run across epochs: only the last is smaller
    assert sizes[:-1] == [128] * (len(sizes) - 1) and sizes[-1] == (2 * len(ids)) % 128


def test_shuffle_changes_order_not_multiset_and_is_seeded(csv_files):
    pattern, ids = csv_files
    first = _rows(make_csv_input_fn(pattern, 128, num_epochs=1, shuffle_seed=7, shuffle_buffer_size=300)())
    again = _rows(make_csv_input_fn(pattern, 128, num_epochs=1, shuffle_seed=7, shuffle_buffer_size=300)())
    other = _rows(make_csv_input_fn(pattern, 128, num_epochs=1, shuffle_seed=8, shuffle_buffer_size=300)())
    assert not np.array_equal(first, ids) and not np.array_equal(first, other)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(np.sort(first), np.sort(ids))
    # rows travel beyond their file: the buffer mixes neighbours
    assert np.abs(np.diff(first)).mean() > 10


def test_repeats_forever_when_num_epochs_is_none(csv_files):
    pattern, ids = csv_files
    batches = make_csv_input_fn(pattern, 500, shuffle_seed=0)()
    iterator = iter(batches)
    rows = np.concatenate([next(iterator)["id"] for _ in range(3 * len(ids) // 500)])
    iterator.close()
    counts = np.bincount(np.searchsorted(np.sort(ids), rows[: 2 * len(ids)]))
    assert counts.min() == counts.max() == 2  # two whole epochs first


def test_empty_shard_ends_instead_of_spinning(tmp_path):
    path = _write_csv(tmp_path / "tiny.csv", _frame(1))
    fn = make_csv_input_fn(str(path), 4)  # repeats forever, but only the last of 3 workers gets a row
    assert list(fn(InputContext(3, 0))) == []


def test_high_cardinality_strings_stay_correct_with_small_buffers(tmp_path):
    frame = pd.DataFrame({"key": [f"user-{i}" for i in range(30000)], "id": np.arange(30000)})
    path = _write_csv(tmp_path / "keys.csv", frame)
    batches = list(make_csv_input_fn(str(path), 256, num_epochs=2, shuffle_buffer_size=1000, chunk_rows=2000)())
    keys = np.concatenate([b["key"] for b in batches])
    ids = np.concatenate([b["id"] for b in batches])
    np.testing.assert_array_equal(keys, np.char.add("user-", ids.astype(str)).astype(object))
    # a vocabulary of up to 4096 strings is shared across batches; past that each batch has its own
    sizes = [len(b["key"].dictionary) for b in batches]
    assert max(sizes) <= 4096 and min(sizes) <= 256


# ---------------------------------------------------------------------------------------------
# Parquet
# ---------------------------------------------------------------------------------------------


def _write_parquet(path: Path, frame: pd.DataFrame, row_group_size: int) -> Path:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=row_group_size)
    return path


def test_parquet_values_and_dtypes(tmp_path):
    frame = _frame(40)
    frame["flag"] = frame["id"] % 2 == 0
    frame["small"] = frame["id"].astype(np.int8)
    path = _write_parquet(tmp_path / "data.parquet", frame, row_group_size=16)
    batches = list(make_parquet_input_fn(str(path), 16, label_key="label", num_epochs=1, shuffle=False)())
    features, labels = batches[0]
    assert {k: v.dtype.name for k, v in features.items()} == {
        "id": "int64",
        "score": "float32",
        "color": "object",
        "flag": "bool",
        "small": "int64",
    }
    assert isinstance(features["color"], EncodedStrings)
    np.testing.assert_array_equal(_rows(batches), frame["id"])
    np.testing.assert_array_equal(_rows(batches, "color"), frame["color"])
    np.testing.assert_array_equal(np.concatenate([labels for _, labels in batches]), frame["label"])
    (only,) = list(make_parquet_input_fn(str(path), 64, select_columns=["color"], num_epochs=1, shuffle=False)())
    assert list(only) == ["color"]


def test_parquet_nulls_and_unsupported_types(tmp_path):
    table = pa.table({"f": pa.array([1.0, None]), "s": pa.array(["a", None]), "i": pa.array([1, None])})
    pq.write_table(table, tmp_path / "nulls.parquet")
    (batch,) = list(
        make_parquet_input_fn(
            str(tmp_path / "nulls.parquet"), 4, select_columns=["f", "s"], num_epochs=1, shuffle=False
        )()
    )
    assert np.isnan(batch["f"][1]) and batch["s"][1] == ""
    with pytest.raises(ValueError, match=r"nulls\.parquet: column 'i' \(int64\) has 1 missing values"):
        list(make_parquet_input_fn(str(tmp_path / "nulls.parquet"), 4, num_epochs=1)())
    pq.write_table(pa.table({"t": pa.array([[1, 2]])}), tmp_path / "lists.parquet")
    with pytest.raises(TypeError, match=r"column 't' has type list<.*int64>; supported are"):
        make_parquet_input_fn(str(tmp_path / "lists.parquet"), 4)
    with pytest.raises(ValueError, match=r"`label_key` provided must be one of the columns: \['t'\]"):
        make_parquet_input_fn(str(tmp_path / "lists.parquet"), 4, label_key="y", select_columns=["t"])


@pytest.mark.parametrize("layout", ["files", "row_groups", "rows"])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_parquet_sharding_exactly_once_per_epoch(tmp_path, layout, workers):
    if layout == "files":
        frames = [_frame(300, 1000 * i) for i in range(4)]
        for i, frame in enumerate(frames):
            _write_parquet(tmp_path / f"p{i}.parquet", frame, row_group_size=100)
    else:
        frames = [_frame(1000)]
        _write_parquet(tmp_path / "p0.parquet", frames[0], row_group_size=100 if layout == "row_groups" else 1000)
    ids = np.concatenate([f["id"] for f in frames])
    fn = make_parquet_input_fn(
        str(tmp_path / "*.parquet"), 64, label_key="label", num_epochs=2, shuffle_buffer_size=150, chunk_rows=128
    )
    _assert_exactly_once_per_epoch(_worker_rows(fn, workers), ids, epochs=2)


# ---------------------------------------------------------------------------------------------
# Background prefetch
# ---------------------------------------------------------------------------------------------


def test_prefetch_thread_stops_when_iteration_is_abandoned(csv_files):
    pattern, _ = csv_files
    assert _wait_for_no_prefetch_threads() == 0
    batches = make_csv_input_fn(pattern, 8, prefetch_buffer_size=2)()  # endless
    closed = iter(batches)
    next(closed)
    dropped = iter(batches)
    next(dropped)
    assert _prefetch_threads() == 2
    closed.close()
    del dropped
    gc.collect()
    assert _wait_for_no_prefetch_threads() == 0


def test_errors_in_the_prefetch_thread_reach_the_consumer(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a\n1\n2\nnot-a-number\n")
    fn = make_csv_input_fn(str(path), 1, column_defaults=[0], num_epochs=1, shuffle=False)
    with pytest.raises(ValueError, match="line 4"):
        list(fn())
    assert _wait_for_no_prefetch_threads() == 0


# ---------------------------------------------------------------------------------------------
# Memory and training
# ---------------------------------------------------------------------------------------------

_MEMORY_SCRIPT = """
import json, os, sys, threading, time
import torch_estimator
from torch_estimator._inputs.streaming import make_csv_input_fn

def rss_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

peak = 0.0
def sample():  # the highest RSS, sampled every 2 ms (ru_maxrss would include import-time peaks)
    global peak
    while True:
        peak = max(peak, rss_mb())
        time.sleep(0.002)

fn = make_csv_input_fn(sys.argv[1], batch_size=512, label_key="label", num_epochs=1, shuffle=True)
baseline = peak = rss_mb()
threading.Thread(target=sample, daemon=True).start()
rows = 0
for features, labels in fn():
    rows += len(labels)
result = {"rows": rows, "baseline_mb": baseline, "peak_mb": peak}
left_open = iter(make_csv_input_fn(sys.argv[1], batch_size=4)())  # endless, never closed
next(left_open)
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def large_csv_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, int, float]:
    """A subprocess streams a ~150 MB CSV once, then exits with an endless iteration left open."""
    block = _frame(100_000, seed=1)
    block["city"] = np.random.default_rng(2).choice([f"city-{i}" for i in range(500)], size=len(block))
    body = block.to_csv(index=False, header=False)
    path = tmp_path_factory.mktemp("large") / "large.csv"
    repeats = 0
    with open(path, "w") as out:
        out.write(",".join(block.columns) + "\n")
        while out.tell() < 150 * 2**20:
            out.write(body)
            repeats += 1
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(path)], capture_output=True, text=True, timeout=120
    )
    size_mb = path.stat().st_size / 2**20
    path.unlink()
    return done, repeats * len(block), size_mb


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads the RSS from /proc/self/statm")
def test_streaming_a_file_larger_than_the_memory_budget(large_csv_run):
    done, rows, size_mb = large_csv_run
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["rows"] == rows
    budget_mb = 100
    growth = result["peak_mb"] - result["baseline_mb"]
    assert size_mb > 1.4 * budget_mb
    assert growth < budget_mb, f"peak RSS grew {growth:.0f} MB over the baseline streaming a {size_mb:.0f} MB file"


def test_interpreter_exits_with_an_iteration_left_open(large_csv_run):
    done, _, _ = large_csv_run  # subprocess.run would have timed out on a hang at exit
    assert done.returncode == 0, done.stderr


def test_census_csv_trains_a_linear_classifier():
    from torch_estimator._census import census_columns

    wide, _ = census_columns()
    input_fn = make_csv_input_fn(str(CENSUS), batch_size=256, label_key="class", shuffle_seed=0)
    with tempfile.TemporaryDirectory() as model_dir:
        estimator = te.LinearClassifier(wide, model_dir=model_dir, label_vocabulary=["<=50K", ">50K"])
        estimator.train(input_fn, steps=30)
        assert estimator.get_variable_value("global_step") == 30
        metrics = estimator.evaluate(
            make_csv_input_fn(str(CENSUS), 4096, label_key="class", num_epochs=1, shuffle=False), steps=2
        )
    assert metrics["accuracy"] > 0.7
