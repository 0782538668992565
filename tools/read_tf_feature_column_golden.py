"""Read golden values for ``tf.feature_column`` off real TensorFlow 2.15.

This is a developer tool, NOT part of the package: TensorFlow is never a
dependency of torch_estimator.  Run it by hand with an interpreter that has
tensorflow 2.15 (+ tensorflow-estimator 2.15 for the keras ``LinearModel``)::

    /tmp/tf215/bin/python tools/read_tf_feature_column_golden.py

It writes ``tests/golden/feature_columns.json`` plus the vocabulary files it
needs (``tests/golden/fc_vocab_*.txt``).  Output is deterministic: there is no
randomness except ``numpy.random.RandomState`` with fixed seeds, and the JSON
is written with sorted keys.

JSON conventions
----------------
Column spec (recursive)::

    {"fn": "<tf.feature_column function name>", "kwargs": {...}}

* a kwarg that is itself a column is a nested spec; lists of columns are lists
  of specs; feature-name strings stay strings (``crossed_column`` keys mix);
* ``dtype`` kwargs are dtype names (``"string"``, ``"int64"``, ``"float32"``);
* ``shape`` is a list; ``vocabulary_file`` is relative to ``tests/golden/``;
* an embedding ``initializer`` is ``{"constant": nested list}`` meaning
  ``tf.constant_initializer(np.array(values))`` with shape
  ``[num_buckets, dimension]``.

Feature values:

* a dense value is a nested list (rank 1 or 2); the dtype is inferred: any
  ``str`` -> string, all JSON integers -> int64, otherwise float32;
* ``{"ragged": [[...], ...]}`` is a ``tf.SparseTensor`` built row by row:
  indices ``[row, j]`` in row order, ``dense_shape = [num_rows, max row
  length]``, dtype inferred the same way (an optional ``"dtype"`` key overrides
  it; it is given when every row is empty).

Top-level keys:

* ``fingerprint64``: ``[{"input", "value"}]``, FarmHash Fingerprint64 as a
  decimal string (``tf.fingerprint(.., 'farmhash64')`` read little-endian;
  cross-checked against ``tf.strings.to_hash_bucket_fast``);
* ``categorical``: ``{"name", "column", "features", "ids", "weights",
  "num_buckets"}`` from ``column.get_sparse_tensors`` (eager,
  ``FeatureTransformationCache``); ``ids``/``weights`` are ``{"ragged": rows}``
  in SparseTensor index order.  Extra: ``column_name`` (TF's ``column.name``)
  and ``dense_shape`` of the id SparseTensor;
* ``dense``: ``{"name", "columns", "features", "output"}`` from
  ``tf.keras.layers.DenseFeatures``; extra ``column_names`` (the sorted order
  TF concatenates in);
* ``linear``: ``{"name", "columns", "sparse_combiner", "features",
  "variables", "units", "output"}`` from the canned estimators' keras
  ``LinearModel`` (tensorflow_estimator) with ``variables`` assigned (keyed by
  ``column.name`` plus ``bias_weights``); every case is cross-checked against
  ``tf.compat.v1.feature_column.linear_model`` in graph mode (bit-identical);
* ``parse_example_spec``: ``{"columns", "spec"}`` from
  ``tf.feature_column.make_parse_example_spec``; VarLenFeature entries carry
  ``"shape": null, "default_value": null``;
* ``errors``: ``{"call", "kwargs", "error_type", "message"}``.  ``call`` is a
  ``tf.feature_column`` function name (kwargs = its kwargs), or
  ``"get_sparse_tensors"`` (kwargs ``{"column", "features"}``),
  ``"DenseFeatures"`` / ``"LinearModel"`` (kwargs ``{"columns", "features"}``)
  or ``"make_parse_example_spec"`` (kwargs ``{"feature_columns"}``).
  ``error_type`` null means TF accepted it (``result`` then holds what it
  returned).  For errors raised inside a keras layer call only TF's own
  message is kept and ``keras_wrapped`` is true.  Optional ``note`` says what
  is being probed; ``shared_embeddings`` cases also record
  ``graph_mode_error_type`` / ``graph_mode_message`` (eager always raises
  RuntimeError first).  Object addresses are replaced by ``0x...``.
* ``meta``: versions and the vocabulary file contents.

The script also verifies (and exits non-zero otherwise): hash-bucket and
vocabulary OOV ids equal ``Fingerprint64(as_string(x)) mod n``, crossed ids
equal the FingerprintCat64 chain seeded with ``hash_key`` (default
0xDECAFCAFFE) over SparseTensor inputs first and dense inputs second, and
that every case rebuilt from the written JSON reproduces the recorded values.
"""

import argparse
import importlib.metadata
import json
import os
import re
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")

from tensorflow.python.feature_column import feature_column_v2 as fc_v2  # noqa: E402,E501

try:
    from tensorflow_estimator.python.estimator.canned.linear import LinearModel  # noqa: E402,E501
except ImportError:  # pragma: no cover
    LinearModel = None

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN_DIR = os.path.normpath(os.path.join(HERE, "..", "tests", "golden"))
FC = tf.feature_column

# --------------------------------------------------------------------------
# Vocabulary files (written by this script, referenced relative to golden/).
# --------------------------------------------------------------------------
VOCAB_FILES = {
    "fc_vocab_colors.txt": ["red", "green", "blue", "yellow"],
    "fc_vocab_ints.txt": ["7", "11", "13", "17", "19"],
}


