"""Reference numbers for wide & deep on the census data from real tf.estimator.

This is a developer tool, NOT part of the package: TensorFlow is never a
dependency of torch_estimator.  Run it by hand with an interpreter that has
tensorflow 2.15 + tensorflow-estimator 2.15 + pandas installed, e.g.

    /tmp/tf215/bin/python tools/tf_census_reference.py                # 1 run
    /tmp/tf215/bin/python tools/tf_census_reference.py --seeds 1,2,3
    /tmp/tf215/bin/python tools/tf_census_reference.py --throughput
    # what tests/golden/tf_census_reference.json was made with:
    /tmp/tf215/bin/python tools/tf_census_reference.py --seeds 1,2,3 \\
        --out tests/golden/tf_census_reference.json
    /tmp/tf215/bin/python tools/tf_census_reference.py --throughput \\
        --seed 1 --out tests/golden/tf_census_reference.json   # twice

Model: ``tf.estimator.DNNLinearCombinedClassifier`` (V2) with the canonical
wide & deep census columns (see ``build_columns``), ``dnn_hidden_units=[100,
75, 50, 25]``, default optimizers (dnn: keras-legacy Adagrad lr 0.001; linear:
Ftrl lr min(0.005, 1/sqrt(8)) = 0.005), ``RunConfig(tf_random_seed=seed)``
(otherwise default RunConfig).  Data: ``src/torch_estimator/datasets/census/
adult.{data,test}.csv.gz``; label = ``class == '>50K'``.  Vocabularies are the
sorted distinct values of the training file (``'?'`` included).

Train input: ``tf.data.Dataset.from_tensor_slices((features, label))
.shuffle(32561).repeat(epochs).batch(batch_size)`` (shuffle seed derived from
``tf_random_seed``; the final partial batch is kept, so global_step =
ceil(32561 * epochs / batch_size)).  Eval/predict input: one pass over the
test file, ``.batch(eval_batch_size)``.

Each training run prints one JSON line (accuracy, auc, loss, ..., global_step,
train_seconds = wall time of ``Estimator.train`` incl. graph construction and
checkpointing, train_examples_per_sec = examples / train_seconds).

``--throughput``: for every batch size in ``--throughput-batch-sizes``
(default 40,256,1024) a fresh model trains on the infinitely repeated,
shuffled training set inside ONE ``train()`` call; a SessionRunHook starts the
clock after ``--warmup-steps`` steps and stops training after
``--throughput-steps`` timed steps or ``--throughput-seconds`` seconds,
whichever is first; examples/sec = timed steps * batch_size / elapsed.  Then
``predict()`` over the whole test file at every ``--predict-batch-sizes``:
``predict_examples_per_sec`` counts from the first yielded prediction to the
last (steady state), ``predict_examples_per_sec_incl_setup`` from the call
(graph building + checkpoint restore included).

Timings are wall-clock on whatever machine runs this and are noisy on shared
machines; ``host`` records cpu count and load average.  With ``--out`` each
``--throughput`` run is appended to the file's ``throughput`` list, and a
``--seed(s)`` run replaces the runs of its own (epochs, batch size, seed) and
the summaries are recomputed per (epochs, batch size).
"""

import argparse
import gzip
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402
from census_reference_columns import AGE_BOUNDARIES, NUMERIC, reference_columns  # noqa: E402

tf.get_logger().setLevel("ERROR")

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.normpath(os.path.join(HERE, "..", "src", "torch_estimator", "datasets", "census"))
FILES = {"train": "adult.data.csv.gz", "test": "adult.test.csv.gz"}
COLUMNS = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "class",
)
CATEGORICAL = ("workclass", "education", "marital-status", "relationship", "occupation")
HIDDEN_UNITS = [100, 75, 50, 25]
FEATURE_KEYS = NUMERIC + CATEGORICAL


def load(split):
    path = os.path.join(DATA_DIR, FILES[split])
    with gzip.open(path, "rt", encoding="utf-8") as f:
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
    assert tuple(df.columns) == COLUMNS, df.columns
    feats = {}
    for k in NUMERIC:
        feats[k] = df[k].astype(np.float32).to_numpy()
    for k in CATEGORICAL:
        feats[k] = df[k].to_numpy().astype(str)
    labels = (df["class"] == ">50K").to_numpy().astype(np.int64)
    return feats, labels


