"""``te.data`` against TensorFlow 2.15's ``tf.data`` (tests/golden/data_pipelines.json, written by
tools/read_tf_data_golden.py from the pipelines in tests/data_pipelines.py): every pipeline's
elements, in order, with their structure, batch boundaries and dtypes."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pytest

import torch_estimator as te
from data_pipelines import PIPELINES, build

GOLDEN = json.load(open(os.path.join(os.path.dirname(__file__), "golden", "data_pipelines.json")))


def _spec(shape: Any, dtype: str) -> te.data.TensorSpec:
    return te.data.TensorSpec(shape, dtype)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {"dict": {k: _plain(v) for k, v in value.items()}}
    if isinstance(value, tuple):
        return {"tuple": [_plain(v) for v in value]}
    array = np.asarray(value)
    return {"array": array.tolist(), "dtype": "str" if array.dtype.kind in "US" else str(array.dtype)}


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_pipelines_give_tf_datas_elements(name: str) -> None:
    ours = [_plain(e) for e in build(te.data, _spec, name).as_numpy_iterator()]
    assert ours == GOLDEN["pipelines"][name]


def test_golden_covers_every_pipeline() -> None:
    assert set(GOLDEN["pipelines"]) == set(PIPELINES)


# -- file sources, against tests/golden/data_files.json ---------------------------------------------
FILES = json.load(open(os.path.join(os.path.dirname(__file__), "golden", "data_files.json")))


def _write(tmp_path: Any, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_text_lines_and_decode_csv_match_tf(tmp_path: Any) -> None:
    path = _write(tmp_path, "data.csv", FILES["csv"])
    lines = te.data.TextLineDataset(path).skip(1)
    assert [str(x) for x in lines.as_numpy_iterator()] == FILES["text_lines"]
    defaults = [[0], ["?"], [0.0], [0]]
    decoded = lines.map(lambda line: tuple(te.io.decode_csv(line, record_defaults=defaults))).batch(10)
    assert [_plain(e) for e in decoded.as_numpy_iterator()] == FILES["decode_csv"]
    # the same, decoded a batch at a time (the fast form)
    batched = lines.batch(10).map(lambda batch: tuple(te.io.decode_csv(batch, record_defaults=defaults)))
    assert [_plain(e) for e in batched.as_numpy_iterator()] == FILES["decode_csv"]


@pytest.mark.parametrize(
    "case, defaults, line",
    [
        ("too_many", [[0], [""]], "1,2,3"),
        ("too_few", [[0], [""], [0.0]], "1,a"),
        ("bad_int", [[0], [""]], "x,a"),
        ("missing_required", [te.int32, [""]], ",a"),
    ],
)
def test_decode_csv_errors_say_what_tf_says(case: str, defaults: list, line: str) -> None:
    expected = FILES["decode_csv_errors"][case]["message"].split("}} ")[-1]
    with pytest.raises(ValueError) as error:
        te.io.decode_csv(line, record_defaults=defaults)
    assert str(error.value) == expected


def test_make_csv_dataset_matches_tf(tmp_path: Any) -> None:
    path = _write(tmp_path, "full.csv", FILES["full_csv"])
    made = te.data.experimental.make_csv_dataset(path, batch_size=2, label_name="score", shuffle=False, num_epochs=1)
    assert [_plain(e) for e in made.as_numpy_iterator()] == FILES["make_csv_dataset"]
    selected = te.data.experimental.make_csv_dataset(
        path, batch_size=3, select_columns=["age", "flag"], column_defaults=[-1, 9], shuffle=False, num_epochs=2
    )
    ours = [_plain(e) for e in selected.as_numpy_iterator()]
    theirs = FILES["make_csv_dataset_select"]
    # the values and batches are TF's; TF gives the second column int64 although both defaults are Python ints
    assert [{k: v["array"] for k, v in e["dict"].items()} for e in ours] == [
        {k: v["array"] for k, v in e["dict"].items()} for e in theirs
    ]


def test_tfrecords_and_examples_round_trip_with_tf(tmp_path: Any) -> None:
    tf_bytes = bytes.fromhex(FILES["tfrecord_bytes"])
    path = tmp_path / "ours.tfrecord"
    with te.io.TFRecordWriter(str(path)) as writer:
        for i in range(3):
            example = te.train.Example(
                features=te.train.Features(
                    feature={
                        "x": te.train.Feature(float_list=te.train.FloatList(value=[i * 0.5, 1.0])),
                        "id": te.train.Feature(int64_list=te.train.Int64List(value=[i])),
                        "w": te.train.Feature(bytes_list=te.train.BytesList(value=[b"a" * (i + 1)])),
                    }
                )
            )
            writer.write(example.SerializeToString())
    records = list(te.data.TFRecordDataset(str(path)).as_numpy_iterator())
    tf_path = tmp_path / "tf.tfrecord"
    tf_path.write_bytes(tf_bytes)
    tf_records = list(te.data.TFRecordDataset(str(tf_path)).as_numpy_iterator())
    # TF writes features in its map order, ours in name order: the same examples, parsed alike
    assert [te.train.Example.FromString(r) for r in records] == [te.train.Example.FromString(r) for r in tf_records]
    spec = {
        "x": te.io.FixedLenFeature([2], te.float32),
        "id": te.io.FixedLenFeature([], te.int64),
        "w": te.io.FixedLenFeature([], te.string),
    }
    parsed = te.data.TFRecordDataset(str(tf_path)).batch(2).map(lambda s: te.io.parse_example(s, spec))
    assert [_strings(_plain(e)) for e in parsed.as_numpy_iterator()] == FILES["tfrecord_parsed"]
    single = te.data.TFRecordDataset(str(tf_path)).map(lambda s: te.io.parse_single_example(s, spec))
    assert [_strings(_plain(e)) for e in single.as_numpy_iterator()] == FILES["tfrecord_single"]


def _strings(plain: Any) -> Any:
    """Bytes values (as parse_example gives them) decoded, as the golden file holds them."""
    if "dict" in plain:
        return {"dict": {k: _strings(v) for k, v in plain["dict"].items()}}
    value = plain["array"]
    decode = lambda v: v.decode() if isinstance(v, bytes) else v  # noqa: E731
    if isinstance(value, list):
        return {
            "array": [decode(v) for v in value],
            "dtype": "str" if value and isinstance(value[0], bytes) else plain["dtype"],
        }
    return {"array": decode(value), "dtype": "str" if isinstance(value, bytes) else plain["dtype"]}


def test_a_damaged_tfrecord_is_refused_by_record(tmp_path: Any) -> None:
    data = bytearray(bytes.fromhex(FILES["tfrecord_bytes"]))
    data[20] ^= 1
    path = tmp_path / "bad.tfrecord"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupted record at record 0"):
        list(te.data.TFRecordDataset(str(path)))


# -- input_fns returning datasets ----------------------------------------------------------------
def _census_like(n: int = 200, seed: int = 0) -> tuple[Any, np.ndarray]:
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(size=n).astype(np.float32), "c": rng.choice(["a", "b", "c"], size=n)})
    y = ((frame["x"] > 0) ^ (frame["c"] == "a")).to_numpy().astype(np.int64)
    return frame, y


def _classifier(model_dir: str) -> te.LinearClassifier:
    fc = te.feature_column
    columns = [fc.numeric_column("x"), fc.categorical_column_with_vocabulary_list("c", ["a", "b", "c"])]
    return te.LinearClassifier(columns, model_dir=model_dir, config=te.RunConfig(tf_random_seed=0))


@pytest.mark.parametrize("order, steps", [("batch_then_repeat", 3 * 7), ("repeat_then_batch", -(-3 * 200 // 32))])
def test_batching_order_sets_the_global_step_as_in_tf(tmp_path: Any, order: str, steps: int) -> None:
    frame, y = _census_like()

    def input_fn() -> te.data.Dataset:
        dataset = te.data.Dataset.from_tensor_slices((dict(frame), y)).shuffle(1000)
        return dataset.batch(32).repeat(3) if order == "batch_then_repeat" else dataset.repeat(3).batch(32)

    est = _classifier(str(tmp_path))
    est.train(input_fn)
    assert est.get_variable_value("global_step") == steps  # 21 vs 19: TF's counts


def test_dataset_input_fn_trains_like_pandas_input_fn(tmp_path: Any) -> None:
    """Unshuffled, one epoch, batch 20: the same batches, so the same weights and metrics."""
    frame, y = _census_like()
    ours = _classifier(str(tmp_path / "data"))
    ours.train(lambda: te.data.Dataset.from_tensor_slices((dict(frame), y)).batch(20))
    theirs = _classifier(str(tmp_path / "pandas"))
    theirs.train(te.inputs.pandas_input_fn(frame, __import__("pandas").Series(y), batch_size=20, shuffle=False))
    for name in theirs.get_variable_names():
        if name.startswith("linear/"):
            np.testing.assert_allclose(ours.get_variable_value(name), theirs.get_variable_value(name), rtol=1e-6)
    evaluate = lambda: te.data.Dataset.from_tensor_slices((dict(frame), y)).batch(50)  # noqa: E731
    assert ours.evaluate(evaluate)["accuracy"] == pytest.approx(
        theirs.evaluate(te.inputs.pandas_input_fn(frame, __import__("pandas").Series(y), shuffle=False))["accuracy"]
    )
    predictions = list(ours.predict(lambda: te.data.Dataset.from_tensor_slices(dict(frame)).batch(64)))
    assert len(predictions) == len(frame)


def test_batches_of_an_in_memory_dataset_carry_their_rows() -> None:
    from torch_estimator._core.in_memory import BatchFeatures

    frame, y = _census_like(50)
    batches = list(te.data.Dataset.from_tensor_slices((dict(frame), y)).shuffle(10, seed=1).repeat(2).batch(16))
    features, labels = batches[0]
    assert isinstance(features, BatchFeatures) and features.source is not None
    np.testing.assert_array_equal(features["x"], frame["x"].to_numpy()[features.rows])
    np.testing.assert_array_equal(labels, y[features.rows])
    mapped = list(te.data.Dataset.from_tensor_slices((dict(frame), y)).map(lambda f, label: (f, label)).batch(16))
    assert not isinstance(mapped[0][0], BatchFeatures)  # map ends the row tracking


def test_input_context_shards_through_shard(tmp_path: Any) -> None:
    seen = []

    def input_fn(input_context: Any = None) -> te.data.Dataset:
        dataset = te.data.Dataset.range(12)
        if input_context is not None:
            dataset = dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
        return dataset.batch(2)

    for index in range(3):
        context = te.distribute.InputContext(num_input_pipelines=3, input_pipeline_id=index)
        seen.append([b.tolist() for b in input_fn(context)])
    assert seen == [[[0, 3], [6, 9]], [[1, 4], [7, 10]], [[2, 5], [8, 11]]]


def test_shuffle_is_a_permutation_reproducible_with_a_seed_and_reshuffled_per_epoch() -> None:
    dataset = te.data.Dataset.range(100).shuffle(10, seed=3)
    first, second = [list(dataset.as_numpy_iterator()) for _ in range(2)]
    assert sorted(first) == list(range(100)) and first != list(range(100))
    assert first != second  # reshuffled on the second iteration
    again = te.data.Dataset.range(100).shuffle(10, seed=3)
    assert list(again.as_numpy_iterator()) == first
    fixed = te.data.Dataset.range(100).shuffle(10, seed=3, reshuffle_each_iteration=False)
    assert list(fixed.as_numpy_iterator()) == list(fixed.as_numpy_iterator())
    # a buffer of 10 moves no element more than 10 places earlier than tf.data's does
    assert all(first.index(v) >= v - 10 for v in range(100))
    epochs = list(te.data.Dataset.range(20).shuffle(5, seed=0).repeat(2).as_numpy_iterator())
    assert sorted(epochs[:20]) == sorted(epochs[20:]) == list(range(20))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: te.data.Dataset.from_tensor_slices({"a": [1, 2], "b": [1, 2, 3]}), ValueError, "same first dimension"),
        (lambda: te.data.Dataset.from_tensor_slices(3), ValueError, "needs a first dimension"),
        (lambda: list(te.data.Dataset.range(3).map(lambda x: [x] * int(x)).batch(3)), ValueError, "padded_batch"),
        (lambda: list(te.data.Dataset.range(3).filter(lambda x: x)), ValueError, "scalar boolean"),
        (lambda: te.data.Dataset.range(3).batch(0), ValueError, "batch_size must be a positive integer"),
        (lambda: te.data.Dataset.range(3).shard(2, 2), ValueError, r"index must be in \[0, num_shards=2\)"),
        (
            lambda: te.data.Dataset.range(3).concatenate(te.data.Dataset.from_tensor_slices({"a": [1]})),
            TypeError,
            "different structures",
        ),
        (lambda: te.data.Dataset.range(3).cache("/tmp/x"), ValueError, "caching to files is not supported"),
        (
            lambda: te.data.TextLineDataset("/no/such/file.txt").take(1).as_numpy_iterator().__next__(),
            FileNotFoundError,
            "No such file",
        ),
    ],
)
def test_bad_pipelines_say_what_is_wrong(call: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


class _EagerTensor:
    """What iterating a real ``tf.data.Dataset`` yields: objects with ``.numpy()``."""

    def __init__(self, value: np.ndarray) -> None:
        self._value = value

    def numpy(self) -> np.ndarray:
        return self._value


def test_an_input_fn_may_return_a_tensorflow_dataset(tmp_path: Any) -> None:
    frame, y = _census_like(64)

    class TfDataset:  # iterating it gives (features dict, labels) of eager tensors, as tf.data does
        def __iter__(self) -> Any:
            for start in range(0, 64, 16):
                rows = slice(start, start + 16)
                yield {k: _EagerTensor(v.to_numpy()[rows]) for k, v in frame.items()}, _EagerTensor(y[rows])

    ours = _classifier(str(tmp_path / "tf"))
    ours.train(lambda: TfDataset())
    reference = _classifier(str(tmp_path / "te"))
    reference.train(lambda: te.data.Dataset.from_tensor_slices((dict(frame), y)).batch(16))
    assert ours.get_variable_value("global_step") == reference.get_variable_value("global_step") == 4
    for name in reference.get_variable_names():
        if name.startswith("linear/"):
            np.testing.assert_allclose(ours.get_variable_value(name), reference.get_variable_value(name), rtol=1e-6)


def test_make_csv_dataset_shuffles_files_and_rows_keeping_labels_aligned(tmp_path: Any) -> None:
    for part in range(3):
        rows = "\n".join(f"{part * 10 + i},{(part * 10 + i) * 2}" for i in range(10))
        _write(tmp_path, f"part-{part}.csv", "id,twice\n" + rows + "\n")
    pattern = str(tmp_path / "part-*.csv")
    made = te.data.experimental.make_csv_dataset(
        pattern, batch_size=7, label_name="twice", num_epochs=2, shuffle=True, shuffle_seed=5, shuffle_buffer_size=8
    )
    batches = list(made.as_numpy_iterator())
    ids = np.concatenate([f["id"] for f, _ in batches])
    twice = np.concatenate([label for _, label in batches])
    np.testing.assert_array_equal(twice, ids * 2)
    assert sorted(ids[:30].tolist()) == sorted(ids[30:].tolist()) == list(range(30)) and ids.tolist() != sorted(ids)
    assert [len(label) for _, label in batches] == [7] * 8 + [4]
    forever = te.data.experimental.make_csv_dataset(pattern, batch_size=7, num_epochs=None, shuffle=False)
    assert all(len(f["id"]) == 7 for f in forever.take(20).as_numpy_iterator())  # only whole batches


def test_decode_csv_options() -> None:
    lines = np.array(["1;x;NA", "2;NA;3.5"])
    a, b, c = te.io.decode_csv(lines, [[0], ["?"], [-1.0]], field_delim=";", na_value="NA")
    assert a.tolist() == [1, 2] and b.tolist() == ["x", "?"] and c.tolist() == [-1.0, 3.5]
    (picked,) = te.io.decode_csv(np.array(["a,b,c", "d,e,f"]), [[""]], select_cols=[1])
    assert picked.tolist() == ["b", "e"]
    plain = te.io.decode_csv('"q",1', [[""], [0]], use_quote_delim=False)
    assert str(plain[0]) == '"q"' and int(plain[1]) == 1
    typed = te.io.decode_csv(np.array([["1", "2"], ["3", ""]]), [np.int64(7)])
    assert typed[0].dtype == np.int64 and typed[0].tolist() == [[1, 2], [3, 7]]


def test_shuffle_keeps_longer_strings_that_arrive_later_whole() -> None:
    short = te.data.Dataset.from_tensor_slices(np.array(["a", "b", "c", "d"]))
    long = te.data.Dataset.from_tensor_slices(np.array(["a much longer string", "another long one"]))
    out = [str(x) for x in short.concatenate(long).shuffle(4, seed=0).as_numpy_iterator()]
    assert sorted(out) == sorted(["a", "b", "c", "d", "a much longer string", "another long one"])


def test_list_files_then_interleave_text_lines(tmp_path: Any) -> None:
    for part in range(3):
        _write(tmp_path, f"f{part}.txt", f"{part}a\n{part}b\n")
    files = te.data.Dataset.list_files(str(tmp_path / "f*.txt"), shuffle=False)
    assert [os.path.basename(str(f)) for f in files.as_numpy_iterator()] == ["f0.txt", "f1.txt", "f2.txt"]
    lines = files.interleave(te.data.TextLineDataset, cycle_length=2)
    assert [str(x) for x in lines.as_numpy_iterator()] == ["0a", "1a", "0b", "1b", "2a", "2b"]
    shuffled = te.data.Dataset.list_files(str(tmp_path / "f*.txt"), seed=1)
    assert sorted(str(f) for f in shuffled.as_numpy_iterator()) == sorted(str(f) for f in files.as_numpy_iterator())
    with pytest.raises(FileNotFoundError, match="no files match"):
        te.data.Dataset.list_files(str(tmp_path / "nothing*"))


def test_shuffle_draws_from_the_buffer_as_tf_data_does() -> None:
    """Each element out is drawn from the ``size`` held (so output i is one of the first i + size
    elements), and an element may stay in the buffer for many draws (a block shuffle would never
    delay one by more than two buffers)."""
    size = 4
    out = [int(x) for x in te.data.Dataset.range(2000).shuffle(size, seed=7).as_numpy_iterator()]
    assert sorted(out) == list(range(2000))
    assert all(v < i + size for i, v in enumerate(out))
    delays = [i - v for i, v in enumerate(out)]
    assert max(delays) > 4 * size
