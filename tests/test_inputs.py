"""Tests for te.inputs.numpy_input_fn and te.inputs.pandas_input_fn (spec §1.5)."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
import torch

import torch_estimator as te

SHUFFLE_ERR = (
    "shuffle must be provided and explicitly set as boolean (it is recommended to set it as True for training); got {}"
)
MISMATCH_ERR = "Length of tensors in x and y is mismatched. All elements in x and y must have the same length."


def _ids(n: int = 10) -> np.ndarray:
    return np.arange(n, dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# numpy_input_fn: structure of what it yields
# ---------------------------------------------------------------------------------------------


def test_dict_x_array_y_batches_in_order_with_smaller_last_batch():
    x = {"a": _ids(10), "b": np.arange(20, dtype=np.float32).reshape(10, 2)}
    y = np.arange(100, 110)
    batches = list(te.inputs.numpy_input_fn(x, y, batch_size=4, shuffle=False)())

    assert [len(labels) for _, labels in batches] == [4, 4, 2]
    for i, (features, labels) in enumerate(batches):
        assert isinstance(features, dict)
        assert sorted(features) == ["a", "b"]
        assert isinstance(labels, np.ndarray)
        np.testing.assert_array_equal(features["a"], np.arange(10)[i * 4 : i * 4 + 4])
        np.testing.assert_array_equal(features["b"], x["b"][i * 4 : i * 4 + 4])
        np.testing.assert_array_equal(labels, y[i * 4 : i * 4 + 4])
    assert batches[0][0]["b"].shape == (4, 2)
    assert batches[0][0]["b"].dtype == np.float32


def test_single_array_x_yields_array_features():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.arange(6)
    batches = list(te.inputs.numpy_input_fn(x, y, batch_size=4, shuffle=False)())

    assert len(batches) == 2
    features, labels = batches[0]
    assert isinstance(features, np.ndarray)
    np.testing.assert_array_equal(features, x[:4])
    np.testing.assert_array_equal(labels, y[:4])
    np.testing.assert_array_equal(batches[1][0], x[4:])


def test_list_x_is_accepted_as_an_array():
    batches = list(te.inputs.numpy_input_fn([1, 2, 3], batch_size=2, shuffle=False)())
    assert [b.tolist() for b in batches] == [[1, 2], [3]]


def test_dict_y_yields_label_dict():
    x = {"a": _ids(5)}
    y = {"l1": np.arange(5) * 10, "l2": np.arange(5) * 100}
    batches = list(te.inputs.numpy_input_fn(x, y, batch_size=3, shuffle=False)())

    assert len(batches) == 2
    features, labels = batches[1]
    assert isinstance(labels, dict) and sorted(labels) == ["l1", "l2"]
    np.testing.assert_array_equal(labels["l1"], [30, 40])
    np.testing.assert_array_equal(labels["l2"], [300, 400])
    np.testing.assert_array_equal(features["a"], [3, 4])


def test_y_none_yields_features_only():
    x = {"a": _ids(5)}
    batches = list(te.inputs.numpy_input_fn(x, batch_size=2, shuffle=False)())
    assert len(batches) == 3
    assert all(isinstance(b, dict) for b in batches)  # not a (features, labels) tuple
    np.testing.assert_array_equal(batches[2]["a"], [4])

    arr_batches = list(te.inputs.numpy_input_fn(np.arange(3), batch_size=2, shuffle=False)())
    assert isinstance(arr_batches[0], np.ndarray)
    np.testing.assert_array_equal(arr_batches[0], [0, 1])


def test_batch_size_larger_than_data_gives_one_batch():
    batches = list(te.inputs.numpy_input_fn({"a": _ids(3)}, _ids(3), batch_size=128, shuffle=False)())
    assert len(batches) == 1
    np.testing.assert_array_equal(batches[0][1], [0, 1, 2])


def test_batch_size_dividing_data_has_no_extra_empty_batch():
    batches = list(te.inputs.numpy_input_fn({"a": _ids(8)}, _ids(8), batch_size=4, shuffle=False)())
    assert [len(lab) for _, lab in batches] == [4, 4]


def test_numpy_integer_batch_size_and_num_epochs_are_accepted():
    fn = te.inputs.numpy_input_fn({"a": _ids(4)}, batch_size=np.int64(3), num_epochs=np.int32(2), shuffle=False)
    assert [len(b["a"]) for b in fn()] == [3, 3, 2]


def test_input_fn_can_be_called_again_for_a_fresh_pass():
    fn = te.inputs.numpy_input_fn({"a": _ids(5)}, batch_size=2, shuffle=False)
    first = [b["a"].tolist() for b in fn()]
    second = [b["a"].tolist() for b in fn()]
    assert first == second == [[0, 1], [2, 3], [4]]


# ---------------------------------------------------------------------------------------------
# numpy_input_fn: epochs
# ---------------------------------------------------------------------------------------------


def test_num_epochs_1_is_the_default_and_covers_the_data_once():
    fn = te.inputs.numpy_input_fn({"a": _ids(7)}, _ids(7), batch_size=3, shuffle=False)
    rows = np.concatenate([labels for _, labels in fn()])
    np.testing.assert_array_equal(rows, np.arange(7))


def test_num_epochs_2_repeats_the_data_twice():
    fn = te.inputs.numpy_input_fn({"a": _ids(7)}, _ids(7), batch_size=3, num_epochs=2, shuffle=False)
    batches = list(fn())
    # batches run across the epoch boundary; only the last one is smaller (as TF's queue feeds)
    assert [len(lab) for _, lab in batches] == [3, 3, 3, 3, 2]
    rows = np.concatenate([labels for _, labels in batches])
    np.testing.assert_array_equal(rows, np.concatenate([np.arange(7), np.arange(7)]))


def test_num_epochs_none_repeats_forever():
    fn = te.inputs.numpy_input_fn({"a": _ids(5)}, _ids(5), batch_size=2, num_epochs=None, shuffle=False)
    batches = list(itertools.islice(fn(), 20))
    assert len(batches) == 20  # still going after 20 batches (= 6+ epochs)
    assert [lab.tolist() for _, lab in batches[:6]] == [[0, 1], [2, 3], [4, 0], [1, 2], [3, 4], [0, 1]]
    assert all(len(lab) == 2 for _, lab in batches)


def test_shuffle_permutes_each_epoch_and_sees_every_row_once():
    np.random.seed(1234)
    n = 50
    x = {"id": _ids(n), "v": np.arange(n, dtype=np.float32) * 2}
    fn = te.inputs.numpy_input_fn(x, np.arange(n) + 1000, batch_size=8, num_epochs=3, shuffle=True)
    batches = list(fn())
    assert [len(b[1]) for b in batches] == [8] * 18 + [6]
    for f, lab in batches:  # rows stay aligned across features and labels
        np.testing.assert_array_equal(f["v"], f["id"] * 2)
        np.testing.assert_array_equal(lab, f["id"] + 1000)
    stream = np.concatenate([f["id"] for f, _ in batches])
    epochs = []
    for e in range(3):
        ids = stream[e * n : (e + 1) * n]
        assert sorted(ids.tolist()) == list(range(n))  # each row exactly once per epoch
        epochs.append(ids.tolist())
    assert epochs[0] != list(range(n))  # actually shuffled
    assert epochs[0] != epochs[1] or epochs[1] != epochs[2]  # a new permutation per epoch


def test_shuffle_false_keeps_order_and_shuffle_true_follows_numpy_seed():
    x = {"id": _ids(30)}
    np.random.seed(7)
    a = np.concatenate([b["id"] for b in te.inputs.numpy_input_fn(x, batch_size=4, shuffle=True)()])
    np.random.seed(7)
    b = np.concatenate([b["id"] for b in te.inputs.numpy_input_fn(x, batch_size=4, shuffle=True)()])
    np.random.seed(8)
    c = np.concatenate([b["id"] for b in te.inputs.numpy_input_fn(x, batch_size=4, shuffle=True)()])
    np.testing.assert_array_equal(a, b)
    assert a.tolist() != c.tolist()
    ordered = np.concatenate([b["id"] for b in te.inputs.numpy_input_fn(x, batch_size=4, shuffle=False)()])
    np.testing.assert_array_equal(ordered, np.arange(30))


# ---------------------------------------------------------------------------------------------
# numpy_input_fn: errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shuffle", [None, 1, "True"])
def test_shuffle_must_be_a_bool(shuffle):
    with pytest.raises(ValueError, match=re.escape(SHUFFLE_ERR.format(shuffle))):
        te.inputs.numpy_input_fn({"a": _ids(3)}, _ids(3), shuffle=shuffle)


def test_shuffle_default_is_missing():
    with pytest.raises(ValueError, match=re.escape(SHUFFLE_ERR.format(None)) + "$"):
        te.inputs.numpy_input_fn({"a": _ids(3)}, _ids(3))


def test_mismatched_lengths_between_x_and_y():
    with pytest.raises(ValueError, match=re.escape(MISMATCH_ERR)):
        te.inputs.numpy_input_fn({"a": _ids(3)}, _ids(4), shuffle=False)


def test_mismatched_lengths_within_x():
    with pytest.raises(ValueError, match=re.escape(MISMATCH_ERR)):
        te.inputs.numpy_input_fn({"a": _ids(3), "b": _ids(2)}, shuffle=False)


def test_mismatched_lengths_within_y_dict():
    with pytest.raises(ValueError, match=re.escape(MISMATCH_ERR)):
        te.inputs.numpy_input_fn({"a": _ids(3)}, {"l1": _ids(3), "l2": _ids(5)}, shuffle=False)


def test_duplicate_keys_in_x_and_y():
    with pytest.raises(ValueError, match=re.escape("1 duplicate keys are found in both x and y: ")):
        te.inputs.numpy_input_fn({"a": _ids(3), "b": _ids(3)}, {"a": _ids(3), "c": _ids(3)}, shuffle=False)
    with pytest.raises(ValueError, match=re.escape("2 duplicate keys are found in both x and y: ")):
        te.inputs.numpy_input_fn({"a": _ids(3), "b": _ids(3)}, {"a": _ids(3), "b": _ids(3)}, shuffle=False)


def test_empty_x():
    with pytest.raises(ValueError, match=re.escape("x cannot be an empty dict")):
        te.inputs.numpy_input_fn({}, _ids(3), shuffle=False)
    with pytest.raises(ValueError, match=re.escape("x cannot be an empty array")):
        te.inputs.numpy_input_fn(np.zeros((0, 2)), shuffle=False)
    with pytest.raises(ValueError, match=re.escape("y cannot be empty dict, use None instead.")):
        te.inputs.numpy_input_fn({"a": _ids(3)}, {}, shuffle=False)


def test_x_of_wrong_type():
    with pytest.raises(TypeError, match=re.escape("x must be a dict or array; got int")):
        te.inputs.numpy_input_fn(5, shuffle=False)


def test_scalar_feature_has_no_batch_dimension():
    with pytest.raises(ValueError, match=re.escape("x['a'] must have a batch dimension; got a scalar 3.")):
        te.inputs.numpy_input_fn({"a": 3}, shuffle=False)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, None])
def test_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match=re.escape(f"batch_size must be a positive integer; got {batch_size!r}.")):
        te.inputs.numpy_input_fn({"a": _ids(3)}, batch_size=batch_size, shuffle=False)


@pytest.mark.parametrize("num_epochs", [0, -2, 1.5, True])
def test_bad_num_epochs(num_epochs):
    with pytest.raises(
        ValueError,
        match=re.escape(f"num_epochs must be None (repeat forever) or a positive integer; got {num_epochs!r}."),
    ):
        te.inputs.numpy_input_fn({"a": _ids(3)}, num_epochs=num_epochs, shuffle=False)


def test_empty_arrays_yield_nothing():
    fn = te.inputs.numpy_input_fn({"a": np.zeros((0,))}, np.zeros((0,)), num_epochs=None, shuffle=True)
    assert list(fn()) == []


# ---------------------------------------------------------------------------------------------
# pandas_input_fn
# ---------------------------------------------------------------------------------------------


def _frame() -> tuple[pd.DataFrame, pd.Series]:
    index = [10, 11, 12, 13, 14]
    x = pd.DataFrame(
        {"num": np.arange(5, dtype=np.float32), "word": ["a", "bb", "c", "dd", "e"], "i": np.arange(5) * 3},
        index=index,
    )
    y = pd.Series(np.arange(5) * 10, index=index, name="label")
    return x, y


def test_pandas_features_from_columns_and_labels_from_series():
    x, y = _frame()
    batches = list(te.inputs.pandas_input_fn(x, y, batch_size=2, shuffle=False)())
    assert len(batches) == 3
    features, labels = batches[0]
    assert sorted(features) == ["i", "num", "word"]
    np.testing.assert_array_equal(features["num"], [0.0, 1.0])
    assert features["num"].dtype == np.float32
    np.testing.assert_array_equal(features["i"], [0, 3])
    assert isinstance(labels, np.ndarray)
    np.testing.assert_array_equal(labels, [0, 10])
    # string columns stay strings
    assert features["word"].dtype.kind in "OU"
    assert list(features["word"]) == ["a", "bb"]
    assert all(isinstance(w, str) for w in batches[1][0]["word"])
    assert list(batches[2][0]["word"]) == ["e"]
    np.testing.assert_array_equal(batches[2][1], [40])


def test_pandas_y_none_yields_feature_dicts():
    x, _ = _frame()
    batches = list(te.inputs.pandas_input_fn(x, batch_size=4, shuffle=False)())
    assert len(batches) == 2
    assert isinstance(batches[0], dict)
    assert list(batches[1]["word"]) == ["e"]


def test_pandas_y_dataframe_yields_label_dict():
    x, y = _frame()
    ydf = pd.DataFrame({"l1": y.to_numpy(), "l2": y.to_numpy() + 1}, index=y.index)
    features, labels = next(iter(te.inputs.pandas_input_fn(x, ydf, batch_size=5, shuffle=False)()))
    assert sorted(labels) == ["l1", "l2"]
    np.testing.assert_array_equal(labels["l2"], np.arange(5) * 10 + 1)


def test_pandas_epochs_and_shuffle_keep_rows_aligned():
    np.random.seed(3)
    x, y = _frame()
    batches = list(te.inputs.pandas_input_fn(x, y, batch_size=2, num_epochs=2, shuffle=True)())
    assert [len(lab) for _, lab in batches] == [2, 2, 2, 2, 2]
    stream = np.concatenate([f["num"] for f, _ in batches])
    for epoch in (stream[:5], stream[5:]):
        assert sorted(epoch.tolist()) == [0.0, 1.0, 2.0, 3.0, 4.0]
    for epoch in (batches,):
        for f, lab in epoch:
            np.testing.assert_array_equal(lab, f["num"].astype(np.int64) * 10)
            np.testing.assert_array_equal(f["i"], f["num"].astype(np.int64) * 3)


def test_pandas_index_mismatch():
    x, y = _frame()
    y.index = [10, 11, 12, 13, 99]
    with pytest.raises(ValueError, match=re.escape("Index for x and y are mismatched.")):
        te.inputs.pandas_input_fn(x, y, shuffle=False)


def test_pandas_target_column_collision():
    x, y = _frame()
    x["target"] = 1.0
    with pytest.raises(
        ValueError,
        match=re.escape("Cannot use name target for target column: DataFrame already has a column with that name: "),
    ):
        te.inputs.pandas_input_fn(x, y, shuffle=False)
    # a different target_column name avoids the collision
    features, _ = next(iter(te.inputs.pandas_input_fn(x, y, shuffle=False, target_column="other")()))
    assert "target" in features
    with pytest.raises(ValueError, match=re.escape("Cannot use name num for target column")):
        te.inputs.pandas_input_fn(x, y, shuffle=False, target_column="num")


def test_pandas_target_column_only_checked_with_y():
    x, _ = _frame()
    x["target"] = 1.0
    batches = list(te.inputs.pandas_input_fn(x, shuffle=False)())
    assert "target" in batches[0]


@pytest.mark.parametrize("shuffle", [None, 0])
def test_pandas_shuffle_required(shuffle):
    x, y = _frame()
    with pytest.raises(ValueError, match=re.escape(SHUFFLE_ERR.format(shuffle))):
        te.inputs.pandas_input_fn(x, y, shuffle=shuffle)
    with pytest.raises(ValueError, match=re.escape(SHUFFLE_ERR.format(None))):
        te.inputs.pandas_input_fn(x, y)


def test_pandas_type_errors():
    x, y = _frame()
    with pytest.raises(TypeError, match=re.escape("x must be a pandas DataFrame; got dict.")):
        te.inputs.pandas_input_fn({"a": [1]}, shuffle=False)
    with pytest.raises(TypeError, match=re.escape("y must be a pandas Series or DataFrame; got ndarray.")):
        te.inputs.pandas_input_fn(x, y.to_numpy(), shuffle=False)


# ---------------------------------------------------------------------------------------------
# End to end: shuffling is reproducible under RunConfig(tf_random_seed=...)
# ---------------------------------------------------------------------------------------------


def _record_training_order(model_dir, seed, steps=6):
    seen: list[list[int]] = []

    def model_fn(features, labels, mode):
        seen.append(features["id"].tolist())
        out = te.layers.dense(features["x"], 1)
        loss = torch.nn.functional.mse_loss(out, labels)
        return te.EstimatorSpec(mode, loss=loss, train_op=te.optimizers.get("SGD", 0.1).minimize(loss))

    n = 12
    x = {"id": _ids(n), "x": np.linspace(-1, 1, 2 * n, dtype=np.float32).reshape(n, 2)}
    y = np.linspace(0, 1, n, dtype=np.float32).reshape(n, 1)
    config = te.RunConfig(
        tf_random_seed=seed, save_checkpoints_steps=1000, log_step_count_steps=1000, save_summary_steps=1000
    )
    est = te.Estimator(model_fn, model_dir=str(model_dir), config=config)
    est.train(te.inputs.numpy_input_fn(x, y, batch_size=4, num_epochs=None, shuffle=True), steps=steps)
    return seen


def test_shuffled_training_order_is_reproducible_with_tf_random_seed(tmp_path):
    np.random.seed(0)
    first = _record_training_order(tmp_path / "a", seed=42)
    np.random.seed(999)  # the global state before the run must not matter
    second = _record_training_order(tmp_path / "b", seed=42)
    other = _record_training_order(tmp_path / "c", seed=43)

    assert len(first) == 6 and all(len(b) == 4 for b in first)
    assert first == second
    assert first != other
    # each epoch (3 batches of 4) is a permutation of the 12 rows, and actually shuffled
    for epoch in (first[:3], first[3:]):
        flat = [i for batch in epoch for i in batch]
        assert sorted(flat) == list(range(12))
    assert [i for b in first[:3] for i in b] != list(range(12))
