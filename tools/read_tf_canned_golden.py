"""Read golden facts for the tf.estimator canned estimators off real TF 2.15.

This is a developer tool, NOT part of the package: TensorFlow is never a
dependency of torch_estimator.  Run it by hand with an interpreter that has
tensorflow 2.15 + tensorflow-estimator 2.15 installed, e.g.

    /tmp/tf215/bin/python tools/read_tf_canned_golden.py

It writes ``tests/golden/canned.json`` (path overridable with ``--out``).

For every configuration the (V2) canned estimator is trained for 5 steps on a
small fixed random data set (stored in the JSON), then we record

* ``variables``: ``sorted(est.get_variable_names())`` with
  ``est.get_variable_value(name).shape`` as ``[[name, shape], ...]``;
* ``hyper``: the value of every scalar (shape ``[]``) variable in the final
  checkpoint -- the optimizers' hyper-parameter variables
  (``training/<Opt>/learning_rate`` ...), their iteration counters and
  ``global_step``;
* ``eval_keys``: ``sorted(est.evaluate(input_fn, steps=2).keys())``;
* ``predict_keys``: sorted keys of the first ``est.predict()`` dict.

JSON layout::

  {"meta": {...},
   "columns": {key: column spec},
   "data": {...},
   "configs": [{"name", "estimator", "kwargs", "features", "label",
                "variables", "hyper", "eval_keys", "predict_keys"}]}

Column specs use the recursive ``{"fn": ..., "kwargs": ...}`` format of
``tests/golden/feature_columns.json`` (see
``tools/read_tf_feature_column_golden.py``; this script reuses its
``build_column``).  In ``configs[i].kwargs`` the entries
``feature_columns`` / ``linear_feature_columns`` / ``dnn_feature_columns`` are
lists of keys into the top-level ``columns`` dict; everything else is passed
to the estimator constructor verbatim (plus ``config=RunConfig(
tf_random_seed=data.tf_random_seed)`` and a fresh temporary ``model_dir``).

``data`` holds the actual arrays: ``features`` (every feature key; a config's
``features`` lists the keys its input_fn feeds) and ``labels`` (keyed by the
config's ``label`` entry: ``binary`` int64 [N,1], ``multiclass3`` int64
[N,1], ``regression1`` float32 [N,1], ``regression2`` float32 [N,2]).  The
input_fn is ``tf.data.Dataset.from_tensor_slices((features, labels))
.batch(batch_size)`` (no shuffle), ``.repeat()`` for training, one pass for
predict, ``steps=2`` for evaluate.
"""

import argparse
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")

from read_tf_feature_column_golden import build_column  # noqa: E402

GOLDEN_DIR = os.path.normpath(os.path.join(HERE, "..", "tests", "golden"))

N_ROWS = 32
BATCH = 8
TRAIN_STEPS = 5
EVAL_STEPS = 2
DATA_SEED = 20240715
TF_RANDOM_SEED = 42

COLORS = ["r", "g", "b"]
COLOR_VALUES = ["r", "g", "b", "y"]  # 'y' goes to the OOV bucket
CITIES = ["paris", "tokyo", "lima", "oslo", "cairo", "delhi", "quito"]


def col(fn, **kwargs):
    return {"fn": fn, "kwargs": kwargs}


_X = col("numeric_column", key="x")
_COLOR = col("categorical_column_with_vocabulary_list", key="color", vocabulary_list=COLORS, num_oov_buckets=1)
_CITY = col("categorical_column_with_hash_bucket", key="city", hash_bucket_size=10)
_IDN = col("categorical_column_with_identity", key="idn", num_buckets=4)
_CROSS = col("crossed_column", keys=[_COLOR, "city"], hash_bucket_size=20)
_XB = col("bucketized_column", source_column=_X, boundaries=[-1.0, 0.0, 1.0])