def write_vocab_files():
    for name, lines in VOCAB_FILES.items():
        with open(os.path.join(GOLDEN_DIR, name), "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(line + "\n" for line in lines))


# --------------------------------------------------------------------------
# Spec helpers.
# --------------------------------------------------------------------------
def col(fn, **kwargs):
    return {"fn": fn, "kwargs": kwargs}


def num(key, **kw):
    return col("numeric_column", key=key, **kw)


def vlist(key, vocab, **kw):
    return col("categorical_column_with_vocabulary_list", key=key, vocabulary_list=vocab, **kw)


def vfile(key, path, **kw):
    return col("categorical_column_with_vocabulary_file", key=key, vocabulary_file=path, **kw)


def hashb(key, size, **kw):
    return col("categorical_column_with_hash_bucket", key=key, hash_bucket_size=size, **kw)


def ident(key, n, **kw):
    return col("categorical_column_with_identity", key=key, num_buckets=n, **kw)


def bucket(source, boundaries):
    return col("bucketized_column", source_column=source, boundaries=boundaries)


def cross(keys, size, **kw):
    return col("crossed_column", keys=keys, hash_bucket_size=size, **kw)


def weighted(cat, wkey, **kw):
    return col("weighted_categorical_column", categorical_column=cat, weight_feature_key=wkey, **kw)


def indicator(cat):
    return col("indicator_column", categorical_column=cat)


def embedding(cat, dim, **kw):
    return col("embedding_column", categorical_column=cat, dimension=dim, **kw)


def ragged(rows, dtype=None):
    out = {"ragged": rows}
    if dtype is not None:
        out["dtype"] = dtype
    return out


def _is_spec(x):
    return isinstance(x, dict) and "fn" in x and "kwargs" in x


def build_column(spec):
    """Builds a TF v2 feature column from a JSON spec."""
    if isinstance(spec, str):
        return spec
    fn = getattr(FC, spec["fn"])
    kwargs = {}
    for k, v in spec["kwargs"].items():
        kwargs[k] = _build_kwarg(k, v)
    return fn(**kwargs)


def _build_kwarg(k, v):
    if _is_spec(v):
        return build_column(v)
    if k in ("keys", "categorical_columns"):
        return [build_column(x) for x in v]
    if k == "dtype":
        return tf.dtypes.as_dtype(v)
    if k == "shape" and isinstance(v, list):
        return tuple(v)
    if k == "vocabulary_file":
        return os.path.join(GOLDEN_DIR, v)
    if k == "initializer" and isinstance(v, dict) and "constant" in v:
        return tf.constant_initializer(np.array(v["constant"], dtype=np.float32))
    return v


def _flatten(x):
    if isinstance(x, list):
        for y in x:
            yield from _flatten(y)
    else:
        yield x


def _infer_dtype(values):
    flat = list(_flatten(values))
    if any(isinstance(v, str) for v in flat):
        return tf.string
    if flat and all(isinstance(v, int) and not isinstance(v, bool) for v in flat):
        return tf.int64
    return tf.float32


def build_feature(value):
    if isinstance(value, dict) and "ragged" in value:
        rows = value["ragged"]
        dtype = tf.dtypes.as_dtype(value["dtype"]) if "dtype" in value else _infer_dtype(rows)
        indices, values = [], []
        for r, row in enumerate(rows):
            for j, v in enumerate(row):
                indices.append([r, j])
                values.append(v)
        width = max([len(row) for row in rows] + [0])
        return tf.SparseTensor(
            indices=tf.constant(indices, dtype=tf.int64, shape=[len(indices), 2]),
            values=tf.constant(values, dtype=dtype, shape=[len(values)]),
            dense_shape=tf.constant([len(rows), width], dtype=tf.int64),
        )
    if isinstance(value, dict) and "dense" in value:
        return tf.constant(value["dense"], dtype=tf.dtypes.as_dtype(value["dtype"]))
    return tf.constant(value, dtype=_infer_dtype(value))


def build_features(features):
    return {k: build_feature(v) for k, v in features.items()}


def _py(x):
    """numpy -> JSON-able python (bytes decoded as UTF-8)."""
    if isinstance(x, np.ndarray):
        return [_py(y) for y in x] if x.ndim else _py(x[()])
    if isinstance(x, (bytes, np.bytes_)):
        return x.decode("utf-8")
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, (list, tuple)):
        return [_py(y) for y in x]
    return x


def sparse_to_rows(sp, num_rows=None):
    indices = sp.indices.numpy()
    values = sp.values.numpy()
    shape = sp.dense_shape.numpy()
    n = int(shape[0]) if num_rows is None else num_rows
    rows = [[] for _ in range(n)]
    for idx, v in zip(indices, values):
        rows[int(idx[0])].append(_py(v))
    return rows, [int(s) for s in shape]


# --------------------------------------------------------------------------
# fingerprint64
# --------------------------------------------------------------------------
FP_INPUTS = ["", "alpha", "d\u00e9lta", "x" * 100, "12345", "New York"]
MASK64 = (1 << 64) - 1


def fingerprint64(s):
    raw = tf.fingerprint(tf.constant([s]), method="farmhash64").numpy()[0]
    return int.from_bytes(bytes(raw.tolist()), "little")


def read_fingerprints(checks):
    out = []
    for s in FP_INPUTS:
        fp = fingerprint64(s)
        # Cross-check with the hash-bucket kernel (Fingerprint64 mod n).
        for n in (2**63 - 1, 1000003, 10, 3):
            hb = int(tf.strings.to_hash_bucket_fast(tf.constant([s]), n).numpy()[0])
            checks.append(("fingerprint %r mod %d" % (s, n), hb == fp % n))
        out.append({"input": s, "value": str(fp)})
    return out


def fingerprint_cat64(a, b):
    k = 0xC6A4A7935BD1E995

    def shift_mix(v):
        return v ^ (v >> 47)

    r = (a ^ k) & MASK64
    r ^= (shift_mix((b * k) & MASK64) * k) & MASK64
    r = (r * k) & MASK64
    r = (shift_mix(r) * k) & MASK64
    r = shift_mix(r)
    return r


# --------------------------------------------------------------------------
# Cases.
# --------------------------------------------------------------------------
COLORS = ["red", "green", "blue"]


