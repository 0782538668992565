"""The host / tensor split of the layers: typed host-input records (blocks of host-only columns,
bags, raw features), their flat form an exported program takes, and the tensor half computed
from them equal to a plain layer call."""

from __future__ import annotations

import numpy as np
import torch

import torch_estimator as te
from torch_estimator._core.trace import Bag, DenseBlock, HostInputs, RawFeature
from torch_estimator._core.values import encode_strings
from torch_estimator._core.vocabulary import VocabularyIndex
from torch_estimator.feature_column import _bags

fc = te.feature_column
RNG = np.random.default_rng(0)
B = 6
FEATURES = {
    "x": RNG.normal(size=(B, 2)).astype(np.float32),
    "n": RNG.integers(0, 5, B).astype(np.int64),
    "color": np.array(["red", "green", "blue", "pink"], dtype=object)[RNG.integers(0, 4, B)],
    "tags": te.RaggedValue.from_lists([["a"], ["a", "b"], [], ["c", "a"], ["b"], ["zz"]]),
}
X = fc.numeric_column("x", shape=2)
N_BUCKETS = fc.bucketized_column(fc.numeric_column("n"), [1.0, 3.0])
COLOR = fc.categorical_column_with_vocabulary_list("color", ["red", "green", "blue"], num_oov_buckets=1)
TAGS = fc.categorical_column_with_vocabulary_list("tags", ["a", "b", "c"])


def _layer_output(layer, host: HostInputs, store: te.VariableStore) -> torch.Tensor:
    with store.activate(), torch.no_grad():
        return layer.from_host(host, torch.device("cpu"))


def test_dense_features_parts_by_kind_and_the_flat_form():
    columns = [
        X,
        N_BUCKETS,
        fc.indicator_column(COLOR),
        fc.embedding_column(TAGS, 3, combiner="sum", max_norm=0.5),
        fc.numeric_column("y", normalizer_fn=lambda v: v * 2),
    ]
    features = {**FEATURES, "y": RNG.normal(size=B).astype(np.float32)}
    layer = fc.DenseFeatures(columns)
    store = te.VariableStore()
    with store.activate(), torch.no_grad():
        expected = layer(features)
    host = layer.host_inputs(fc.Transformer(features))
    # Sorted by name: color_indicator, n_bucketized, tags_embedding, x, y: host-only runs share a block.
    assert [type(p) for p in host.parts.values()] == [DenseBlock, Bag, DenseBlock, RawFeature]
    assert host.parts["0"].block.shape == (B, 4 + 3) and host.parts["2"].block.shape == (B, 2)
    tensors = host.tensors()
    assert list(tensors) == ["0/block", "1/ids", "1/offsets", "1/weights", "1/rows", "2/block", "3/raw"]
    np.testing.assert_array_equal(tensors["1/weights"].numpy(), np.ones(6, np.float32))  # weights always, flat
    torch.testing.assert_close(_layer_output(layer, host, store), expected)
    torch.testing.assert_close(_layer_output(layer, host.with_tensors(tensors), store), expected)


def test_a_static_block_is_its_columns_side_by_side():
    columns = [
        fc.indicator_column(fc.weighted_categorical_column(fc.categorical_column_with_identity("n", 5), "w")),
        N_BUCKETS,
        X,
    ]
    features = {**FEATURES, "w": RNG.uniform(0.5, 2, B).astype(np.float32)}
    layer = fc.DenseFeatures(columns)
    store = te.VariableStore()
    with store.activate(), torch.no_grad():
        together = layer(features)
        alone = torch.cat([fc.DenseFeatures([c])(features) for c in layer.feature_columns], dim=1)
    torch.testing.assert_close(together, alone)
    one_hot = np.zeros((B, 5), np.float32)
    one_hot[np.arange(B), FEATURES["n"]] = features["w"]
    np.testing.assert_allclose(together[:, 3:8].numpy(), one_hot)  # after n_bucketized's 3