def build_columns(train_feats):
    return reference_columns(tf.feature_column, train_feats)


def make_estimator(linear, deep, seed, model_dir):
    return tf.estimator.DNNLinearCombinedClassifier(
        model_dir=model_dir,
        linear_feature_columns=linear,
        dnn_feature_columns=deep,
        dnn_hidden_units=HIDDEN_UNITS,
        config=tf.estimator.RunConfig(tf_random_seed=seed),
    )


def train_input_fn(feats, labels, batch_size, epochs):
    n = len(labels)

    def input_fn():
        ds = tf.data.Dataset.from_tensor_slices((feats, labels))
        ds = ds.shuffle(n).repeat(epochs).batch(batch_size)
        return ds

    return input_fn


def eval_input_fn(feats, labels, batch_size):
    def input_fn():
        if labels is None:
            ds = tf.data.Dataset.from_tensor_slices(feats)
        else:
            ds = tf.data.Dataset.from_tensor_slices((feats, labels))
        return ds.batch(batch_size)

    return input_fn


def _py(x):
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x


def host_info():
    return {
        "cpu_count": os.cpu_count(),
        "loadavg": list(os.getloadavg()),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def versions():
    import importlib.metadata

    return {
        "tensorflow": tf.__version__,
        "tensorflow_estimator": importlib.metadata.version("tensorflow-estimator"),
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def run_train_eval(args, seed, data):
    (trf, trl), (tef, tel), (linear, deep) = data
    model_dir = tempfile.mkdtemp(prefix="tf_census_")
    try:
        est = make_estimator(linear, deep, seed, model_dir)
        load0 = os.getloadavg()[0]
        t0 = time.time()
        est.train(train_input_fn(trf, trl, args.batch_size, args.epochs))
        train_s = time.time() - t0
        t0 = time.time()
        ev = est.evaluate(eval_input_fn(tef, tel, args.eval_batch_size))
        eval_s = time.time() - t0
    finally:
        shutil.rmtree(model_dir, ignore_errors=True)
    n_ex = len(trl) * args.epochs
    out = {
        "mode": "train_eval",
        "tf_random_seed": seed,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "eval_batch_size": args.eval_batch_size,
        "accuracy": float(ev["accuracy"]),
        "auc": float(ev["auc"]),
        "loss": float(ev["loss"]),
        "average_loss": float(ev["average_loss"]),
        "global_step": int(ev["global_step"]),
        "expected_global_step": math.ceil(n_ex / args.batch_size),
        "train_examples": n_ex,
        "train_seconds": round(train_s, 3),
        "train_examples_per_sec": round(n_ex / train_s, 1),
        "eval_seconds": round(eval_s, 3),
        "eval_examples": len(tel),
        "metrics": {k: _py(v) for k, v in sorted(ev.items())},
        "loadavg_1min_at_start": load0,
    }
    return out


class _ThroughputHook(tf.estimator.SessionRunHook):
    """Starts the clock after `warmup` steps; stops after `steps` or `secs`."""

    def __init__(self, warmup, steps, secs):
        self.warmup, self.steps, self.secs = warmup, steps, secs
        self.n = 0
        self.t0 = None
        self.timed = 0
        self.elapsed = None

    def after_run(self, run_context, run_values):
        self.n += 1
        now = time.time()
        if self.n == self.warmup:
            self.t0 = now
            return
        if self.t0 is not None:
            self.timed = self.n - self.warmup
            self.elapsed = now - self.t0
            if self.timed >= self.steps or self.elapsed >= self.secs:
                run_context.request_stop()


def run_throughput(args, data):
    (trf, trl), (tef, _), (linear, deep) = data
    out = {
        "mode": "throughput",
        "tf_random_seed": args.seed,
        "warmup_steps": args.warmup_steps,
        "max_timed_steps": args.throughput_steps,
        "max_timed_seconds": args.throughput_seconds,
        "train": [],
        "predict": [],
        "loadavg_at_start": list(os.getloadavg()),
    }
    model_dir = None
    try:
        for bs in args.throughput_batch_sizes:
            if model_dir:
                shutil.rmtree(model_dir, ignore_errors=True)
            model_dir = tempfile.mkdtemp(prefix="tf_census_tp_")
            est = make_estimator(linear, deep, args.seed, model_dir)
            hook = _ThroughputHook(args.warmup_steps, args.throughput_steps, args.throughput_seconds)
            t0 = time.time()
            est.train(train_input_fn(trf, trl, bs, None), hooks=[hook])
            total = time.time() - t0
            rec = {
                "batch_size": bs,
                "timed_steps": hook.timed,
                "timed_seconds": round(hook.elapsed, 3),
                "steps_per_sec": round(hook.timed / hook.elapsed, 2),
                "examples_per_sec": round(hook.timed * bs / hook.elapsed, 1),
                "train_call_seconds": round(total, 3),
                "loadavg_1min_after": os.getloadavg()[0],
            }
            print(json.dumps(rec), file=sys.stderr)
            out["train"].append(rec)
        # Predict with the last trained model (speed does not depend on weights).
        for bs in args.predict_batch_sizes:
            n = 0
            t_call = time.time()
            t_first = None
            for _ in est.predict(eval_input_fn(tef, None, bs)):
                if t_first is None:
                    t_first = time.time()
                n += 1
            t_end = time.time()
            # Steady state: the first batch's other predictions come from the same
            # session run as the first one, so count n - 1 after t_first.
            rec = {
                "batch_size": bs,
                "examples": n,
                "seconds_incl_setup": round(t_end - t_call, 3),
                "seconds_after_first": round(t_end - t_first, 3),
                "predict_examples_per_sec": round((n - 1) / (t_end - t_first), 1),
                "predict_examples_per_sec_incl_setup": round(n / (t_end - t_call), 1),
            }
            print(json.dumps(rec), file=sys.stderr)
            out["predict"].append(rec)
    finally:
        if model_dir:
            shutil.rmtree(model_dir, ignore_errors=True)
    return out


def _ints(s):
    return [int(x) for x in s.split(",") if x]


def summarize_throughput(repeats):
    """min / median / max examples/sec per batch size over the repeats."""
    out = {}
    for part, key in (("train", "examples_per_sec"), ("predict", "predict_examples_per_sec")):
        by_bs = {}
        for rep in repeats:
            for rec in rep[part]:
                by_bs.setdefault(rec["batch_size"], []).append(rec[key])
        out[part] = {
            str(bs): {"repeats": len(v), "min": min(v), "median": float(np.median(v)), "max": max(v)}
            for bs, v in sorted(by_bs.items())
        }
    out["unit"] = "examples/sec"
    return out


def _group_runs(runs):
    groups = {}
    for r in runs:
        groups.setdefault((r["epochs"], r["batch_size"]), []).append(r)
    return [groups[k] for k in sorted(groups)]


def summarize_runs(runs):
    accs = [r["accuracy"] for r in runs]
    aucs = [r["auc"] for r in runs]
    losses = [r["average_loss"] for r in runs]
    return {
        "epochs": runs[0]["epochs"],
        "batch_size": runs[0]["batch_size"],
        "seeds": [r["tf_random_seed"] for r in runs],
        "accuracy_mean": float(np.mean(accs)),
        "accuracy_min": min(accs),
        "accuracy_max": max(accs),
        "auc_mean": float(np.mean(aucs)),
        "auc_min": min(aucs),
        "auc_max": max(aucs),
        "average_loss_mean": float(np.mean(losses)),
        "average_loss_min": min(losses),
        "average_loss_max": max(losses),
        "train_examples_per_sec": [r["train_examples_per_sec"] for r in runs],
    }


def merge_out(path, runs, throughput, args, vocabs, n_train, n_test):
    doc = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    doc["generator"] = "tools/tf_census_reference.py"
    doc["versions"] = versions()
    doc["host"] = host_info()
    doc["model"] = {
        "estimator": "DNNLinearCombinedClassifier",
        "dnn_hidden_units": HIDDEN_UNITS,
        "optimizers": "defaults (dnn Adagrad lr 0.001, linear Ftrl lr 0.005)",
        "linear_feature_columns": [
            "vocab_list(education)",
            "vocab_list(marital-status)",
            "vocab_list(relationship)",
            "vocab_list(workclass)",
            "hash_bucket(occupation, 1000)",
            "bucketized(age, %s)" % AGE_BOUNDARIES,
            "crossed([education, occupation], 1000)",
            "crossed([age_buckets, education, occupation], 1000)",
        ],
        "dnn_feature_columns": [
            "numeric(age)",
            "numeric(education-num)",
            "numeric(capital-gain)",
            "numeric(capital-loss)",
            "numeric(hours-per-week)",
            "indicator(workclass)",
            "indicator(education)",
            "indicator(marital-status)",
            "indicator(relationship)",
            "embedding(hash_bucket(occupation, 1000), 8)",
        ],
        "vocabularies": vocabs,
        "label": "class == '>50K'",
        "n_train": n_train,
        "n_test": n_test,
        "train_input": "from_tensor_slices.shuffle(n_train).repeat(epochs).batch(batch_size)",
    }
    doc["notes"] = [
        (
            "Timings are wall clock on a shared 2-core machine (other jobs were "
            "running, load average 2-3.5) and noisy; compare ratios measured on "
            "the same machine, not absolute numbers."
        ),
        (
            "train_seconds is the whole Estimator.train() call (graph building, "
            "session/checkpoint overhead included); throughput.train numbers "
            "exclude that (clock starts after warmup steps inside one train call)."
        ),
        ("eval loss is the V2 head mean of per-batch mean losses; average_loss is the per-example mean."),
        (
            "2 epochs with default optimizers (Adagrad lr 0.001) on unnormalised "
            "numeric inputs (capital-gain up to 99999) is far from converged; "
            "auc/loss vary a lot with the seed."
        ),
    ]
    if runs:
        # Runs are kept per (epochs, batch_size, seed): a new run replaces only its own setting.
        def key(r: dict) -> tuple:
            return (r["epochs"], r["batch_size"], r["tf_random_seed"])

        fresh = {key(r) for r in runs}
        doc["runs"] = [r for r in doc.get("runs", []) if key(r) not in fresh] + runs
        doc["summary"] = [summarize_runs(group) for group in _group_runs(doc["runs"])]
    if throughput:
        # Each --throughput --out call appends one repeat (timings are noisy).
        prev = doc.get("throughput", [])
        doc["throughput"] = (prev if isinstance(prev, list) else [prev]) + [throughput]
    if doc.get("throughput"):
        doc["throughput_summary"] = summarize_throughput(doc["throughput"])
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("wrote %s" % path, file=sys.stderr)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--eval-batch-size", type=int, default=1024)
    p.add_argument("--seed", type=int, default=42, help="tf_random_seed")
    p.add_argument("--seeds", type=_ints, default=None, help="comma-separated tf_random_seeds; one run each")
    p.add_argument("--throughput", action="store_true")
    p.add_argument("--throughput-batch-sizes", type=_ints, default=[40, 256, 1024])
    p.add_argument("--predict-batch-sizes", type=_ints, default=[256, 1024])
    p.add_argument("--warmup-steps", type=int, default=50)
    p.add_argument("--throughput-steps", type=int, default=2000)
    p.add_argument("--throughput-seconds", type=float, default=30.0)
    p.add_argument("--out", default=None, help="also merge the results into this JSON file")
    args = p.parse_args(argv)

    trf, trl = load("train")
    tef, tel = load("test")
    linear, deep, vocabs = build_columns(trf)
    data = ((trf, trl), (tef, tel), (linear, deep))

    runs, throughput = [], None
    if args.throughput:
        throughput = run_throughput(args, data)
        print(json.dumps(throughput))
    else:
        for seed in args.seeds or [args.seed]:
            rec = run_train_eval(args, seed, data)
            print(json.dumps(rec))
            sys.stdout.flush()
            runs.append(rec)
    if args.out:
        merge_out(args.out, runs, throughput, args, vocabs, len(trl), len(tel))
    return 0


if __name__ == "__main__":
    sys.exit(main())