def categorical_cases():
    c = []

    def add(name, column, features):
        c.append({"name": name, "column": column, "features": features})

    # vocabulary_list ---------------------------------------------------------
    add("vocab_list_str_rank1", vlist("color", COLORS), {"color": ["red", "blue", "purple", "green"]})
    add(
        "vocab_list_str_rank2",
        vlist("color", COLORS),
        {"color": [["red", "green"], ["blue", "purple"], ["green", "green"]]},
    )
    add(
        "vocab_list_str_default_value",
        vlist("color", COLORS, default_value=1),
        {"color": [["red"], ["purple"], ["orange"], ["blue"]]},
    )
    add(
        "vocab_list_str_default_value_out_of_range",
        vlist("color", COLORS, default_value=7),
        {"color": [["purple"], ["green"]]},
    )
    add(
        "vocab_list_str_oov3",
        vlist("color", COLORS, num_oov_buckets=3),
        {"color": [["red"], ["purple"], ["orange"], ["x" * 100], ["alpha"], ["New York"], ["d\u00e9lta"], ["blue"]]},
    )
    add("vocab_list_int", vlist("n", [10, 20, 30]), {"n": [[10], [30], [40], [20]]})
    add(
        "vocab_list_int_oov3",
        vlist("n", [10, 20, 30], num_oov_buckets=3),
        {"n": [[10], [40], [12345], [-5], [0], [30]]},
    )
    add("vocab_list_int_default", vlist("n", [10, 20, 30], default_value=0), {"n": [[99], [20]]})
    add(
        "vocab_list_int_explicit_dtype_int32",
        vlist("n", [10, 20, 30], dtype="int32"),
        {"n": {"dense": [[20], [10], [5]], "dtype": "int32"}},
    )
    add(
        "vocab_list_missing_dense_str_dropped",
        vlist("color", COLORS),
        {"color": [["red", ""], ["", ""], ["", "blue"], ["purple", "green"]]},
    )
    add("vocab_list_missing_dense_int_dropped", vlist("n", [10, 20, 30]), {"n": [[10, -1], [-1, -1], [-1, 30]]})
    add(
        "vocab_list_missing_dense_oov_dropped",
        vlist("color", COLORS, num_oov_buckets=3),
        {"color": [["", "purple"], ["", ""]]},
    )
    add(
        "vocab_list_ragged_with_empty_rows",
        vlist("color", COLORS),
        {"color": ragged([["red", "blue"], [], ["green", "red", "red"], ["purple"], []])},
    )
    add(
        "vocab_list_ragged_empty_string_kept",
        vlist("color", COLORS, num_oov_buckets=2),
        {"color": ragged([["", "red"], [""], []])},
    )
    add("vocab_list_ragged_int_minus1_kept", vlist("n", [10, 20, 30]), {"n": ragged([[-1, 10], [], [30, -1, 20]])})

    # vocabulary_file ---------------------------------------------------------
    add(
        "vocab_file_size_none",
        vfile("color", "fc_vocab_colors.txt"),
        {"color": [["red"], ["yellow"], ["purple"], ["green"], [""]]},
    )
    add(
        "vocab_file_size_given",
        vfile("color", "fc_vocab_colors.txt", vocabulary_size=2),
        {"color": [["red"], ["green"], ["blue"], ["yellow"]]},
    )
    add(
        "vocab_file_default_value",
        vfile("color", "fc_vocab_colors.txt", default_value=0),
        {"color": [["purple"], ["blue"]]},
    )
    add(
        "vocab_file_oov3",
        vfile("color", "fc_vocab_colors.txt", num_oov_buckets=3),
        {"color": [["purple"], ["orange"], ["alpha"], ["yellow"], ["New York"]]},
    )
    add(
        "vocab_file_size_given_oov2",
        vfile("color", "fc_vocab_colors.txt", vocabulary_size=2, num_oov_buckets=2),
        {"color": [["blue"], ["yellow"], ["green"]]},
    )
    add("vocab_file_int64", vfile("n", "fc_vocab_ints.txt", dtype="int64"), {"n": [[7], [19], [8], [-1]]})
    add(
        "vocab_file_int64_oov3",
        vfile("n", "fc_vocab_ints.txt", dtype="int64", num_oov_buckets=3),
        {"n": [[8], [12345], [13]]},
    )
    add(
        "vocab_file_ragged",
        vfile("color", "fc_vocab_colors.txt"),
        {"color": ragged([["yellow", "red"], [], ["blue", "nope"]])},
    )

    # hash_bucket ---------------------------------------------------------------
    add(
        "hash_bucket_str",
        hashb("city", 10),
        {"city": [["alpha"], ["d\u00e9lta"], ["x" * 100], ["12345"], ["New York"]]},
    )
    add("hash_bucket_str_big", hashb("city", 1000003), {"city": ["alpha", "New York", "tokyo"]})
    add("hash_bucket_int64", hashb("n", 10, dtype="int64"), {"n": [[12345], [0], [-7], [-1], [10]]})
    add("hash_bucket_int64_big", hashb("n", 1000003, dtype="int64"), {"n": [[12345], [99]]})
    add(
        "hash_bucket_ragged",
        hashb("city", 100),
        {"city": ragged([["alpha", "alpha", "tokyo"], [], ["New York"], [""]])},
    )
    add("hash_bucket_missing_dense", hashb("city", 100), {"city": [["alpha", ""], ["", ""], ["", "tokyo"]]})

    # identity ------------------------------------------------------------------
    add("identity_in_range", ident("idn", 5), {"idn": [[0], [4], [2], [3]]})
    add("identity_rank1", ident("idn", 5), {"idn": [1, 0, 4]})
    add("identity_default_value", ident("idn", 5, default_value=0), {"idn": [[5], [-3], [2], [-1], [100]]})
    add("identity_no_default_out_of_range", ident("idn", 5), {"idn": [[5], [-3], [2], [-1], [100]]})
    add("identity_ragged", ident("idn", 5), {"idn": ragged([[0, 1, 1], [], [4], [-1, 2]])})

    # bucketized ----------------------------------------------------------------
    add("bucketized_rank1", bucket(num("x"), [0.0, 1.0, 2.0]), {"x": [-1.0, 0.0, 0.5, 1.0, 2.0, 3.0]})
    add(
        "bucketized_float32_boundaries",
        bucket(num("x"), [0.1, 0.2, 0.3]),
        {"x": [[0.1], [0.2], [0.3], [0.15], [0.09999999], [0.29999998]]},
    )
    add(
        "bucketized_float32_boundaries_below_double",
        bucket(num("x"), [0.7, 0.9]),
        {"x": [[0.7], [0.9], [0.69999999], [0.8], [0.95]]},
    )
    add("bucketized_shape2", bucket(num("p", shape=[2]), [0.0, 10.0]), {"p": [[-1.0, 10.0], [5.0, 0.0], [10.0, -0.5]]})
    add("bucketized_int_source", bucket(num("k", dtype="int64"), [1, 5, 10]), {"k": [[0], [1], [4], [5], [10], [11]]})

    # weighted ------------------------------------------------------------------
    add(
        "weighted_vocab_ragged",
        weighted(vlist("color", COLORS), "color_w"),
        {
            "color": ragged([["red", "blue"], [], ["green", "purple", "red"]]),
            "color_w": ragged([[0.5, 2.0], [], [1.5, 3.0, -1.0]]),
        },
    )
    add(
        "weighted_identity_dense",
        weighted(ident("idn", 4), "idn_w"),
        {"idn": [[0, 3], [2, 2]], "idn_w": [[0.5, 1.0], [2.0, 0.25]]},
    )
    add(
        "weighted_vocab_dense_float64_dtype",
        weighted(vlist("color", COLORS), "color_w", dtype="float64"),
        {"color": [["red"], ["green"]], "color_w": {"dense": [[2.0], [3.0]], "dtype": "float64"}},
    )

    # crossed ---------------------------------------------------------------------
    add(
        "crossed_two_strings",
        cross(["a", "b"], 1000),
        {"a": [["alpha"], ["New York"], ["x"]], "b": [["red"], ["blue"], ["x"]]},
    )
    add("crossed_two_strings_rank1", cross(["a", "b"], 1000), {"a": ["alpha", "New York"], "b": ["red", "blue"]})
    add(
        "crossed_two_strings_order_swapped",
        cross(["b", "a"], 1000),
        {"a": [["alpha"], ["New York"], ["x"]], "b": [["red"], ["blue"], ["x"]]},
    )
    add(
        "crossed_string_x_int_feature",
        cross(["city", "n"], 1000),
        {"city": [["alpha"], ["tokyo"], ["tokyo"]], "n": [[3], [12345], [-1]]},
    )
    add(
        "crossed_bucketized_x_vocab",
        cross([bucket(num("x"), [0.0, 1.0, 2.0]), vlist("color", COLORS)], 50),
        {"x": [[-1.0], [0.5], [2.5], [1.0]], "color": [["red"], ["blue"], ["purple"], ["green"]]},
    )
    add(
        "crossed_three_keys",
        cross(["a", "b", "c"], 10000),
        {"a": [["alpha"], ["beta"]], "b": [["red"], ["blue"]], "c": [["x"], ["y"]]},
    )
    add(
        "crossed_multivalent_x_multivalent",
        cross(["a", "b"], 100000),
        {"a": ragged([["a1", "a2"], ["a3"], [], ["a4", "a5"]]), "b": ragged([["b1", "b2", "b3"], ["b4"], ["b5"], []])},
    )
    add(
        "crossed_empty_string_not_dropped",
        cross(["a", "b"], 1000),
        {"a": [[""], ["alpha"], [""]], "b": [["red"], [""], [""]]},
    )
    add(
        "crossed_dense_rank2_with_empty_string",
        cross(["a", "b"], 1000),
        {"a": [["alpha", ""], ["beta", "gamma"]], "b": [["red"], ["blue"]]},
    )
    add(
        "crossed_custom_hash_key",
        cross(["a", "b"], 1000, hash_key=42),
        {"a": [["alpha"], ["New York"]], "b": [["red"], ["blue"]]},
    )
    add(
        "crossed_dense_and_sparse",
        cross(["d", "s"], 100000),
        {"d": [["alpha"], ["beta"], ["gamma"]], "s": ragged([["red", "blue"], [], ["green"]])},
    )
    add(
        "crossed_sparse_and_dense",
        cross(["s", "d"], 100000),
        {"d": [["alpha"], ["beta"], ["gamma"]], "s": ragged([["red", "blue"], [], ["green"]])},
    )
    add(
        "crossed_dense_string_then_vocab_column",
        cross(["a", vlist("color", COLORS)], 1000),
        {"a": [["alpha"], ["beta"]], "color": [["red"], ["blue"]]},
    )
    add(
        "crossed_vocab_column_then_dense_string",
        cross([vlist("color", COLORS), "a"], 1000),
        {"a": [["alpha"], ["beta"]], "color": [["red"], ["blue"]]},
    )
    add(
        "crossed_ragged_int_feature",
        cross(["n", "a"], 1000),
        {"n": ragged([[1, -1], [], [7]]), "a": ragged([["x"], ["y"], ["z"]])},
    )
    add("crossed_hash_bucket_size_1", cross(["a", "b"], 1), {"a": [["alpha"]], "b": [["red"]]})
    add(
        "crossed_identity_x_string",
        cross([ident("idn", 10), "a"], 1000),
        {"idn": [[3], [7], [-1]], "a": [["alpha"], ["beta"], ["gamma"]]},
    )
    add(
        "crossed_vocab_oov_x_string",
        cross([vlist("color", COLORS), "a"], 1000),
        {"color": [["purple"], ["red"]], "a": [["alpha"], ["beta"]]},
    )
    add(
        "crossed_nested_crossed",
        cross([cross(["a", "b"], 10), "c"], 1000),
        {"a": [["alpha"], ["beta"]], "b": [["red"], ["blue"]], "c": [["x"], ["y"]]},
    )
    add(
        "crossed_full_uint64_modulus",
        cross(["a", "b"], 2**63 - 1),
        {"a": [["alpha"], ["New York"]], "b": [["red"], ["blue"]]},
    )
    add("crossed_int_x_int", cross(["n", "m"], 2**63 - 1), {"n": [[3], [0], [-5]], "m": [[7], [12345], [2]]})
    return c