COLUMNS = {
    "x": _X,
    "x2": col("numeric_column", key="x2", shape=[2]),
    "x_bucketized": _XB,
    "color": _COLOR,
    "city": _CITY,
    "idn": _IDN,
    "city_X_color": _CROSS,
    "color_embedding": col("embedding_column", categorical_column=_COLOR, dimension=3),
    "city_indicator": col("indicator_column", categorical_column=_CITY),
    "idn_indicator": col("indicator_column", categorical_column=_IDN),
    "city_X_color_embedding": col("embedding_column", categorical_column=_CROSS, dimension=2),
}
LINEAR = ["x", "x2", "x_bucketized", "color", "city", "idn", "city_X_color"]
DNN = ["x", "x_bucketized", "color_embedding", "city_indicator", "idn_indicator", "city_X_color_embedding"]
ALL_FEATURES = ["x", "x2", "color", "city", "idn"]


def make_data():
    rng = np.random.RandomState(DATA_SEED)
    feats = {
        "x": rng.normal(0.0, 1.5, size=(N_ROWS, 1)).astype(np.float32),
        "x2": rng.normal(0.0, 1.0, size=(N_ROWS, 2)).astype(np.float32),
        "color": np.array([[COLOR_VALUES[i]] for i in rng.randint(0, len(COLOR_VALUES), size=N_ROWS)]),
        "city": np.array([[CITIES[i]] for i in rng.randint(0, len(CITIES), size=N_ROWS)]),
        "idn": rng.randint(0, 4, size=(N_ROWS, 1)).astype(np.int64),
    }
    labels = {
        "binary": rng.randint(0, 2, size=(N_ROWS, 1)).astype(np.int64),
        "multiclass3": rng.randint(0, 3, size=(N_ROWS, 1)).astype(np.int64),
        "regression1": rng.normal(size=(N_ROWS, 1)).astype(np.float32),
        "regression2": rng.normal(size=(N_ROWS, 2)).astype(np.float32),
    }
    return feats, labels


def config_table():
    c = []

    def add(name, estimator, kwargs, label, features=ALL_FEATURES):
        c.append({"name": name, "estimator": estimator, "kwargs": kwargs, "label": label, "features": list(features)})

    comb = {"linear_feature_columns": LINEAR, "dnn_feature_columns": DNN, "dnn_hidden_units": [4, 3]}
    add("dnnlinear_classifier", "DNNLinearCombinedClassifier", dict(comb), "binary")
    add("dnnlinear_classifier_batch_norm", "DNNLinearCombinedClassifier", dict(comb, batch_norm=True), "binary")
    add("dnnlinear_classifier_n3", "DNNLinearCombinedClassifier", dict(comb, n_classes=3), "multiclass3")
    add("dnnlinear_regressor_dim2", "DNNLinearCombinedRegressor", dict(comb, label_dimension=2), "regression2")
    add("linear_classifier", "LinearClassifier", {"feature_columns": LINEAR}, "binary")
    add("linear_regressor", "LinearRegressor", {"feature_columns": LINEAR}, "regression1")
    add("dnn_classifier", "DNNClassifier", {"feature_columns": DNN, "hidden_units": [4, 3]}, "binary")
    add("dnn_regressor", "DNNRegressor", {"feature_columns": DNN, "hidden_units": [4, 3]}, "regression1")
    # V2 Baseline* + tf.data input fails with >= 2 feature keys (spec 4.7).
    add("baseline_classifier", "BaselineClassifier", {}, "binary", ["x"])
    add("baseline_regressor", "BaselineRegressor", {}, "regression1", ["x"])
    add(
        "dnn_classifier_dropout",
        "DNNClassifier",
        {"feature_columns": DNN, "hidden_units": [4, 3], "dropout": 0.5},
        "binary",
    )
    add("dnnlinear_classifier_linear_only", "DNNLinearCombinedClassifier", {"linear_feature_columns": LINEAR}, "binary")
    add(
        "dnnlinear_classifier_dnn_only",
        "DNNLinearCombinedClassifier",
        {"dnn_feature_columns": DNN, "dnn_hidden_units": [4, 3]},
        "binary",
    )
    return c


def _py(x):
    if isinstance(x, np.ndarray):
        return [_py(y) for y in x] if x.ndim else _py(x[()])
    if isinstance(x, (bytes, np.bytes_)):
        return x.decode("utf-8")
    if isinstance(x, np.str_):
        return str(x)
    if isinstance(x, np.generic):
        return x.item()
    return x


COLUMN_KWARGS = ("feature_columns", "linear_feature_columns", "dnn_feature_columns")


