"""Fuzzing feature columns and heads with bad input: every failure is a TypeError / ValueError (or
one of te.errors) that names the feature, column or argument; never a bare numpy / torch error,
and never a NaN in an output or a loss computed from finite inputs.

Deterministic (``derandomize=True``) and bounded (1000 examples per test, about 10 s) so that CI
never flakes. To explore further: ``TE_FUZZ_EXAMPLES=20000 TE_FUZZ_RANDOM=1 pytest tests/test_fuzz.py``.
"""

from __future__ import annotations

import math
import os
import tempfile
from typing import Any

import numpy as np
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import torch_estimator as te
from torch_estimator._core import errors

fc = te.feature_column

FUZZ = settings(
    max_examples=int(os.environ.get("TE_FUZZ_EXAMPLES", 1000)),
    deadline=None,
    derandomize=not os.environ.get("TE_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Text of numpy / torch errors that must never reach the user unexplained.
_BARE = (
    "setting an array element",
    "cannot reshape",
    "invalid entry in coordinates",
    "index out of range",
    "can't convert np.ndarray",
    "could not convert",
    "object has no attribute",
    "codec can't",
    "not supported between instances",
)

_VOCAB_FILE = os.path.join(tempfile.mkdtemp(), "vocab.txt")
with open(_VOCAB_FILE, "w", encoding="utf-8") as _f:
    _f.write("red\ngreen\nblue\n")


def _columns() -> dict[str, tuple[list[Any], set[str]]]:
    """Column sets by name: (columns, the feature keys they read)."""
    s = fc.categorical_column_with_vocabulary_list("s", ["a", "b", "ü"])
    s_oov = fc.categorical_column_with_vocabulary_list("s", ["a", "b"], num_oov_buckets=3)
    i_vocab = fc.categorical_column_with_vocabulary_list("i", [3, 7, 2**40], default_value=0)
    s_file = fc.categorical_column_with_vocabulary_file("s", _VOCAB_FILE, num_oov_buckets=1)
    s_hash = fc.categorical_column_with_hash_bucket("s", 20)
    i_hash = fc.categorical_column_with_hash_bucket("i", 20, dtype=torch.int64)
    identity = fc.categorical_column_with_identity("i", 5)
    identity_default = fc.categorical_column_with_identity("i", 5, default_value=0)
    crossed = fc.crossed_column(["s", identity_default], 30)
    crossed_raw = fc.crossed_column(["s", "i"], 30)
    weighted = fc.weighted_categorical_column(identity_default, "w")
    x = fc.numeric_column("x")
    x2 = fc.numeric_column("x2", shape=(2,))
    return {
        "numeric": ([x], {"x"}),
        "numeric_shape": ([x2], {"x2"}),
        "bucketized": ([fc.bucketized_column(x, [-1.0, 0.0, 1.0])], {"x"}),
        "bucketized_shape": ([fc.bucketized_column(x2, [0.0, 10.0])], {"x2"}),
        "vocab_list": ([fc.indicator_column(s), fc.embedding_column(s_oov, 2)], {"s"}),
        "vocab_int": ([fc.indicator_column(i_vocab)], {"i"}),
        "vocab_file": ([fc.embedding_column(s_file, 3, combiner="sqrtn")], {"s"}),
        "hash": ([fc.indicator_column(s_hash)], {"s"}),
        "hash_int": ([fc.embedding_column(i_hash, 2, combiner="sum")], {"i"}),
        "identity": ([fc.embedding_column(identity, 2), fc.indicator_column(identity)], {"i"}),
        "identity_default": ([fc.embedding_column(identity_default, 2, max_norm=0.5)], {"i"}),
        "crossed": ([fc.indicator_column(crossed), fc.embedding_column(crossed_raw, 2)], {"s", "i"}),
        "weighted": ([fc.indicator_column(weighted), fc.embedding_column(weighted, 2)], {"i", "w"}),
        "mixed": ([x, fc.indicator_column(s), fc.embedding_column(identity_default, 2)], {"x", "s", "i"}),
    }


COLUMNS = _columns()
#: The same column sets for LinearModel: categorical columns as themselves, one per name.
_LINEAR = {
    name: list({c.name: c for c in reversed([getattr(c, "categorical_column", c) for c in cols])}.values())
    for name, (cols, _) in COLUMNS.items()
}

_FLOATS = st.floats(-1e6, 1e6, width=32) | st.sampled_from([float("nan"), float("inf"), -float("inf"), 0.0, 1e30])
_INTS = st.integers(-(2**63), 2**63 - 1) | st.integers(-3, 8)
_TEXT = st.text(max_size=4) | st.sampled_from(["", "a", "b", "ü", "red"])
_BYTES = st.binary(max_size=3) | st.sampled_from([b"\xff", b"\xc3", b"a", b"caf\xc3"])


def _scalars() -> st.SearchStrategy[Any]:
    return _FLOATS | _INTS | _TEXT | _BYTES | st.booleans() | st.integers(2**63, 2**64 - 1)


@st.composite
def feature_values(draw: Any, batch: int) -> Any:
    """A batch value of some kind: typed arrays, object arrays, ragged lists, RaggedValues, tensors."""
    kind = draw(
        st.sampled_from(
            [
                "float",
                "int",
                "uint64",
                "text",
                "bytes",
                "object",
                "ragged",
                "ragged_value",
                "tensor",
                "wide",
                "scalar",
                "mixed",
            ]
        )
    )
    if kind == "float":
        return np.array(
            draw(st.lists(_FLOATS, min_size=batch, max_size=batch)),
            dtype=draw(st.sampled_from([np.float32, np.float64])),
        )
    if kind == "int":
        return np.array(draw(st.lists(_INTS, min_size=batch, max_size=batch)), dtype=np.int64).astype(
            draw(st.sampled_from([np.int64, np.int32, np.uint8]))
        )
    if kind == "uint64":
        return np.array(draw(st.lists(st.integers(0, 2**64 - 1), min_size=batch, max_size=batch)), dtype=np.uint64)
    if kind == "text":
        return np.array(draw(st.lists(_TEXT, min_size=batch, max_size=batch)), dtype=object)
    if kind == "bytes":
        return np.array(draw(st.lists(_BYTES, min_size=batch, max_size=batch)) + [None], dtype=object)[:batch]
    if kind == "object":
        return np.array(draw(st.lists(_scalars(), min_size=batch, max_size=batch)) + [None], dtype=object)[:batch]
    if kind == "ragged":
        element = draw(st.sampled_from([_FLOATS, _INTS, _TEXT, _BYTES]))
        return draw(st.lists(st.lists(element, max_size=3), min_size=batch, max_size=batch))
    if kind == "ragged_value":
        rows = draw(
            st.lists(
                st.lists(draw(st.sampled_from([st.integers(-2, 6), _TEXT])), max_size=3), min_size=batch, max_size=batch
            )
        )
        return te.RaggedValue.from_lists(rows)
    if kind == "tensor":
        return torch.tensor(
            draw(st.lists(st.integers(-3, 8), min_size=batch, max_size=batch)),
            dtype=draw(st.sampled_from([torch.int64, torch.float32])),
        )
    if kind == "wide":
        width = draw(st.integers(0, 3))
        return np.array(draw(st.lists(_INTS, min_size=batch * width, max_size=batch * width)), dtype=np.int64).reshape(
            batch, width
        )
    if kind == "scalar":
        return draw(_scalars())
    return draw(st.lists(_scalars() | st.lists(_INTS, max_size=2), min_size=batch, max_size=batch))


def _finite(value: Any) -> bool:
    """Whether a value (feature, labels, a dict of labels) holds only finite numbers (strings count as finite)."""
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, te.RaggedValue):
        value = value.values
    try:
        array = np.asarray(value.numpy() if isinstance(value, torch.Tensor) else value)
    except ValueError:
        return True
    if array.dtype.kind in "fc":
        return bool(np.isfinite(array).all())
    if array.dtype.kind == "O":
        return all(_finite(v) for v in array.reshape(-1) if isinstance(v, (float, list, np.floating)))
    return True


def _check_error(error: BaseException, names: set[str]) -> None:
    allowed = isinstance(error, (TypeError, ValueError, errors.OpError)) and not isinstance(error, UnicodeError)
    text = str(error)
    event(f"{type(error).__name__}: {text[:60]}")
    assert allowed, f"{type(error).__name__}: {text}"
    assert not any(bare in text for bare in _BARE), text
    assert any(name in text for name in names), f"the message names none of {sorted(names)}: {text}"


@FUZZ
@given(data=st.data())
def test_feature_columns_on_bad_input(data: Any) -> None:
    name = data.draw(st.sampled_from(sorted(COLUMNS)), label="columns")
    columns, keys = COLUMNS[name]
    batch = data.draw(st.integers(0, 4), label="batch")
    features = {key: data.draw(feature_values(batch), label=key) for key in sorted(keys)}
    layer = data.draw(st.sampled_from(["dense", "sum", "mean", "sqrtn"]), label="layer")
    column_names = {c.name for c in columns} | {c.name for c in _LINEAR[name]} | keys
    store = te.VariableStore()
    try:
        with store.activate():
            if layer == "dense":
                output = fc.DenseFeatures(columns)(features)
                width = sum(math.prod(c.variable_shape) for c in columns)
            else:
                output = fc.LinearModel(_LINEAR[name], units=2, sparse_combiner=layer)(features)
                width = 2
    except BaseException as error:  # noqa: BLE001 - the point is to see every failure
        _check_error(error, column_names)
        return
    event(f"ok, {batch} rows")
    assert tuple(output.shape) == (batch, width), (tuple(output.shape), batch, width)
    if all(_finite(v) for v in features.values()):
        assert not torch.isnan(output).any(), output


def _heads() -> dict[str, te.Head]:
    return {
        "binary": te.BinaryClassHead(),
        "binary_vocab": te.BinaryClassHead(label_vocabulary=["no", "yes"]),
        "multi_class": te.MultiClassHead(3),
        "multi_class_vocab": te.MultiClassHead(3, label_vocabulary=["a", "b", "c"]),
        "multi_label": te.MultiLabelHead(3),
        "multi_label_vocab": te.MultiLabelHead(3, label_vocabulary=["a", "b", "c"]),
        "regression": te.RegressionHead(label_dimension=2),
        "logistic": te.LogisticRegressionHead(),
        "poisson": te.PoissonRegressionHead(),
        "weighted": te.BinaryClassHead(weight_column="w"),
        "multi_head": te.MultiHead([te.BinaryClassHead(name="b"), te.RegressionHead(label_dimension=2, name="r")]),
    }


HEADS = _heads()


@st.composite
def label_values(draw: Any, batch: int, dim: int) -> Any:
    kind = draw(
        st.sampled_from(["float", "int", "text", "bytes", "bool", "shape", "ragged", "tensor", "scalar", "object"])
    )
    shape = draw(st.sampled_from([(batch,), (batch, dim), (batch, 1)]))
    size = math.prod(shape)
    if kind == "float":
        return np.array(
            draw(st.lists(_FLOATS | st.floats(-0.5, 3.5, width=32), min_size=size, max_size=size)), np.float32
        ).reshape(shape)
    if kind == "int":
        return np.array(draw(st.lists(st.integers(-2, 4) | _INTS, min_size=size, max_size=size)), np.int64).reshape(
            shape
        )
    if kind == "text":
        return np.array(
            draw(st.lists(st.sampled_from(["a", "b", "c", "no", "yes", "", "zz"]), min_size=size, max_size=size)),
            dtype=object,
        ).reshape(shape)
    if kind == "bytes":
        return np.array(
            draw(st.lists(_BYTES | st.sampled_from([b"a", b"yes"]), min_size=size, max_size=size)) + [None],
            dtype=object,
        )[:size].reshape(shape)
    if kind == "bool":
        return np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)), bool).reshape(shape)
    if kind == "shape":
        return np.zeros(draw(st.sampled_from([(batch + 1, dim), (batch, dim + 1), (batch, dim, 2), ()])), np.float32)
    if kind == "ragged":
        return draw(
            st.lists(
                st.lists(st.integers(-1, 4) | st.sampled_from(["a", "c", "q"]), max_size=3),
                min_size=batch,
                max_size=batch,
            )
        )
    if kind == "tensor":
        return (
            torch.tensor(draw(st.lists(st.integers(-1, 3), min_size=size, max_size=size)))
            .reshape(shape)
            .to(draw(st.sampled_from([torch.int64, torch.float32])))
        )
    if kind == "scalar":
        return draw(_scalars())
    return draw(st.lists(_scalars() | st.lists(st.integers(0, 2), max_size=2), min_size=batch, max_size=batch))