def read_categorical(cases, checks):
    out = []
    for case in cases:
        column = build_column(case["column"])
        features = build_features(case["features"])
        cache = fc_v2.FeatureTransformationCache(features)
        pair = column.get_sparse_tensors(cache, None)
        ids, shape = sparse_to_rows(pair.id_tensor)
        weights = None
        if pair.weight_tensor is not None:
            weights, _ = sparse_to_rows(pair.weight_tensor)
        rec = dict(case)
        rec.update(
            {
                "column_name": column.name,
                "ids": {"ragged": ids},
                "weights": None if weights is None else {"ragged": weights},
                "num_buckets": int(column.num_buckets),
                "dense_shape": shape,
            }
        )
        out.append(rec)
        if case["column"]["fn"] == "crossed_column":
            checks.extend(check_cross(case, ids))
        checks.extend(check_hash_like(case, column, ids))
    return out


def _as_string(v):
    return v if isinstance(v, str) else str(v)


def check_hash_like(case, column, ids):
    """Verifies hash_bucket ids and vocabulary OOV bucket ids (spec formula)."""
    spec = case["column"]
    fn, kw = spec["fn"], spec["kwargs"]
    if fn not in (
        "categorical_column_with_hash_bucket",
        "categorical_column_with_vocabulary_list",
        "categorical_column_with_vocabulary_file",
    ):
        return []
    if fn != "categorical_column_with_hash_bucket" and not kw.get("num_oov_buckets"):
        return []
    value = case["features"][kw["key"]]
    rows = value["ragged"] if isinstance(value, dict) else value
    rows = [r if isinstance(r, list) else [r] for r in rows]
    if not isinstance(value, dict):  # dense: missing values are dropped
        rows = [[x for x in r if x != "" and x != -1] for r in rows]
    if fn == "categorical_column_with_hash_bucket":
        n = kw["hash_bucket_size"]
        exp = [[fingerprint64(_as_string(x)) % n for x in r] for r in rows]
    else:
        if fn == "categorical_column_with_vocabulary_list":
            vocab = [_as_string(v) for v in kw["vocabulary_list"]]
        else:
            vocab = VOCAB_FILES[kw["vocabulary_file"]][: kw.get("vocabulary_size")]
        k = kw["num_oov_buckets"]
        exp = [
            [
                vocab.index(_as_string(x)) if _as_string(x) in vocab else len(vocab) + fingerprint64(_as_string(x)) % k
                for x in r
            ]
            for r in rows
        ]
    return [("%s: Fingerprint64(as_string(x)) mod n" % case["name"], exp == ids)]


# Reference model of sparse_cross_hashed, used only to verify the spec
# formula (FingerprintCat64 chain); not written to the JSON.
def _leaf_values(key_spec, features, checks_ctx):
    """Per-row values (already hashed to uint64) and whether the input is sparse."""
    if isinstance(key_spec, str):
        v = features[key_spec]
        is_sparse = isinstance(v, dict)
        rows = v["ragged"] if is_sparse else v
        rows = [r if isinstance(r, list) else [r] for r in rows]
        hashed = [[fingerprint64(x) if isinstance(x, str) else x & MASK64 for x in r] for r in rows]
        return [(hashed, is_sparse)]
    if key_spec["fn"] == "crossed_column":
        out = []
        for k in key_spec["kwargs"]["keys"]:
            out.extend(_leaf_values(k, features, checks_ctx))
        return out
    column = build_column(key_spec)
    cache = fc_v2.FeatureTransformationCache(build_features(features))
    ids, _ = sparse_to_rows(column.get_sparse_tensors(cache, None).id_tensor)
    return [([[x & MASK64 for x in r] for r in ids], True)]


def check_cross(case, tf_ids):
    kw = case["column"]["kwargs"]
    leaves = []
    for k in kw["keys"]:
        leaves.extend(_leaf_values(k, case["features"], None))
    size = kw["hash_bucket_size"]
    seed = kw.get("hash_key") or 0xDECAFCAFFE
    sparse_first = [leaf for leaf in leaves if leaf[1]] + [leaf for leaf in leaves if not leaf[1]]
    results = []
    for label, order in (("sparse-first order", sparse_first), ("given order", leaves)):
        n = len(tf_ids)
        exp_rows = []
        for r in range(n):
            combos = [[]]
            for hashed, _ in order:
                combos = [c + [x] for c in combos for x in hashed[r]]
            row = []
            for combo in combos:
                h = seed
                for x in combo:
                    h = fingerprint_cat64(h, x)
                row.append(h % size)
            exp_rows.append(row)
        if label == "sparse-first order":
            # TF's sparse_cross puts SparseTensor inputs before dense inputs; the
            # product iterates with the first input outermost.
            results.append(("cross %s [%s] exact" % (case["name"], label), exp_rows == tf_ids))
        elif exp_rows != tf_ids:
            print(
                "  info: %s: hashing in the *given* key order would not match "
                "TF (sparse inputs are hashed first)" % case["name"]
            )
    return results


