"""Bad input gets a TypeError / ValueError naming the argument, feature or column, the value and
what was expected, or, where TensorFlow gives one, the same (possibly empty) result.

Expected values marked "TF 2.15" were read off tensorflow 2.15.1 / tensorflow-estimator 2.15.0.
"""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest
import torch

import torch_estimator as te

fc = te.feature_column


# -- head labels ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "head,labels,message",
    [
        (
            te.BinaryClassHead(),
            [[0.0], [np.nan], [1.0]],
            "Labels must be <= 2 - 1; got NaN labels (the first at flat index 1).",
        ),
        (te.BinaryClassHead(), [[0.0], [np.inf], [1.0]], "Labels must be <= 2 - 1; got labels in [0, inf]."),
        (
            te.LogisticRegressionHead(),
            [[0.0], [np.nan], [1.0]],
            "Labels must be in range [0, 1] for LogisticRegressionHead; got NaN labels",
        ),
        (
            te.MultiLabelHead(2),
            [[0.0, np.nan], [1, 0], [0, 1]],
            "labels must be an integer indicator Tensor with values in [0, 1]; got NaN labels",
        ),
        (
            te.PoissonRegressionHead(),
            [[-1.0], [2.0], [1.0]],
            "Labels must be >= 0 for PoissonRegressionHead (counts); got labels in [-1, 2].",
        ),
        (
            te.PoissonRegressionHead(compute_full_loss=False),
            [[-1.0], [2.0], [1.0]],
            "Labels must be >= 0 for PoissonRegressionHead",
        ),
        (
            te.PoissonRegressionHead(),
            [[np.nan], [2.0], [1.0]],
            "Labels must be >= 0 for PoissonRegressionHead (counts); got NaN labels",
        ),
    ],
)
def test_out_of_range_labels_raise_instead_of_a_nan_loss(head, labels, message):
    logits = torch.zeros(3, head.logits_dimension)
    with pytest.raises(ValueError, match=re.escape(message)):
        head.loss(np.asarray(labels, np.float32), logits, {})
    with pytest.raises(ValueError, match=re.escape(message)):  # evaluation checks them too
        head.create_estimator_spec({}, te.ModeKeys.EVAL, logits, np.asarray(labels, np.float32))


def test_valid_poisson_labels_still_give_tf_loss():
    loss = te.PoissonRegressionHead().loss(np.array([[3.0]], np.float32), torch.ones(1, 1), {})
    assert float(loss) == pytest.approx(1.4824, abs=1e-4)  # spec: c=1, z=3


def test_string_logits_name_the_argument():
    logits = np.array([["a"], ["b"]], dtype=object)
    with pytest.raises(
        TypeError, match=re.escape("logits must be a float tensor; got an array of dtype object, e.g. ['a', 'b'].")
    ):
        te.BinaryClassHead().loss(np.array([0, 1]), logits, {})
    with pytest.raises(TypeError, match="logits must be a float tensor"):
        te.MultiHead([te.BinaryClassHead(name="a"), te.RegressionHead(name="b")]).loss(
            {"a": [[0], [1]], "b": [[0], [1]]}, np.full((2, 2), "x"), {}
        )


def test_ragged_labels_name_labels():
    with pytest.raises(
        ValueError, match=re.escape("labels must be a tensor of shape [D0, D1, ... DN, 1]; got a ragged value")
    ):
        te.RegressionHead().loss([[1.0], [1.0, 2.0]], torch.zeros(2, 1), {})
    with pytest.raises(
        ValueError,
        match=re.escape(
            "labels must be per-example lists of class ids (or names) or a multi-hot [batch_size, 3] tensor"
        ),
    ):
        te.MultiLabelHead(3).loss([1, [0, 2]], torch.zeros(2, 3), {})


def test_invalid_utf8_label_is_out_of_the_vocabulary():
    head = te.MultiClassHead(3, label_vocabulary=["a", "b", "c"])
    with pytest.raises(ValueError, match=re.escape("Labels must be >= 0; got labels in [-1, 1].")):
        head.loss(np.array([b"\xff", b"b"], dtype=object), torch.zeros(2, 3), {})