def test_linear_model_fuses_small_tables_and_keeps_large_ones_apart():
    large = fc.categorical_column_with_hash_bucket("color", _bags.SPARSE_GRADIENT_MIN_ROWS)
    layer = fc.LinearModel([X, N_BUCKETS, TAGS, large], units=2, sparse_combiner="mean")
    host = layer.host_inputs(fc.Transformer(FEATURES))
    # Sorted by name: color (large), n_bucketized, tags, x.
    assert list(host.parts) == ["0", "3", "fused"]
    assert isinstance(host.parts["0"], Bag) and isinstance(host.parts["3"], DenseBlock)
    fused = host.parts["fused"]
    assert isinstance(fused, Bag) and fused.offsets.shape == (B,)
    store = te.VariableStore()
    with store.activate(), torch.no_grad():
        layer(FEATURES)
        for value in store.variables().values():
            value.copy_(torch.from_numpy(RNG.normal(size=tuple(value.shape)).astype(np.float32)))
        expected = layer(FEATURES)
    torch.testing.assert_close(_layer_output(layer, host.with_tensors(host.tensors()), store), expected)
    # The fused bag gives what separate per-column lookups give.
    variables = {name: value.detach() for name, value in store.variables().items()}
    ids = TAGS.transform(FEATURES).ids
    rows = [ids.values[a:b] for a, b in zip(ids.row_splits[:-1], ids.row_splits[1:])]
    table = variables["linear_model/tags/weights"].numpy()
    tags_part = np.stack([table[row[row >= 0]].mean(axis=0) if (row >= 0).any() else np.zeros(2) for row in rows])
    buckets = N_BUCKETS.transform(FEATURES).ids.values.reshape(B)
    manual = (
        variables["linear_model/color/weights"].numpy()[large.transform(FEATURES).ids.values]
        + variables["linear_model/n_bucketized/weights"].numpy()[buckets]
        + tags_part
        + FEATURES["x"] @ variables["linear_model/x/weights"].numpy()
        + variables["linear_model/bias_weights"].numpy()
    )
    np.testing.assert_allclose(expected.numpy(), manual, rtol=1e-5, atol=1e-6)


def test_vocabulary_index_looks_up_each_distinct_value_once():
    calls = []

    def unknown(values):
        calls.append(values.tolist())
        return np.full(len(values), 9, np.int64)

    index = VocabularyIndex(["a", "b"], unknown)
    values = np.array([b"b", "z", "a", "z"] * 40, dtype=object)  # more than a request's few values
    np.testing.assert_array_equal(index.ids(values), [1, 9, 0, 9] * 40)
    assert calls == [["z"]]
    dictionary = np.array(["a", "q"], dtype=object)
    encoded = encode_strings(np.array([1, 0, 1]), dictionary)
    for _ in range(2):  # the dictionary's ids are computed once
        np.testing.assert_array_equal(index.ids(encoded), [9, 0, 9])
    assert calls == [["z"], ["q"]]
    np.testing.assert_array_equal(VocabularyIndex(["a"]).ids(np.array([["a", "x"]], dtype=object)), [[0, -1]])


def test_small_and_large_batches_transform_each_value_alike():
    # Up to 128 values are computed one by one (a serving request), more by distinct value: same ids.
    colors = np.array(["red", "green", "blue", "pink", "", "green"] * 30, dtype=object)
    city = fc.categorical_column_with_hash_bucket("city", 7)
    columns = [COLOR, city, fc.crossed_column([COLOR, "city"], 11), fc.crossed_column(["city", "n"], 13)]
    features = {"color": colors, "city": colors[::-1].copy(), "n": np.arange(180, dtype=np.int64) % 4}
    whole = fc.transform_features(features, columns)

    def rows(ids, start=0, stop=None):
        splits = ids.row_splits
        return [ids.values[splits[i] : splits[i + 1]].tolist() for i in range(len(splits) - 1)][start:stop]

    for start in range(0, 180, 9):
        part = fc.transform_features({k: v[start : start + 9] for k, v in features.items()}, columns)
        for column in columns:
            assert rows(part.get(column).ids) == rows(whole.get(column).ids, start, start + 9), column.name


def test_a_cross_of_single_values_equals_the_general_cross():
    from torch_estimator.feature_column._crossed import CrossedColumn

    cross = fc.crossed_column([COLOR, "city", "n"], 1000)
    assert isinstance(cross, CrossedColumn)
    rng = np.random.default_rng(3)
    parts = [
        te.RaggedValue.from_lists([[int(v)] for v in rng.integers(0, 4, 40)]),
        te.RaggedValue.from_lists([[s] for s in rng.choice(["a", "b", "zz", ""], 40)]),
        te.RaggedValue.from_lists([[int(v)] for v in rng.integers(-5, 5, 40)]),
    ]
    np.testing.assert_array_equal(cross._cross_single(parts, 40).values, cross._cross_rows(parts, 40).values)