def const_table(rows, cols, seed, scale=10):
    rs = np.random.RandomState(seed)
    return (rs.randint(-scale, scale + 1, size=(rows, cols)) / scale).tolist()


def dense_cases():
    c = []

    def add(name, columns, features):
        c.append({"name": name, "columns": columns, "features": features})

    add("numeric_shape1_rank1_feature", [num("x")], {"x": [1.5, -2.0, 0.25]})
    add("numeric_shape1_rank2_feature", [num("x")], {"x": [[1.5], [-2.0]]})
    add("numeric_shape2", [num("x2", shape=[2])], {"x2": [[1.0, 2.0], [3.0, -4.5]]})
    add("numeric_int64_feature_cast", [num("k", dtype="int64")], {"k": [[3], [-7]]})
    add("numeric_int_values_into_float_column", [num("x")], {"x": [[3], [-7]]})
    add("bucketized_rank1", [bucket(num("x"), [0.0, 1.0, 2.0])], {"x": [-1.0, 0.0, 0.5, 1.0, 2.0, 3.0]})
    add("bucketized_shape2", [bucket(num("p", shape=[2]), [0.0, 10.0])], {"p": [[-1.0, 10.0], [5.0, 0.0]]})
    add(
        "indicator_vocab_counts",
        [indicator(vlist("color", COLORS, num_oov_buckets=1))],
        {"color": ragged([["red", "red", "blue"], [], ["purple", "green"], ["red"]])},
    )
    add(
        "indicator_vocab_dense_missing",
        [indicator(vlist("color", COLORS))],
        {"color": [["red", ""], ["", ""], ["purple", "blue"]]},
    )
    add("indicator_hash", [indicator(hashb("city", 5))], {"city": ragged([["alpha", "tokyo"], ["New York"], []])})
    add("indicator_identity", [indicator(ident("idn", 4))], {"idn": ragged([[0, 3, 3], [], [1]])})
    add("indicator_identity_out_of_range_no_default", [indicator(ident("idn", 4))], {"idn": [[5], [2], [-3]]})
    add(
        "indicator_crossed",
        [indicator(cross(["a", "b"], 7))],
        {"a": ragged([["alpha", "beta"], ["gamma"], []]), "b": ragged([["red"], ["blue", "green"], ["red"]])},
    )
    add(
        "indicator_weighted_sums",
        [indicator(weighted(vlist("color", COLORS), "w"))],
        {
            "color": ragged([["red", "red", "blue"], [], ["green", "purple"]]),
            "w": ragged([[0.5, 1.5, 2.0], [], [3.0, 4.0]]),
        },
    )
    add("indicator_bucketized", [indicator(bucket(num("x"), [0.0, 1.0]))], {"x": [[-1.0], [0.5], [7.0]]})

    emb_table = const_table(4, 3, 11)
    emb_in = {"color": ragged([["red", "blue"], [], ["green"], ["red", "red", "yellow"], ["purple"]])}
    for comb in ("sum", "mean", "sqrtn"):
        add(
            "embedding_vocab_%s" % comb,
            [embedding(vlist("color", COLORS + ["yellow"]), 3, combiner=comb, initializer={"constant": emb_table})],
            emb_in,
        )
    w_in = {
        "color": ragged([["red", "blue"], [], ["green", "yellow"], ["red", "red"], ["blue", "green"]]),
        "w": ragged([[0.5, 2.0], [], [3.0, -1.0], [1.0, 0.0], [-2.0, 0.0]]),
    }
    for comb in ("sum", "mean", "sqrtn"):
        add(
            "embedding_weighted_%s" % comb,
            [
                embedding(
                    weighted(vlist("color", COLORS + ["yellow"]), "w"),
                    3,
                    combiner=comb,
                    initializer={"constant": emb_table},
                )
            ],
            w_in,
        )
    big_table = [[3.0, 4.0], [0.3, 0.4], [-6.0, 8.0], [1.0, 0.0]]
    for comb in ("sum", "mean"):
        add(
            "embedding_max_norm_%s" % comb,
            [embedding(ident("idn", 4), 2, combiner=comb, max_norm=1.0, initializer={"constant": big_table})],
            {"idn": ragged([[0, 1], [2], [3, 0, 2], []])},
        )
    add(
        "embedding_max_norm_2_5_sqrtn",
        [embedding(ident("idn", 4), 2, combiner="sqrtn", max_norm=2.5, initializer={"constant": big_table})],
        {"idn": ragged([[0, 1], [2], [3, 0, 2], []])},
    )
    add(
        "embedding_dense_input_missing",
        [embedding(vlist("color", COLORS), 2, combiner="mean", initializer={"constant": const_table(3, 2, 12)})],
        {"color": [["red", ""], ["", ""], ["blue", "green"]]},
    )
    add(
        "embedding_crossed",
        [embedding(cross(["a", "b"], 5), 2, combiner="sum", initializer={"constant": const_table(5, 2, 13)})],
        {"a": [["alpha"], ["beta"]], "b": [["red"], ["blue"]]},
    )
    add(
        "embedding_oov_bucket",
        [
            embedding(
                vlist("color", COLORS, num_oov_buckets=2),
                2,
                combiner="mean",
                initializer={"constant": const_table(5, 2, 14)},
            )
        ],
        {"color": ragged([["purple", "red"], ["orange"]])},
    )
    add(
        "several_columns_sorted_by_name",
        [num("z"), num("a", shape=[2]), indicator(vlist("m", ["p", "q", "r"]))],
        {"z": [[1.0], [2.0]], "a": [[3.0, 4.0], [5.0, 6.0]], "m": [["q"], ["r"]]},
    )
    add(
        "mixed_model_inputs",
        [
            num("x"),
            bucket(num("x"), [-1.0, 0.0, 1.0]),
            embedding(vlist("color", COLORS + ["yellow"]), 3, combiner="mean", initializer={"constant": emb_table}),
            indicator(hashb("city", 6)),
            indicator(ident("idn", 4)),
            embedding(
                cross(["color", "city"], 5), 2, combiner="sqrtn", initializer={"constant": const_table(5, 2, 15)}
            ),
        ],
        {
            "x": [0.5, -2.0, 1.0],
            "color": [["red"], ["purple"], ["yellow"]],
            "city": [["alpha"], ["tokyo"], ["New York"]],
            "idn": [[1], [3], [0]],
        },
    )
    add(
        "rank1_dense_features_expanded",
        [num("x"), indicator(vlist("color", COLORS)), indicator(ident("idn", 3))],
        {"x": [1.0, 2.0], "color": ["blue", "red"], "idn": [2, 0]},
    )
    add(
        "column_name_sanitization_and_order",
        [num("b:x"), num("B"), num("a-1"), num("_c")],
        {"b:x": [[1.0]], "B": [[2.0]], "a-1": [[3.0]], "_c": [[4.0]]},
    )
    return c