@FUZZ
@given(data=st.data())
def test_heads_on_bad_labels(data: Any) -> None:
    name = data.draw(st.sampled_from(sorted(HEADS)), label="head")
    head = HEADS[name]
    batch = data.draw(st.integers(0, 4), label="batch")
    dim = head.logits_dimension
    logits = torch.tensor(
        np.array(
            data.draw(st.lists(st.floats(-20, 20, width=32), min_size=batch * dim, max_size=batch * dim)), np.float32
        ).reshape(batch, dim)
    )
    labels = data.draw(label_values(batch, dim), label="labels")
    if isinstance(head, te.MultiHead) and data.draw(st.booleans(), label="labels as dict"):
        labels = {"b": labels[..., :1] if isinstance(labels, np.ndarray) and labels.ndim == 2 else labels, "r": labels}
    features = {
        "w": np.array(data.draw(st.lists(st.floats(0, 5, width=32), min_size=batch, max_size=batch)), np.float32)
    }
    mode = data.draw(st.sampled_from([te.ModeKeys.EVAL, "loss"]), label="mode")
    try:
        if mode == "loss":
            loss = head.loss(labels, logits, features)
        else:
            loss = head.create_estimator_spec(features, mode, logits, labels).loss
    except BaseException as error:  # noqa: BLE001
        _check_error(error, {"labels", "Labels", "label_vocabulary", "Weight", "weights"})
        return
    event("ok")
    assert loss.shape == ()
    if _finite(labels):
        assert not torch.isnan(loss), (labels, loss)


@FUZZ
@given(data=st.data())
def test_heads_on_bad_logits(data: Any) -> None:
    head = HEADS[data.draw(st.sampled_from(sorted(HEADS)), label="head")]
    batch = data.draw(st.integers(0, 3), label="batch")
    kind = data.draw(st.sampled_from(["text", "object", "ragged", "shape", "int", "bool"]), label="kind")
    dim = head.logits_dimension
    logits = {
        "text": np.full((batch, dim), "x", dtype=object),
        "object": np.array([[None] * dim] * batch, dtype=object).reshape(batch, dim),
        "ragged": [[0.0] * (i % 2 + 1) for i in range(batch + 2)],
        "shape": np.zeros((batch, dim + 1), np.float32),
        "int": np.ones((batch, dim), np.int64),
        "bool": np.ones((batch, dim), bool),
    }[kind]
    try:
        predictions = head.predictions(logits)
    except BaseException as error:  # noqa: BLE001
        _check_error(error, {"logits"})
        return
    assert kind in ("int", "bool") and all(len(v) == batch for v in predictions.values())
