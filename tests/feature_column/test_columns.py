"""Feature columns in models: training shared embeddings, pre-transformed input, numeric weight
columns in heads, normalizers, sparse gradients for large tables."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import torch_estimator as te
from torch_estimator.feature_column import _bags

fc = te.feature_column
RNG = np.random.default_rng(0)
COLORS = np.array(["red", "green", "blue", "yellow"], dtype=object)


def _data(n=200):
    a = COLORS[RNG.integers(0, 4, n)]
    b = COLORS[RNG.integers(0, 4, n)]
    x = RNG.normal(size=n).astype(np.float32)
    y = ((a == "red") | (b == "blue") | (x > 1)).astype(np.float32)[:, None]
    return {"a": a, "b": b, "x": x, "w": RNG.uniform(0.5, 2, n).astype(np.float32)}, y


def test_shared_embeddings_are_created_eagerly_and_trained(tmp_path):
    vocab = list(COLORS)
    a = fc.categorical_column_with_vocabulary_list("a", vocab)
    b = fc.categorical_column_with_vocabulary_list("b", vocab)
    shared = fc.shared_embeddings([b, a], dimension=3)
    assert [c.name for c in shared] == ["b_shared_embedding", "a_shared_embedding"]

    def model_fn(features, labels, mode):
        net = fc.DenseFeatures(shared + [fc.numeric_column("x")])(features)
        logits = te.layers.dense(net, 1)
        return te.BinaryClassHead().create_estimator_spec(
            features, mode, logits, labels, optimizer=te.optimizers.Adagrad(0.3)
        )

    features, y = _data()
    est = te.Estimator(model_fn, model_dir=str(tmp_path), config=te.RunConfig(tf_random_seed=0))
    est.train(te.inputs.numpy_input_fn(features, y, batch_size=20, shuffle=False), steps=1)
    before = est.get_variable_value("a_b_shared_embedding")
    est.train(te.inputs.numpy_input_fn(features, y, batch_size=20, num_epochs=None, shuffle=True), steps=60)
    after = est.get_variable_value("a_b_shared_embedding")
    assert before.shape == (4, 3) and not np.allclose(before, after)
    assert "training/Adagrad/a_b_shared_embedding/accumulator" in est.get_variable_names()
    assert est.evaluate(te.inputs.numpy_input_fn(features, y, shuffle=False))["accuracy"] > 0.8


def test_dense_features_accepts_pretransformed_batches():
    features, _ = _data(8)
    columns = [fc.embedding_column(fc.categorical_column_with_hash_bucket("a", 10), 2), fc.numeric_column("x")]
    store = te.VariableStore()
    with store.activate():
        raw = fc.DenseFeatures(columns)(features)
        transformed = fc.transform_features(features, columns)
        again = fc.DenseFeatures(columns)(transformed)
    torch.testing.assert_close(raw, again)


def test_numeric_column_as_head_weight_column_applies_normalizer():
    weight = fc.numeric_column("w", normalizer_fn=lambda t: t * 2)
    head = te.BinaryClassHead(weight_column=weight, loss_reduction="sum")
    loss = head.loss(torch.ones(2, 1), torch.zeros(2, 1), {"w": np.array([1.0, 3.0], np.float32)})
    assert float(loss) == pytest.approx(8 * np.log(2), rel=1e-6)


def test_missing_feature_key_is_named():
    column = fc.categorical_column_with_vocabulary_list("color", ["red"])
    with pytest.raises(ValueError, match="Feature color is not in features dictionary."):
        column.transform({"colour": np.array(["red"])})


def test_large_tables_get_sparse_gradients_and_row_wise_updates():
    column = fc.categorical_column_with_hash_bucket("id", _bags.SPARSE_GRADIENT_MIN_ROWS)
    store = te.VariableStore()
    with store.activate():
        logits = fc.LinearModel([column])({"id": np.array(["a", "b", "a"], dtype=object)})
        loss = logits.sum()
        op = te.optimizers.get("Ftrl", learning_rate=0.1).minimize(loss)
    table = store.variables()["linear_model/id/weights"]
    op()
    assert table.grad is None or table.grad.is_sparse
    touched = np.flatnonzero(table.detach().numpy()[:, 0])
    expected = (
        fc.categorical_column_with_hash_bucket("id", _bags.SPARSE_GRADIENT_MIN_ROWS)
        .transform({"id": np.array(["a", "b"], dtype=object)})
        .ids.values
    )
    assert sorted(touched.tolist()) == sorted(expected.tolist())


def test_ragged_inputs_and_combiners():
    column = fc.categorical_column_with_vocabulary_list("tags", ["a", "b", "c"])
    emb = fc.embedding_column(
        column, 2, combiner="sqrtn", initializer=te.initializers.constant([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    )
    store = te.VariableStore()
    with store.activate():
        out = fc.DenseFeatures([emb])({"tags": te.RaggedValue.from_lists([["a", "b"], [], ["c", "c", "zz"]])})
    expected = np.array([[1, 1], [0, 0], [2, 2]], np.float32) / np.array([[np.sqrt(2)], [1], [np.sqrt(2)]], np.float32)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-6)


def test_crosses_of_encoded_strings_equal_plain_ones():
    from torch_estimator._core.values import encode_strings

    rng = np.random.default_rng(1)
    a = np.array(["x", "y", "z", ""], dtype=object)[rng.integers(0, 4, 50)]
    b = np.array(["p", "q"], dtype=object)[rng.integers(0, 2, 50)]
    n = rng.integers(-3, 3, 50).astype(np.float32)
    bucket = fc.bucketized_column(fc.numeric_column("n"), [-1.0, 1.0])
    cross = fc.crossed_column([bucket, "a", "b"], 97)
    plain = cross.transform({"a": a, "b": b, "n": n}).ids
    codes_a, dict_a = np.unique(a, return_inverse=True)[1], np.unique(a)
    codes_b, dict_b = np.unique(b, return_inverse=True)[1], np.unique(b)
    encoded = {
        "a": encode_strings(codes_a, dict_a.astype(object)),
        "b": encode_strings(codes_b, dict_b.astype(object)),
        "n": n,
    }
    for _ in range(2):  # the second call reuses the cached table
        assert cross.transform(encoded).ids.to_lists() == plain.to_lists()


def test_vocabulary_columns_have_tf_attributes(tmp_path):
    words = fc.categorical_column_with_vocabulary_list("w", ["a", "b", "c"], num_oov_buckets=2)
    assert words.vocabulary_list == ("a", "b", "c") and words.vocabulary_size == 3 and words.num_buckets == 5
    path = tmp_path / "vocab.txt"
    path.write_text("x\ny\n")
    from_file = fc.categorical_column_with_vocabulary_file("w", str(path))
    assert from_file.vocabulary_file == str(path) and from_file.vocabulary_size == 2
    assert from_file.file_format is None and from_file.default_value == -1 and from_file.num_oov_buckets == 0
    # the WarmStartSettings / VocabInfo example reads .vocabulary_size
    info = te.estimator.VocabInfo(
        new_vocab=from_file.vocabulary_file,
        new_vocab_size=from_file.vocabulary_size,
        num_oov_buckets=0,
        old_vocab=str(path),
    )
    assert info.new_vocab_size == 2


def test_layers_work_outside_a_model_fn_with_their_own_variables():
    # The feature-column tutorials call DenseFeatures eagerly to show each column's output.
    out = fc.DenseFeatures([fc.numeric_column("a")])({"a": np.array([1.0, 2.0])})
    assert out.numpy().tolist() == [[1.0], [2.0]]
    words = fc.categorical_column_with_vocabulary_list("w", ["x", "y"])
    layer = fc.DenseFeatures([fc.embedding_column(words, 2), fc.indicator_column(words)])
    first = layer({"w": np.array(["x", "y", "z"], dtype=object)}).numpy()
    again = layer({"w": np.array(["y"], dtype=object)}).numpy()
    assert first.shape == (3, 4) and np.array_equal(again[0], first[1])  # one table, kept by the layer
    assert list(layer.variables) == ["dense_features/w_embedding/embedding_weights"]
    assert np.array_equal(first[2], np.zeros(4))  # 'z' is out of vocabulary
    linear = fc.LinearModel([fc.numeric_column("a"), fc.categorical_column_with_identity("i", 3)])
    assert linear({"a": np.array([1.0, 2.0]), "i": np.array([0, 2])}).numpy().tolist() == [[0.0], [0.0]]
    assert sorted(linear.variables) == ["linear_model/a/weights", "linear_model/bias_weights", "linear_model/i/weights"]


def test_classifier_and_regressor_parse_example_specs_add_the_label_as_tensorflow_does():
    # Read off TF 2.15 (tf.estimator.classifier_parse_example_spec / regressor_parse_example_spec).
    columns = [fc.numeric_column("a"), fc.categorical_column_with_vocabulary_list("b", ["x"])]
    from torch_estimator._core.parse_spec import FixedLenFeature as FixedLen
    from torch_estimator._core.parse_spec import VarLenFeature as VarLen

    base = {"a": FixedLen((1,), "float32"), "b": VarLen("string")}
    assert te.estimator.classifier_parse_example_spec(columns, "y") == {**base, "y": FixedLen((1,), "int64")}
    assert te.estimator.classifier_parse_example_spec(columns, "y", label_dtype=torch.float32, weight_column="w") == {
        **base,
        "y": FixedLen((1,), "float32"),
        "w": FixedLen((1,), "float32"),
    }
    assert te.estimator.classifier_parse_example_spec(
        columns, "y", label_dtype="string", label_default="n", weight_column=fc.numeric_column("w", dtype=torch.float64)
    ) == {**base, "y": FixedLen((1,), "string", "n"), "w": FixedLen((1,), "float64")}
    assert te.estimator.regressor_parse_example_spec(columns, "y", label_dimension=3, label_default=0.5) == {
        **base,
        "y": FixedLen((3,), "float32", 0.5),
    }
    with pytest.raises(ValueError, match=r"label should not be used as feature. label_key: a, features: dict_keys"):
        te.estimator.classifier_parse_example_spec(columns, "a")
    with pytest.raises(ValueError, match=r"weight_column should not be used as feature. weight_column: a, features"):
        te.estimator.classifier_parse_example_spec(columns, "y", weight_column="a")
    with pytest.raises(ValueError, match="weight_column should be an instance of tf.feature_column.numeric_column"):
        te.estimator.classifier_parse_example_spec(
            columns, "y", weight_column=fc.categorical_column_with_identity("w", 3)
        )