def read_dense(cases):
    out = []
    for case in cases:
        columns = [build_column(s) for s in case["columns"]]
        layer = tf.keras.layers.DenseFeatures(columns)
        output = layer(build_features(case["features"]))
        rec = dict(case)
        rec["column_names"] = [c.name for c in sorted(columns, key=lambda c: c.name)]
        rec["output"] = _py(output.numpy())
        out.append(rec)
    return out


def linear_cases():
    c = []

    def add(name, columns, features, combiner="sum", units=1):
        c.append({"name": name, "columns": columns, "features": features, "sparse_combiner": combiner, "units": units})

    add("numeric_units1", [num("x")], {"x": [[1.0], [-2.0], [0.5]]})
    add("numeric_shape2_units3", [num("x2", shape=[2])], {"x2": [[1.0, 2.0], [3.0, -4.0]]}, units=3)
    add("bucketized_units1", [bucket(num("x"), [0.0, 1.0, 2.0])], {"x": [-1.0, 0.5, 2.0, 7.0]})
    add(
        "bucketized_shape2_units3",
        [bucket(num("p", shape=[2]), [0.0, 10.0])],
        {"p": [[-1.0, 10.0], [5.0, 0.0]]},
        units=3,
    )
    vocab_in = {"color": ragged([["red", "blue", "blue"], [], ["green"], ["purple", "red"], ["purple"]])}
    w_in = {
        "color": ragged([["red", "blue"], [], ["green", "yellow"], ["red", "red"]]),
        "w": ragged([[0.5, 2.0], [], [3.0, -1.0], [1.0, 0.0]]),
    }
    cross_in = {"a": ragged([["alpha", "beta"], ["gamma"], []]), "b": ragged([["red", "blue"], ["green"], ["red"]])}
    for comb in ("sum", "mean", "sqrtn"):
        for units in (1, 3):
            add("vocab_multivalent_%s_units%d" % (comb, units), [vlist("color", COLORS)], vocab_in, comb, units)
        add(
            "hash_%s_units1" % comb,
            [hashb("city", 7)],
            {"city": ragged([["alpha", "tokyo"], ["New York"], [], ["alpha"]])},
            comb,
        )
        add("crossed_%s_units3" % comb, [cross(["a", "b"], 11)], cross_in, comb, 3)
        add("weighted_%s_units1" % comb, [weighted(vlist("color", COLORS + ["yellow"]), "w")], w_in, comb)
        add("weighted_%s_units3" % comb, [weighted(vlist("color", COLORS + ["yellow"]), "w")], w_in, comb, 3)
    add("identity_no_default_negative_ids_pruned", [ident("idn", 4)], {"idn": ragged([[1, -2], [-3], [2, 3]])})
    add("dense_missing_values", [vlist("color", COLORS)], {"color": [["red", ""], ["", ""], ["", "blue"]]}, "mean")
    add(
        "several_columns_units3",
        [
            num("x"),
            num("x2", shape=[2]),
            bucket(num("x"), [-1.0, 0.0, 1.0]),
            vlist("color", COLORS, num_oov_buckets=1),
            hashb("city", 10),
            ident("idn", 4),
            cross(["color", "city"], 20),
            indicator(vlist("m", ["p", "q"])),
        ],
        {
            "x": [[0.5], [-2.0], [1.0]],
            "x2": [[1.0, 2.0], [0.0, -1.0], [3.0, 3.0]],
            "color": [["red"], ["purple"], ["blue"]],
            "city": [["alpha"], ["tokyo"], ["New York"]],
            "idn": [[1], [3], [0]],
            "m": [["q"], ["p"], [""]],
        },
        "sum",
        3,
    )
    add(
        "several_columns_sqrtn_units1",
        [vlist("color", COLORS), hashb("city", 10), num("x")],
        {
            "x": [[0.5], [-2.0]],
            "color": ragged([["red", "blue"], []]),
            "city": ragged([["alpha", "tokyo", "x"], ["alpha"]]),
        },
        "sqrtn",
        1,
    )
    return c


def _first_dim(column):
    if isinstance(column, fc_v2.CategoricalColumn):
        return int(column.num_buckets)
    return int(column.variable_shape.num_elements())


def read_linear(cases, checks):
    out = []
    for i, case in enumerate(cases):
        columns = [build_column(s) for s in case["columns"]]
        units = case["units"]
        variables = {}
        for j, column in enumerate(sorted(columns, key=lambda c: c.name)):
            variables[column.name] = const_table(_first_dim(column), units, 1000 + 17 * i + j)
        variables["bias_weights"] = (np.arange(units, dtype=np.float64) * 0.25 - 0.5).tolist()
        features = build_features(case["features"])
        model = LinearModel(columns, units=units, sparse_combiner=case["sparse_combiner"], name="linear_model")
        model(features)  # build
        names = {}
        for column in columns:
            var = model.layer._state_manager.get_variable(column, "weights")  # pylint: disable=protected-access
            var.assign(np.array(variables[column.name], dtype=np.float32))
            names[column.name] = var.name
        model.bias.assign(np.array(variables["bias_weights"], dtype=np.float32))
        output = model(features).numpy()
        # Cross-check with tf.compat.v1.feature_column.linear_model (graph mode).
        v1_out = _v1_linear(case, variables)
        checks.append(
            ("linear %s: keras LinearModel == v1 linear_model" % case["name"], bool(np.array_equal(output, v1_out)))
        )
        checks.append(
            (
                "linear %s: variable names %s" % (case["name"], names),
                all(
                    v == "linear_model/%s/weights:0" % fc_v2._sanitize_column_name_for_variable_scope(k)  # pylint: disable=protected-access
                    for k, v in names.items()
                ),
            )
        )
        rec = dict(case)
        rec["column_names"] = [c.name for c in sorted(columns, key=lambda c: c.name)]
        rec["variables"] = variables
        rec["output"] = _py(output)
        out.append(rec)
    return out


def _v1_linear(case, variables):
    with tf.Graph().as_default():
        columns = [build_column(s) for s in case["columns"]]
        features = build_features(case["features"])
        logits = tf.compat.v1.feature_column.linear_model(
            features, columns, units=case["units"], sparse_combiner=case["sparse_combiner"]
        )
        gvars = {v.op.name: v for v in tf.compat.v1.global_variables()}
        assigns = []
        for column in columns:
            vname = "linear_model/%s/weights" % (fc_v2._sanitize_column_name_for_variable_scope(column.name))  # pylint: disable=protected-access
            assigns.append(gvars[vname].assign(np.array(variables[column.name], np.float32)))
        assigns.append(gvars["linear_model/bias_weights"].assign(np.array(variables["bias_weights"], np.float32)))
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            sess.run(tf.compat.v1.tables_initializer())
            sess.run(assigns)
            return sess.run(logits)