# -- RunConfig -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,error,message",
    [
        ({"model_dir": 123}, TypeError, "model_dir must be a str or os.PathLike; got 123 (int)."),
        ({"model_dir": b"/tmp/x"}, TypeError, "model_dir must be a str or os.PathLike; got b'/tmp/x' (bytes)."),
        (
            {"session_config": "x"},
            ValueError,
            "session_config must be instance of ConfigProto (or a dict of its fields). Got 'x' (str).",
        ),
        (
            {"session_config": 5},
            ValueError,
            "session_config must be instance of ConfigProto (or a dict of its fields). Got 5 (int).",
        ),
        ({"keep_checkpoint_max": 1.5}, TypeError, "keep_checkpoint_max must be an integer; got 1.5 (float)."),
        ({"save_summary_steps": 2.5}, TypeError, "save_summary_steps must be an integer; got 2.5 (float)."),
        ({"log_step_count_steps": "5"}, TypeError, "log_step_count_steps must be an integer; got '5' (str)."),
        (
            {"keep_checkpoint_every_n_hours": "1"},
            TypeError,
            "keep_checkpoint_every_n_hours must be a number; got '1' (str).",
        ),
        (
            {"tf_random_seed": 2**70},
            ValueError,
            f"tf_random_seed must be a 64-bit integer, in [-2**63, 2**63 - 1]; got {2**70}.",
        ),
        ({"tf_random_seed": 1.5}, ValueError, "tf_random_seed must be integer. Got 1.5 (float)."),
    ],
)
def test_run_config_rejects_wrong_types(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        te.RunConfig(**kwargs)
    with pytest.raises(error, match=re.escape(message)):
        te.RunConfig().replace(**kwargs)


@pytest.mark.parametrize("model_dir, shown", [(123, "123 (int)"), (b"/tmp/x", "b'/tmp/x' (bytes)")])
def test_estimator_model_dir_must_be_a_path(model_dir, shown):
    with pytest.raises(TypeError, match=re.escape(f"model_dir must be a str or os.PathLike; got {shown}.")):
        te.Estimator(lambda features: None, model_dir=model_dir)


def test_run_config_model_dir_takes_path_like(tmp_path):
    assert te.RunConfig(model_dir=tmp_path / "m").model_dir == str(tmp_path / "m")
    assert te.RunConfig().replace(model_dir=pathlib.Path("a")).model_dir == "a"
    assert te.RunConfig(session_config={"allow_soft_placement": True}, tf_random_seed=-(2**63)).tf_random_seed == -(
        2**63
    )


# -- canned estimators and input functions -------------------------------------------------------


X = fc.numeric_column("x")


@pytest.mark.parametrize(
    "build,error,message",
    [
        (
            lambda: te.DNNClassifier([4], [X], n_classes=2.5),
            TypeError,
            "n_classes must be an integer; got 2.5 (float).",
        ),
        (lambda: te.LinearClassifier([X], n_classes=3.0), TypeError, "n_classes must be an integer; got 3.0 (float)."),
        (
            lambda: te.LinearRegressor([X], label_dimension=1.5),
            TypeError,
            "label_dimension must be an integer; got 1.5 (float).",
        ),
        (
            lambda: te.DNNClassifier("10", [X]),
            TypeError,
            "hidden_units must be a list of positive integers (layer sizes); got '10' (str).",
        ),
        (
            lambda: te.DNNRegressor(10, [X]),
            TypeError,
            "hidden_units must be a list of positive integers (layer sizes); got 10 (int).",
        ),
        (lambda: te.DNNRegressor([10, 2.5], [X]), TypeError, "hidden_units[1] must be an integer; got 2.5 (float)."),
        (lambda: te.DNNRegressor([10, 0], [X]), ValueError, "hidden_units[1] must be an integer >= 1; got 0."),
        (
            lambda: te.DNNLinearCombinedClassifier(dnn_feature_columns=[X], dnn_hidden_units="8"),
            TypeError,
            "dnn_hidden_units must be a list",
        ),
        (lambda: te.MultiLabelHead(n_classes=2.5), TypeError, "n_classes must be an integer; got 2.5 (float)."),
        (
            lambda: te.inputs.make_csv_input_fn(5, batch_size=2),
            TypeError,
            "file_pattern must be a glob pattern (str or os.PathLike) or a list of them; got 5 (int).",
        ),
        (
            lambda: te.inputs.make_parquet_input_fn([5], batch_size=2),
            TypeError,
            "file_pattern must be a glob pattern (str or os.PathLike) or a list of them; got [5] (list).",
        ),
    ],
)
def test_constructors_reject_wrong_types(build, error, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=re.escape(message)):
        build()


# -- zero-row batches ----------------------------------------------------------------------------

_S = fc.categorical_column_with_vocabulary_list("s", ["a", "b", "c"])
_I = fc.categorical_column_with_identity("i", 4)
ZERO_ROWS = {
    "x": np.zeros(0, np.float32),
    "x2": np.zeros((0, 2), np.float32),
    "s": np.zeros(0, object),
    "i": np.zeros(0, np.int64),
    "w": np.zeros(0, np.float32),
}
DENSE_COLUMNS = [
    (X, 1),
    (fc.numeric_column("x2", shape=2), 2),
    (fc.bucketized_column(X, [0.0, 1.0]), 3),
    (fc.bucketized_column(fc.numeric_column("x2", shape=2), [0.0]), 4),
    (fc.numeric_column("x", normalizer_fn=lambda v: v * 2), 1),
    (fc.indicator_column(_S), 3),
    (fc.embedding_column(_S, 2), 2),
    (fc.embedding_column(fc.categorical_column_with_hash_bucket("s", 7), 3, max_norm=1.0), 3),
    (fc.indicator_column(_I), 4),
    (fc.indicator_column(fc.crossed_column(["s", _I], 5)), 5),
    (fc.embedding_column(fc.weighted_categorical_column(_I, "w"), 2, combiner="sqrtn"), 2),
]


@pytest.mark.parametrize("column,width", DENSE_COLUMNS, ids=lambda c: getattr(c, "name", str(c)))
def test_zero_rows_give_empty_dense_features(column, width):
    with te.VariableStore().activate():
        out = fc.DenseFeatures([column])(ZERO_ROWS)
        assert out.shape == (0, width) and out.dtype == torch.float32
        assert fc.input_layer(ZERO_ROWS, [column]).shape == (0, width)  # TF 2.15: [0, n]


@pytest.mark.parametrize("combiner", ["sum", "mean", "sqrtn"])
def test_zero_rows_give_empty_linear_model_logits(combiner):
    columns = [
        X,
        fc.bucketized_column(X, [0.0]),
        _S,
        _I,
        fc.crossed_column(["s", _I], 5),
        fc.weighted_categorical_column(_I, "w"),
    ]
    with te.VariableStore().activate():
        assert fc.LinearModel(columns, units=3, sparse_combiner=combiner)(ZERO_ROWS).shape == (0, 3)
    with te.VariableStore().activate():
        assert fc.linear_model(ZERO_ROWS, columns, units=2, sparse_combiner=combiner).shape == (0, 2)


@pytest.mark.parametrize(
    "head",
    [
        te.BinaryClassHead(),
        te.MultiClassHead(3),
        te.MultiLabelHead(3),
        te.RegressionHead(2),
        te.PoissonRegressionHead(),
    ],
    ids=type,
)
def test_zero_rows_in_heads(head):
    logits = torch.zeros(0, head.logits_dimension)
    labels = np.zeros(
        (0, head.logits_dimension if isinstance(head, (te.MultiLabelHead, te.RegressionHead)) else 1), np.int64
    )
    assert float(head.loss(labels, logits, {})) == 0.0  # TF 2.15: 0.0
    predictions = head.predictions(logits)
    assert predictions and all(len(v) == 0 for v in predictions.values())


def _estimators(tmp_path):
    wide = [X, _S, fc.crossed_column(["s", _I], 5)]
    deep = [X, fc.indicator_column(_S), fc.embedding_column(_I, 2)]
    return [
        te.DNNClassifier([3], deep, model_dir=str(tmp_path / "dnn")),
        te.LinearClassifier(wide, n_classes=3, model_dir=str(tmp_path / "linear")),
        te.DNNLinearCombinedRegressor(
            linear_feature_columns=wide,
            dnn_feature_columns=deep,
            dnn_hidden_units=[2],
            model_dir=str(tmp_path / "combined"),
        ),
        te.BaselineClassifier(model_dir=str(tmp_path / "baseline")),
    ]


def test_zero_rows_in_canned_predict_and_evaluate(tmp_path):
    features = {
        "x": np.array([0.0, 1.0, 2.0], np.float32),
        "s": np.array(["a", "b", "z"], object),
        "i": np.array([0, 3, 1]),
    }
    empty = {k: ZERO_ROWS[k] for k in features}
    for estimator in _estimators(tmp_path):
        estimator.train(lambda: iter([(features, np.array([0, 1, 1]))]), steps=1)
        assert list(estimator.predict(lambda: iter([empty]))) == []
        (batch,) = estimator.predict(lambda: iter([empty]), yield_single_examples=False)
        assert batch and all(len(v) == 0 for v in batch.values())
        metrics = estimator.evaluate(lambda: iter([(empty, np.zeros(0, np.int64))]))
        assert metrics["loss"] == 0.0 and metrics["global_step"] == 1


# -- feature values the columns cannot use -------------------------------------------------------


def test_identity_ids_out_of_range_name_the_column():
    ids = {"i": np.array([1, 5])}
    message = (
        "Feature column 'i': indices[1] = 5 is not in [0, 4) (its num_buckets); "
        "categorical_column_with_identity maps such ids to its default_value"
    )
    with te.VariableStore().activate():
        with pytest.raises(ValueError, match=re.escape(message)):
            fc.DenseFeatures([fc.embedding_column(_I, 2)])(ids)
        with pytest.raises(ValueError, match=re.escape(message)):
            fc.LinearModel([_I])(ids)
        with pytest.raises(ValueError, match=re.escape(message.replace("'i'", "'i_weighted_by_w'"))):
            fc.LinearModel([fc.weighted_categorical_column(_I, "w")], sparse_combiner="mean")(
                {**ids, "w": np.ones(2, np.float32)}
            )
        # TF 2.15: an indicator gives an all-zero row, and a cross hashes the raw id
        np.testing.assert_array_equal(
            fc.DenseFeatures([fc.indicator_column(_I)])(ids).numpy(), [[0, 1, 0, 0], [0, 0, 0, 0]]
        )
        cross = fc.crossed_column([fc.categorical_column_with_identity("i", 3), "b"], 1000)
        out = fc.DenseFeatures([fc.indicator_column(cross)])({"i": np.array([[5], [2]]), "b": np.array([["x"], ["y"]])})
        assert [np.flatnonzero(r).tolist() for r in out.numpy()] == [[306], [604]]


@pytest.mark.parametrize("value", [[[1.0], [1.0, 2.0]], [1.0, [1.0, 2.0]]])
def test_ragged_numeric_feature_names_the_feature_and_shape(value):
    message = (
        "Feature 'x' must be a [batch_size] + [1] array of numbers; got a ragged value "
        "(rows of different lengths, or numbers mixed with lists)"
    )
    with te.VariableStore().activate(), pytest.raises(ValueError, match=re.escape(message)):
        fc.DenseFeatures([X])({"x": value})


def test_scalar_numeric_feature_is_refused_as_in_tf():
    with (
        te.VariableStore().activate(),
        pytest.raises(ValueError, match=re.escape("Feature (key: x) cannot have rank 0. Given: 0.5;")),
    ):
        fc.DenseFeatures([fc.bucketized_column(X, [0.0])])({"x": 0.5})


def test_float_feature_in_a_cross_names_the_feature():
    cross = fc.crossed_column(["x", "s"], 10)
    with (
        te.VariableStore().activate(),
        pytest.raises(
            ValueError,
            match=re.escape("crossed_column s_X_x: feature 'x' must hold strings or integers; got dtype float32."),
        ),
    ):
        fc.DenseFeatures([fc.indicator_column(cross)])({"x": np.array([1.5], np.float32), "s": np.array(["a"])})


def _ids(column, features):
    with te.VariableStore().activate():
        out = fc.DenseFeatures([fc.indicator_column(column)])(features).numpy()
    return [np.flatnonzero(row).tolist() for row in out]


def test_invalid_utf8_values_are_out_of_vocabulary_as_in_tf():
    values = {"s": np.array([[b"\xff"], [b"a"], [b"\xfe\xfd"], [b"caf\xc3"]], dtype=object)}
    assert _ids(fc.categorical_column_with_vocabulary_list("s", ["a", "b"], num_oov_buckets=3), values) == [
        [4],
        [0],
        [3],
        [3],
    ]  # TF 2.15
    assert _ids(fc.categorical_column_with_vocabulary_list("s", ["a", "b"], default_value=1), values) == [
        [1],
        [0],
        [1],
        [1],
    ]
    assert _ids(fc.categorical_column_with_vocabulary_list("s", ["a", "b"]), values) == [[], [0], [], []]
    assert _ids(fc.categorical_column_with_hash_bucket("s", 1000), {"s": values["s"][:3]}) == [
        [103],
        [939],
        [808],
    ]  # TF 2.15


def test_unsigned_ids_match_tf():
    """TF 2.15 sparsifies integer input dropping -1 in the input's dtype (the largest unsigned
    value), hashes uint64 values as unsigned decimals and casts them to int64 for look-ups."""
    u64 = {"u": np.array([[2**64 - 1], [2**63 + 5], [3], [2**63 - 1], [0]], dtype=np.uint64)}
    assert _ids(fc.categorical_column_with_hash_bucket("u", 1000, dtype=torch.int64), u64) == [
        [],
        [311],
        [921],
        [319],
        [735],
    ]
    assert _ids(fc.categorical_column_with_identity("u", 5, default_value=0), u64) == [[], [0], [3], [0], [0]]
    assert _ids(fc.categorical_column_with_identity("u", 5), u64) == [[], [], [3], [], [0]]
    assert _ids(fc.categorical_column_with_vocabulary_list("u", [3, 7, 2**40], num_oov_buckets=2), u64) == [
        [],
        [3],
        [0],
        [4],
        [4],
    ]
    u8 = {"u": np.array([[255], [254], [3]], np.uint8)}
    assert _ids(fc.categorical_column_with_hash_bucket("u", 1000, dtype=torch.int64), u8) == [[], [271], [921]]
    assert _ids(fc.categorical_column_with_identity("u", 5, default_value=0), u8) == [[], [0], [3]]


def test_unsigned_numeric_features_and_labels():
    with te.VariableStore().activate():
        out = fc.DenseFeatures([X])({"x": np.array([2**64 - 1, 7], np.uint64)})
    np.testing.assert_allclose(out.numpy(), [[2.0**64], [7.0]])
    assert float(te.RegressionHead().loss(np.array([[2], [3]], np.uint32), torch.zeros(2, 1), {})) == pytest.approx(6.5)


# -- CSV files with invalid UTF-8 ----------------------------------------------------------------


def test_csv_invalid_utf8_names_file_and_line_or_is_skipped(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,s,label\n1,x,0\n2,\xff\xfe,1\n\xff3,y,0\n4,y,1\n")

    def make(ignore: bool):
        return te.inputs.make_csv_input_fn(
            str(path),
            batch_size=10,
            label_key="label",
            column_defaults=[0, "", 0],
            num_epochs=1,
            shuffle=False,
            ignore_errors=ignore,
        )

    with pytest.raises(
        ValueError,
        match=re.escape(f"Malformed CSV record in {path}, line 3: column 's': invalid UTF-8 bytes b'\\xff\\xfe'."),
    ):
        list(make(False)())
    ((features, labels),) = list(make(True)())
    assert features["a"].tolist() == [1, 4] and features["s"].tolist() == ["x", "y"] and labels.tolist() == [0, 1]


def test_csv_header_with_invalid_utf8_names_the_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"\xffa,label\n1,0\n")
    with pytest.raises(
        ValueError, match=re.escape(f"The header line of {path} (line 1) is not valid UTF-8: [b'\\xffa', b'label'].")
    ):
        te.inputs.make_csv_input_fn(str(path), batch_size=2)
