"""In-memory inputs transform once: a layer's host inputs over all rows, gathered per batch, equal
the batch's own, and training on them gives the same weights bit for bit."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest
import torch

import torch_estimator as te
from torch_estimator._core.batches import to_model_input
from torch_estimator._core.in_memory import BatchFeatures, HostRows, InMemorySource
from torch_estimator._core.trace import Bag, HostInputs
from torch_estimator._core.variables import VariableStore
from torch_estimator.feature_column._layers import DenseFeatures, LinearModel

fc = te.feature_column
RNG = np.random.default_rng(0)
N = 300
FEATURES = {
    "color": RNG.choice(["red", "green", "blue", "mauve", ""], N).astype(object),  # OOV and empty: ragged bags
    "shape": RNG.choice(["circle", "square", "star"], N).astype(object),
    "size": RNG.normal(size=N).astype(np.float32),
    "count": RNG.integers(0, 20, N).astype(np.int64),
}
LABELS = (FEATURES["size"] + (FEATURES["shape"] == "star") > 0.5).astype(np.int64)


def _columns():
    color = fc.categorical_column_with_vocabulary_list("color", ["red", "green", "blue"], default_value=-1)
    shape = fc.categorical_column_with_hash_bucket("shape", 7)
    count = fc.categorical_column_with_identity("count", 20)
    size = fc.numeric_column("size")
    wide = [
        color,
        shape,
        count,
        fc.bucketized_column(size, [-1.0, 0.0, 1.0]),
        fc.crossed_column(["color", "shape"], 11),
    ]
    deep = [
        size,
        fc.indicator_column(color),
        fc.embedding_column(shape, 3),
        fc.embedding_column(count, 2, max_norm=0.5),
    ]
    return wide, deep


@pytest.mark.parametrize("make_layer", [lambda w, d: LinearModel(w), lambda w, d: DenseFeatures(d)])
def test_gathered_host_inputs_equal_the_batch_own(make_layer):
    wide, deep = _columns()
    layer = make_layer(wide, deep)
    source = InMemorySource(FEATURES, N)
    rows = np.array([5, 0, 299, 17, 17, 150, 3])
    batch = {k: v[rows] for k, v in FEATURES.items()}
    with VariableStore().activate():
        direct, _ = layer._call_inputs(to_model_input(batch, torch.device("cpu")))
        gathered, _ = layer._call_inputs(BatchFeatures(to_model_input(batch, torch.device("cpu")), source, rows))
    assert direct.parts.keys() == gathered.parts.keys()
    for name in direct.parts:
        ours, theirs = dict(gathered.parts[name].fields()), dict(direct.parts[name].fields())
        assert ours.keys() == theirs.keys(), name
        for field in ours:
            assert torch.equal(ours[field], theirs[field]), (name, field)


def test_ragged_bags_gather_by_row():
    bag = Bag(
        torch.tensor([1, 2, 3, 4, 5, 6]),
        torch.tensor([0, 0, 2, 5]),
        torch.arange(6.0),
        torch.tensor([1, 1, 2, 2, 2, 3]),
    )
    gathered = HostRows(HostInputs({"b": bag})).gather(torch.tensor([2, 0, 3, 2])).parts["b"]
    assert gathered.ids.tolist() == [3, 4, 5, 6, 3, 4, 5]
    assert gathered.offsets.tolist() == [0, 3, 3, 4]
    assert gathered.weights.tolist() == [2.0, 3.0, 4.0, 5.0, 2.0, 3.0, 4.0]
    assert gathered.rows.tolist() == [0, 0, 0, 2, 3, 3, 3]


class _PlainDicts:
    """An input_fn whose batches are plain dicts: the batch-by-batch transform path."""

    def __init__(self, input_fn):
        self.input_fn = input_fn

    def __call__(self):
        for features, labels in self.input_fn():
            yield dict(features), labels


def _train(plain: bool):
    wide, deep = _columns()
    est = te.DNNLinearCombinedClassifier(
        model_dir=tempfile.mkdtemp(),
        linear_feature_columns=wide,
        dnn_feature_columns=deep,
        dnn_hidden_units=[8, 4],
        config=te.RunConfig(tf_random_seed=7),
    )
    input_fn = te.inputs.numpy_input_fn(FEATURES, LABELS, batch_size=32, num_epochs=3, shuffle=True)
    est.train(_PlainDicts(input_fn) if plain else input_fn)
    predictions = [p["logits"] for p in est.predict(te.inputs.numpy_input_fn(FEATURES, batch_size=64, shuffle=False))]
    return {n: est.get_variable_value(n) for n in est.get_variable_names()}, np.array(predictions)


def test_training_on_gathered_inputs_is_bit_identical():
    cached, cached_predictions = _train(plain=False)
    plain, plain_predictions = _train(plain=True)
    assert cached.keys() == plain.keys()
    for name in cached:
        np.testing.assert_array_equal(cached[name], plain[name], err_msg=name)
    np.testing.assert_array_equal(cached_predictions, plain_predictions)


def test_a_model_fn_that_changes_a_feature_is_transformed_as_changed():
    size = fc.numeric_column("size")
    seen = []

    def model_fn(features, labels, mode):
        features["size"] = features["size"] * 0 + 3.0  # the layer must see this, not the source's value
        seen.append(DenseFeatures([size])(features))
        return te.EstimatorSpec(mode, predictions={"x": seen[-1]})

    est = te.Estimator(model_fn, model_dir=tempfile.mkdtemp())
    list(est.predict(te.inputs.numpy_input_fn(FEATURES, batch_size=100, shuffle=False)))
    assert all(bool((s == 3.0).all()) for s in seen)


def test_batches_say_which_rows_they_are():
    input_fn = te.inputs.numpy_input_fn(FEATURES, LABELS, batch_size=128, num_epochs=1, shuffle=False)
    batches = [features for features, _ in input_fn()]
    assert all(isinstance(b, BatchFeatures) and b.source is not None for b in batches)
    assert np.concatenate([b.rows for b in batches]).tolist() == list(range(N))
    batches[0].pop("size")
    assert batches[0].source is None  # changed: transformed as a batch of its own