def parse_spec_cases():
    return [
        [num("x")],
        [num("x2", shape=[2], default_value=1.5)],
        [num("k", shape=[2, 3], dtype="int64", default_value=7)],
        [num("x2", shape=[2], default_value=[1.0, 2.0])],
        [num("y", default_value=0.0, dtype="float64")],
        [vlist("color", COLORS)],
        [vlist("n", [1, 2, 3])],
        [vlist("n32", [1, 2, 3], dtype="int32")],
        [vfile("color", "fc_vocab_colors.txt")],
        [vfile("n", "fc_vocab_ints.txt", dtype="int64")],
        [hashb("city", 10)],
        [hashb("n", 10, dtype="int64")],
        [ident("idn", 4)],
        [bucket(num("x", default_value=-1.0), [0.0, 1.0])],
        [cross(["a", "b"], 10)],
        [cross([bucket(num("x"), [0.0]), "a", ident("idn", 3)], 10)],
        [weighted(vlist("color", COLORS), "color_w")],
        [weighted(ident("idn", 4), "idn_w", dtype="int64")],
        [embedding(hashb("city", 10), 3)],
        [indicator(ident("idn", 4))],
        [
            num("x"),
            bucket(num("x"), [0.0]),
            embedding(vlist("color", COLORS), 2),
            indicator(cross(["color", "city"], 5)),
        ],
    ]


def _parse_spec_entry(feat):
    if isinstance(feat, tf.io.FixedLenFeature):
        default = feat.default_value
        if default is not None:
            default = _py(np.asarray(default))
        return {
            "type": "FixedLenFeature",
            "shape": [int(s) for s in feat.shape],
            "dtype": feat.dtype.name,
            "default_value": default,
        }
    if isinstance(feat, tf.io.VarLenFeature):
        return {"type": "VarLenFeature", "shape": None, "dtype": feat.dtype.name, "default_value": None}
    raise TypeError("unexpected parse spec %r" % (feat,))


def read_parse_specs(cases):
    out = []
    for specs in cases:
        columns = [build_column(s) for s in specs]
        spec = FC.make_parse_example_spec(columns)
        out.append({"columns": specs, "spec": {k: _parse_spec_entry(v) for k, v in sorted(spec.items())}})
    return out


# --------------------------------------------------------------------------
# Errors.
# --------------------------------------------------------------------------
def error_cases():
    e = []

    def ctor(spec, note=None):
        rec = {"call": spec["fn"], "kwargs": spec["kwargs"]}
        if note:
            rec["note"] = note
        e.append(rec)

    def transform(call, columns, features, note=None):
        kw = {"column": columns} if call == "get_sparse_tensors" else {"columns": columns}
        kw["features"] = features
        rec = {"call": call, "kwargs": kw}
        if note:
            rec["note"] = note
        e.append(rec)

    ctor(bucket(num("x"), [1.0, 0.0, 2.0]))
    ctor(bucket(num("x"), [0.0, 0.0, 1.0]), "equal boundaries")
    ctor(bucket(num("x"), []), "empty boundaries")
    ctor(bucket(num("x", shape=[2, 2]), [0.0]), "source not 1-D")
    ctor(bucket(vlist("c", COLORS), [0.0]), "source not numeric")
    ctor(vlist("color", ["red", "blue", "red"]))
    ctor(vlist("color", []))
    ctor(vlist("color", COLORS, default_value=0, num_oov_buckets=3))
    ctor(vlist("color", COLORS, num_oov_buckets=-1))
    ctor(vlist("x", [0.5, 1.5]), "float vocabulary")
    ctor(vlist("n", [1, 2], dtype="string"), "dtype/vocab mismatch")
    ctor(vfile("color", "fc_vocab_colors.txt", default_value=0, num_oov_buckets=2))
    ctor(vfile("color", "does_not_exist.txt"))
    ctor(vfile("color", "fc_vocab_colors.txt", vocabulary_size=0))
    ctor(cross([hashb("city", 10), "a"], 10))
    ctor(cross(["a"], 10))
    ctor(cross([], 10))
    ctor(cross(["a", "b"], 0))
    ctor(cross(["a", num("x")], 10), "numeric key")
    ctor(embedding(vlist("color", COLORS), 0))
    ctor(embedding(vlist("color", COLORS), 2, ckpt_to_load_from="/tmp/ckpt"), "ckpt without tensor name")
    ctor(
        col("shared_embeddings", categorical_columns=[vlist("a", COLORS), vlist("b", COLORS)], dimension=0),
        "dimension 0",
    )
    ctor(hashb("city", 0))
    ctor(hashb("x", 10, dtype="float32"), "float dtype")
    ctor(ident("idn", 0))
    ctor(ident("idn", 4, default_value=4), "default_value out of range")
    ctor(num("x", shape=[0]))
    ctor(num("x", shape=[-1]))
    ctor(num("x", shape=[1.5]))
    ctor(num("x", dtype="string"))
    ctor(num("x", shape=[2], default_value=[1.0, 2.0, 3.0]), "default shape mismatch")
    ctor(num("x", default_value="a"), "default not numeric")
    ctor(col("shared_embeddings", categorical_columns=[ident("a", 3), ident("b", 4)], dimension=2))
    ctor(
        col("shared_embeddings", categorical_columns=[ident("a", 3), vlist("b", COLORS)], dimension=2),
        "different column types, same num_buckets",
    )
    ctor(
        col("shared_embeddings", categorical_columns=[ident("a", 3), ident("b", 3)], dimension=2),
        "valid arguments: eager-mode failure",
    )
    ctor(indicator(num("x")))
    ctor(indicator(embedding(vlist("c", COLORS), 2)))
    ctor(weighted(vlist("c", COLORS), "w", dtype="string"))
    transform("get_sparse_tensors", vlist("color", COLORS), {"other": [["a"]]})
    transform("DenseFeatures", [num("x"), num("y")], {"x": [[1.0]]})
    transform("DenseFeatures", [indicator(vlist("color", COLORS))], {"colour": [["red"]]})
    transform("get_sparse_tensors", vlist("color", COLORS), {"color": [[1], [2]]})
    transform("get_sparse_tensors", vlist("n", [1, 2, 3]), {"n": [["a"], ["b"]]}, "string feature into int vocab")
    transform("get_sparse_tensors", hashb("city", 10), {"city": [[1], [2]]})
    transform("get_sparse_tensors", hashb("n", 10, dtype="int64"), {"n": [["a"]]})
    transform("get_sparse_tensors", ident("idn", 4), {"idn": [["a"]]})
    transform("get_sparse_tensors", ident("idn", 4), {"idn": [[1.0]]})
    transform("get_sparse_tensors", weighted(vlist("c", COLORS), "w"), {"c": [["red"]]}, "weight key missing")
    transform(
        "get_sparse_tensors",
        weighted(vlist("c", COLORS), "w"),
        {"c": [["red"]], "w": [[1]]},
        "int weights for float32 column",
    )
    transform(
        "get_sparse_tensors",
        cross([weighted(vlist("c", COLORS), "w"), "a"], 10),
        {"c": [["red"]], "w": [[1.0]], "a": [["x"]]},
        "crossing a weighted column",
    )
    transform("DenseFeatures", [num("x")], {"x": ragged([[1.0], [2.0]])}, "sparse input to numeric")
    transform("DenseFeatures", [num("x", dtype="int64")], {"x": [[1.5]]}, "float feature into int numeric column")
    transform("DenseFeatures", [num("x2", shape=[2])], {"x2": [[1.0], [2.0]]}, "wrong number of elements")
    transform(
        "DenseFeatures",
        [embedding(ident("idn", 4), 2, initializer={"constant": const_table(4, 2, 3)})],
        {"idn": [[5]]},
        "embedding with out-of-range identity id",
    )
    transform("DenseFeatures", [vlist("color", COLORS)], {"color": [["red"]]}, "categorical column in DenseFeatures")
    transform("DenseFeatures", [num("x"), num("x")], {"x": [[1.0]]}, "duplicate column")
    transform("DenseFeatures", [], {"x": [[1.0]]}, "no columns")
    transform("DenseFeatures", [num("x"), num("y")], {"x": [[1.0], [2.0]], "y": [[1.0]]}, "batch size mismatch")
    transform(
        "LinearModel",
        [embedding(vlist("color", COLORS), 2, initializer={"constant": const_table(3, 2, 5)})],
        {"color": [["red"]]},
        "embedding column in LinearModel is accepted (DenseColumn)",
    )
    e.append(
        {
            "call": "make_parse_example_spec",
            "kwargs": {"feature_columns": [num("x"), vlist("x", COLORS)]},
            "note": "conflicting parse specs for one key",
        }
    )
    e.append(
        {
            "call": "make_parse_example_spec",
            "kwargs": {"feature_columns": [vlist("x", COLORS), hashb("x", 10)]},
            "note": "identical parse specs for one key (no error)",
        }
    )
    transform(
        "DenseFeatures",
        [
            embedding(
                weighted(vlist("c", COLORS), "w"), 2, combiner="sum", initializer={"constant": const_table(3, 2, 4)}
            )
        ],
        {"c": [["red", "blue"], ["green", "red"]], "w": [[1.0, 0.0], [2.0, 3.0]]},
        "dense weights with a 0.0 (dropped) no longer align with ids",
    )
    transform("LinearModel", [num("x")], {"y": [[1.0]]})
    transform("LinearModel", [ident("idn", 4)], {"idn": [[1], [5]]}, "out-of-range identity id in linear model")
    return e