def build_estimator(cfg, columns, model_dir):
    kwargs = {}
    for k, v in cfg["kwargs"].items():
        if k in COLUMN_KWARGS:
            v = [build_column(columns[key]) for key in v]
        kwargs[k] = v
    cls = getattr(tf.estimator, cfg["estimator"])
    return cls(model_dir=model_dir, config=tf.estimator.RunConfig(tf_random_seed=TF_RANDOM_SEED), **kwargs)


def make_input_fn(feats, labels, mode):
    def input_fn():
        ds = tf.data.Dataset.from_tensor_slices((feats, labels))
        ds = ds.batch(BATCH)
        if mode == "train":
            ds = ds.repeat()
        return ds

    return input_fn


def run_config(cfg, columns, feats_all, labels_all):
    feats = {k: feats_all[k] for k in cfg["features"]}
    labels = labels_all[cfg["label"]]
    model_dir = tempfile.mkdtemp(prefix="tf_canned_golden_")
    try:
        est = build_estimator(cfg, columns, model_dir)
        est.train(make_input_fn(feats, labels, "train"), steps=TRAIN_STEPS)
        names = sorted(est.get_variable_names())
        variables, hyper = [], {}
        for n in names:
            val = np.asarray(est.get_variable_value(n))
            variables.append([n, list(val.shape)])
            if val.shape == ():
                hyper[n] = _py(val)
        ev = est.evaluate(make_input_fn(feats, labels, "eval"), steps=EVAL_STEPS)
        preds = list(est.predict(make_input_fn(feats, labels, "predict")))
        out = dict(cfg)
        out.update(
            {
                "variables": variables,
                "hyper": hyper,
                "eval_keys": sorted(ev.keys()),
                "predict_keys": sorted(preds[0].keys()),
                "num_predictions": len(preds),
            }
        )
        return out
    finally:
        shutil.rmtree(model_dir, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(GOLDEN_DIR, "canned.json"))
    parser.add_argument("--only", default=None, help="comma-separated config names (debugging)")
    args = parser.parse_args(argv)
    feats, labels = make_data()
    configs = config_table()
    names = [c["name"] for c in configs]
    assert len(names) == len(set(names))
    if args.only:
        keep = set(args.only.split(","))
        configs = [c for c in configs if c["name"] in keep]
    records = []
    for cfg in configs:
        rec = run_config(cfg, COLUMNS, feats, labels)
        print(
            "%-36s %3d variables  %s"
            % (
                rec["name"],
                len(rec["variables"]),
                {k: v for k, v in rec["hyper"].items() if "learning_rate" in k and not k.endswith("_power")},
            )
        )
        records.append(rec)
    doc = {
        "meta": {
            "tensorflow": tf.__version__,
            "tensorflow_estimator": importlib.metadata.version("tensorflow-estimator"),
            "numpy": np.__version__,
            "generator": "tools/read_tf_canned_golden.py",
            "notes": [
                "V2 canned estimators (tf.estimator.*), default optimizers.",
                (
                    "variables: sorted(get_variable_names()) after %d train steps "
                    "with shapes; hyper: every scalar variable value." % TRAIN_STEPS
                ),
                (
                    "Baseline configs feed only feature x (V2 Baseline + tf.data "
                    "with >= 2 feature keys fails in TF 2.15, see spec 4.7)."
                ),
            ],
        },
        "columns": COLUMNS,
        "data": {
            "n_rows": N_ROWS,
            "batch_size": BATCH,
            "train_steps": TRAIN_STEPS,
            "eval_steps": EVAL_STEPS,
            "shuffle": False,
            "numpy_seed": DATA_SEED,
            "tf_random_seed": TF_RANDOM_SEED,
            "input_fn": "tf.data.Dataset.from_tensor_slices((features, labels))"
            ".batch(batch_size); .repeat() for train; one pass for "
            "predict; evaluate(steps=eval_steps)",
            "features": {k: _py(v) for k, v in feats.items()},
            "feature_dtypes": {k: str(v.dtype) if v.dtype.kind != "U" else "string" for k, v in feats.items()},
            "labels": {k: _py(v) for k, v in labels.items()},
            "label_dtypes": {k: str(v.dtype) for k, v in labels.items()},
        },
        "configs": records,
    }
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
    print("wrote %s: %d configs, %.1f KiB" % (out, len(records), os.path.getsize(out) / 1024.0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