_KERAS_WRAP = re.compile(
    r"^Exception encountered when calling layer .*?\n\n(.*?)"
    r"(?:\n\nCall arguments received by layer .*)?$",
    re.S,
)


def _unwrap_keras(msg):
    m = _KERAS_WRAP.match(msg)
    return (m.group(1), True) if m else (msg, False)


def _scrub(msg):
    msg = re.sub(r" at 0x[0-9a-fA-F]+", " at 0x...", msg)
    msg = msg.replace(GOLDEN_DIR + os.sep, "<golden>/")
    return msg


def run_error_case(case):
    kw = case["kwargs"]
    call = case["call"]
    if call == "get_sparse_tensors":
        column = build_column(kw["column"])
        cache = fc_v2.FeatureTransformationCache(build_features(kw["features"]))
        pair = column.get_sparse_tensors(cache, None)
        return _py(pair.id_tensor.values.numpy())
    if call == "DenseFeatures":
        columns = [build_column(s) for s in kw["columns"]]
        layer = tf.keras.layers.DenseFeatures(columns)
        return _py(layer(build_features(kw["features"])).numpy())
    if call == "make_parse_example_spec":
        spec = FC.make_parse_example_spec([build_column(c) for c in kw["feature_columns"]])
        return {k: _parse_spec_entry(v) for k, v in sorted(spec.items())}
    if call == "LinearModel":
        columns = [build_column(s) for s in kw["columns"]]
        model = LinearModel(columns, name="linear_model")
        return _py(model(build_features(kw["features"])).numpy())
    return repr(build_column({"fn": call, "kwargs": kw}))


def read_errors(cases, graph_too=("shared_embeddings",)):
    out = []
    for case in cases:
        rec = dict(case)
        try:
            result = run_error_case(case)
        except Exception as ex:  # pylint: disable=broad-except
            rec["error_type"] = type(ex).__name__
            msg, wrapped = _unwrap_keras(str(ex))
            rec["message"] = _scrub(msg)
            if wrapped:
                # Keras prefixes 'Exception encountered when calling layer <name> ...'
                # and appends the call arguments; only TF's own message is kept.
                rec["keras_wrapped"] = True
        else:
            rec["error_type"] = None
            rec["message"] = None
            rec["result"] = result if not isinstance(result, str) else _scrub(result)
        if case["call"] in graph_too:
            try:
                with tf.Graph().as_default():
                    run_error_case(case)
            except Exception as ex:  # pylint: disable=broad-except
                rec["graph_mode_error_type"] = type(ex).__name__
                rec["graph_mode_message"] = _scrub(str(ex))
            else:
                rec["graph_mode_error_type"] = None
                rec["graph_mode_message"] = None
        out.append(rec)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(GOLDEN_DIR, "feature_columns.json"))
    args = parser.parse_args(argv)
    os.makedirs(GOLDEN_DIR, exist_ok=True)
    write_vocab_files()
    checks = []
    data = {
        "meta": {
            "tensorflow": tf.__version__,
            "tensorflow_estimator": importlib.metadata.version("tensorflow-estimator"),
            "numpy": np.__version__,
            "generator": "tools/read_tf_feature_column_golden.py",
            "vocabulary_files": VOCAB_FILES,
        },
        "fingerprint64": read_fingerprints(checks),
        "categorical": read_categorical(categorical_cases(), checks),
        "dense": read_dense(dense_cases()),
        "linear": read_linear(linear_cases(), checks),
        "parse_example_spec": read_parse_specs(parse_spec_cases()),
        "errors": read_errors(error_cases()),
    }
    for section in ("categorical", "dense", "linear"):
        sec_names = [c["name"] for c in data[section]]
        assert len(sec_names) == len(set(sec_names)), section
    text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text + "\n")
    print("wrote %s (%d bytes)" % (args.out, len(text.encode("utf-8"))))
    print(
        "cases: categorical %d, dense %d, linear %d, parse_example_spec %d, "
        "errors %d" % tuple(len(data[k]) for k in ("categorical", "dense", "linear", "parse_example_spec", "errors"))
    )
    # Round-trip: rebuild every case from the JSON text alone (what consumers
    # see) and make sure TF reproduces the recorded values.
    loaded = json.loads(text)
    strip = lambda recs, keys: [{k: r[k] for k in keys} for r in recs]  # noqa
    again = {
        "categorical": read_categorical(strip(loaded["categorical"], ("name", "column", "features")), []),
        "dense": read_dense(strip(loaded["dense"], ("name", "columns", "features"))),
        "linear": read_linear(strip(loaded["linear"], ("name", "columns", "features", "sparse_combiner", "units")), []),
    }
    for section, recs in again.items():
        checks.append(("JSON round trip: %s" % section, json.loads(json.dumps(recs)) == loaded[section]))
    failed = [name for name, ok in checks if not ok]
    print("checks: %d passed, %d failed" % (len(checks) - len(failed), len(failed)))
    for name in failed:
        print("  CHECK FAILED:", name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
