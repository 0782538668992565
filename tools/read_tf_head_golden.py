"""Read golden values for the tf.estimator Head family off real TensorFlow.

This is a developer tool, NOT part of the package: TensorFlow is never a
dependency of torch_estimator.  Run it by hand with an interpreter that has
tensorflow 2.15 + tensorflow-estimator 2.15 installed, e.g.

    /tmp/tf215/bin/python tools/read_tf_head_golden.py

It writes ``tests/golden/heads.json`` (path overridable with ``--out``).

Everything is deterministic: every case draws its inputs from its own
``numpy.random.RandomState`` seeded from a fixed base seed plus the case index,
and all inputs are stored in the JSON so consumers never regenerate them.

Per case we record (eagerly, TF2 behaviour):
  * ``loss.train`` / ``loss.eval``: ``head.loss(labels, logits, features, mode)``
    per batch (regularization losses included when given);
  * ``predictions``: ``head.predictions(logits)`` per batch;
  * ``eval_metrics``: ``head.metrics(reg)`` once, then
    ``head.update_metrics(...)`` on every batch in order, then ``.result()``.
    The same values are cross-checked against Estimator semantics (graph mode,
    ``create_estimator_spec(EVAL)`` + update ops run once per fed batch).  For
    ``MultiHead`` the two differ (see ``eval_metrics_eager_update_metrics``):
    ``MultiHead.update_metrics`` creates *fresh* sub-head metric objects on
    every call, so eager streaming only keeps the last batch for sub-head
    metrics.  ``eval_metrics`` stores the Estimator (graph, streaming) values.
  * ``export_outputs``: from ``create_estimator_spec(PREDICT)`` in a graph;
  * ``train_summary_keys``: summary tags created by
    ``create_estimator_spec(TRAIN)`` in a graph.

A top-level ``errors`` list records exception type and text for bad inputs.
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
from tensorflow.python.framework import tensor_util  # noqa: E402

tf.get_logger().setLevel("ERROR")

ModeKeys = tf.estimator.ModeKeys
BASE_SEED = 20240601
BATCH = 8
N_BATCHES = 3

HEAD_CLASSES = {
    "BinaryClassHead": tf.estimator.BinaryClassHead,
    "MultiClassHead": tf.estimator.MultiClassHead,
    "MultiLabelHead": tf.estimator.MultiLabelHead,
    "RegressionHead": tf.estimator.RegressionHead,
    "LogisticRegressionHead": tf.estimator.LogisticRegressionHead,
    "PoissonRegressionHead": tf.estimator.PoissonRegressionHead,
}


# --------------------------------------------------------------------------
# JSON helpers
# --------------------------------------------------------------------------
def to_json(x):
    if isinstance(x, dict):
        return {str(k): to_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_json(v) for v in x]
    if isinstance(x, (tf.Tensor, tf.Variable)):
        x = x.numpy()
    if isinstance(x, np.ndarray):
        if x.dtype.kind in ("S", "O", "U"):
            return to_json(x.tolist())
        if x.dtype.kind == "f":
            return [to_json(v) for v in x] if x.ndim else float(x)
        return x.tolist()
    if isinstance(x, bytes):
        return x.decode("utf-8")
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    return x


def pred_key(k):
    return "/".join(k) if isinstance(k, tuple) else str(k)


# --------------------------------------------------------------------------
# Head construction
# --------------------------------------------------------------------------
def build_head(spec):
    cls = spec["class"]
    kwargs = dict(spec.get("kwargs", {}))
    if cls == "MultiHead":
        heads = [build_head(h) for h in kwargs.pop("heads")]
        return tf.estimator.MultiHead(heads, **kwargs)
    return HEAD_CLASSES[cls](**kwargs)


def H(cls, **kwargs):
    return {"class": cls, "kwargs": kwargs}


# --------------------------------------------------------------------------
# Data generators: each returns one batch dict of numpy arrays
#   {'features': {...}, 'logits': ..., 'labels': ...}
# --------------------------------------------------------------------------
def _weights(rng, shape=(BATCH, 1)):
    return rng.uniform(0.25, 2.5, size=shape).astype(np.float32)


def _logits(rng, dim, scale=2.0):
    return rng.normal(0.0, scale, size=(BATCH, dim)).astype(np.float32)


def _mixed_ints(rng, n, shape):
    """Random ints in [0, n) with every class present (flattened)."""
    while True:
        v = rng.randint(0, n, size=shape)
        if len(np.unique(v)) == n:
            return v


def gen_binary(rng, weighted=False, vocab=None, soft=False, rank1=False):
    logits = _logits(rng, 1)
    if soft:
        labels = rng.uniform(0.0, 1.0, size=(BATCH, 1)).astype(np.float32)
        labels[0, 0], labels[1, 0] = 0.0, 1.0
    else:
        ids = _mixed_ints(rng, 2, (BATCH, 1))
        if vocab is not None:
            labels = np.array(vocab, dtype=object)[ids]
        else:
            labels = ids.astype(np.float32)
    if rank1:
        labels = labels.reshape(BATCH)
    feats = {"w": _weights(rng)} if weighted else {}
    return {"features": feats, "logits": logits, "labels": labels}


def gen_multiclass(rng, weighted=False, vocab=None, n=3):
    logits = _logits(rng, n)
    ids = _mixed_ints(rng, n, (BATCH, 1))
    labels = np.array(vocab, dtype=object)[ids] if vocab is not None else ids.astype(np.int64)
    feats = {"w": _weights(rng)} if weighted else {}
    return {"features": feats, "logits": logits, "labels": labels}


def gen_multilabel(rng, weighted=False, n=3):
    logits = _logits(rng, n)
    while True:
        labels = rng.randint(0, 2, size=(BATCH, n)).astype(np.int64)
        # every class column must contain both 0 and 1 (per-class AUC defined)
        if all(0 < labels[:, c].sum() < BATCH for c in range(n)):
            break
    feats = {"w": _weights(rng)} if weighted else {}
    return {"features": feats, "logits": logits, "labels": labels}


def gen_regression(rng, weighted=False, dim=1, weight_dim=1):
    logits = _logits(rng, dim)
    labels = rng.normal(0.5, 1.5, size=(BATCH, dim)).astype(np.float32)
    feats = {"w": _weights(rng, (BATCH, weight_dim))} if weighted else {}
    return {"features": feats, "logits": logits, "labels": labels}


def gen_logistic(rng, weighted=False):
    logits = _logits(rng, 1)
    labels = rng.uniform(0.0, 1.0, size=(BATCH, 1)).astype(np.float32)
    labels[0, 0], labels[1, 0] = 0.0, 1.0
    feats = {"w": _weights(rng)} if weighted else {}
    return {"features": feats, "logits": logits, "labels": labels}


def gen_poisson(rng, weighted=False):
    logits = _logits(rng, 1, scale=1.0)
    counts = rng.randint(0, 7, size=(BATCH, 1))
    counts[0, 0], counts[1, 0], counts[2, 0] = 0, 1, 3  # 0, 1 and > 1
    labels = counts.astype(np.float32)
    feats = {"w": _weights(rng)} if weighted else {}
    return {"features": feats, "logits": logits, "labels": labels}


def gen_multihead_bin_reg(rng, split=False, weighted=False):
    b = gen_binary(rng)
    r = gen_regression(rng)
    feats = {"w": _weights(rng)} if weighted else {}
    if split:
        logits = np.concatenate([b["logits"], r["logits"]], axis=-1)
    else:
        logits = {"h1": b["logits"], "h2": r["logits"]}
    return {"features": feats, "logits": logits, "labels": {"h1": b["labels"], "h2": r["labels"]}}


def gen_multihead_mc_reg2(rng):
    m = gen_multiclass(rng)
    r = gen_regression(rng, dim=2)
    return {
        "features": {"w": _weights(rng)},
        "logits": np.concatenate([m["logits"], r["logits"]], axis=-1),
        "labels": {"mc": m["labels"], "r2": r["labels"]},
    }


# --------------------------------------------------------------------------
# Case table
# --------------------------------------------------------------------------
def case_table():
    C = []

    def add(name, head, gen, reg=None):
        C.append({"name": name, "head": head, "gen": gen, "reg": reg})

    SUM = "sum"
    # ---- the four weight x reduction combos + named, per single head -------
    simple = [
        ("binary", "BinaryClassHead", {}, gen_binary),
        ("multiclass", "MultiClassHead", {"n_classes": 3}, gen_multiclass),
        ("multilabel", "MultiLabelHead", {"n_classes": 3}, gen_multilabel),
        (
            "regression1",
            "RegressionHead",
            {"label_dimension": 1},
            lambda rng, weighted=False: gen_regression(rng, weighted, dim=1),
        ),
        (
            "regression2",
            "RegressionHead",
            {"label_dimension": 2},
            lambda rng, weighted=False: gen_regression(rng, weighted, dim=2),
        ),
        ("logistic", "LogisticRegressionHead", {}, gen_logistic),
        ("poisson", "PoissonRegressionHead", {}, gen_poisson),
    ]
    for prefix, cls, base_kwargs, gen in simple:
        add(prefix, H(cls, **base_kwargs), lambda rng, g=gen: g(rng))
        add(prefix + "_weighted", H(cls, **base_kwargs, weight_column="w"), lambda rng, g=gen: g(rng, weighted=True))
        add(prefix + "_sum", H(cls, **base_kwargs, loss_reduction=SUM), lambda rng, g=gen: g(rng))
        add(
            prefix + "_weighted_sum",
            H(cls, **base_kwargs, weight_column="w", loss_reduction=SUM),
            lambda rng, g=gen: g(rng, weighted=True),
        )
        add(
            prefix + "_named_weighted",
            H(cls, **base_kwargs, weight_column="w", name="h"),
            lambda rng, g=gen: g(rng, weighted=True),
        )

    # ---- binary extras -----------------------------------------------------
    add("binary_thresholds", H("BinaryClassHead", thresholds=[0.3, 0.75]), lambda rng: gen_binary(rng))
    add(
        "binary_thresholds_weighted_named",
        H("BinaryClassHead", weight_column="w", thresholds=[0.3, 0.75], name="bh"),
        lambda rng: gen_binary(rng, weighted=True),
    )
    add(
        "binary_vocab",
        H("BinaryClassHead", label_vocabulary=["no", "yes"]),
        lambda rng: gen_binary(rng, vocab=["no", "yes"]),
    )
    add(
        "binary_vocab_weighted",
        H("BinaryClassHead", weight_column="w", label_vocabulary=["no", "yes"]),
        lambda rng: gen_binary(rng, weighted=True, vocab=["no", "yes"]),
    )
    add("binary_soft_labels", H("BinaryClassHead"), lambda rng: gen_binary(rng, soft=True))
    add(
        "binary_soft_labels_weighted",
        H("BinaryClassHead", weight_column="w"),
        lambda rng: gen_binary(rng, weighted=True, soft=True),
    )
    add(
        "binary_rank1_labels",
        H("BinaryClassHead", weight_column="w"),
        lambda rng: gen_binary(rng, weighted=True, rank1=True),
    )
    add("binary_auto", H("BinaryClassHead", loss_reduction="auto"), lambda rng: gen_binary(rng))
    add(
        "binary_regularization",
        H("BinaryClassHead", weight_column="w"),
        lambda rng: gen_binary(rng, weighted=True),
        reg=[0.5, 0.25],
    )
    add(
        "binary_regularization_named_sum",
        H("BinaryClassHead", loss_reduction=SUM, name="h"),
        lambda rng: gen_binary(rng),
        reg=[0.5, 0.25],
    )

    # ---- multiclass extras ---------------------------------------------------
    add(
        "multiclass_vocab",
        H("MultiClassHead", n_classes=3, label_vocabulary=["a", "b", "c"]),
        lambda rng: gen_multiclass(rng, vocab=["a", "b", "c"]),
    )
    add(
        "multiclass_vocab_weighted_sum",
        H("MultiClassHead", n_classes=3, weight_column="w", label_vocabulary=["a", "b", "c"], loss_reduction=SUM),
        lambda rng: gen_multiclass(rng, weighted=True, vocab=["a", "b", "c"]),
    )
    add("multiclass_auto", H("MultiClassHead", n_classes=3, loss_reduction="auto"), lambda rng: gen_multiclass(rng))

    # ---- multilabel extras ---------------------------------------------------
    add(
        "multilabel_thresholds_classes",
        H("MultiLabelHead", n_classes=3, thresholds=[0.4, 0.6], classes_for_class_based_metrics=[0, 2]),
        lambda rng: gen_multilabel(rng),
    )
    add(
        "multilabel_thresholds_classes_weighted_named",
        H(
            "MultiLabelHead",
            n_classes=3,
            weight_column="w",
            thresholds=[0.4, 0.6],
            classes_for_class_based_metrics=[0, 2],
            name="mlh",
        ),
        lambda rng: gen_multilabel(rng, weighted=True),
    )
    add(
        "multilabel_vocab_classes",
        H("MultiLabelHead", n_classes=3, label_vocabulary=["a", "b", "c"], classes_for_class_based_metrics=["a", "c"]),
        lambda rng: gen_multilabel(rng),
    )

    # ---- regression extras --------------------------------------------------
    add(
        "regression2_weights_per_dim",
        H("RegressionHead", label_dimension=2, weight_column="w"),
        lambda rng: gen_regression(rng, weighted=True, dim=2, weight_dim=2),
    )
    add(
        "regression1_regularization",
        H("RegressionHead", label_dimension=1, weight_column="w"),
        lambda rng: gen_regression(rng, weighted=True, dim=1),
        reg=[0.5, 0.25],
    )
    add(
        "regression2_regularization_sum",
        H("RegressionHead", label_dimension=2, loss_reduction=SUM),
        lambda rng: gen_regression(rng, dim=2),
        reg=[0.5, 0.25],
    )
    add("regression1_auto", H("RegressionHead", loss_reduction="auto"), lambda rng: gen_regression(rng))

    # ---- poisson compute_full_loss ---------------------------------------------
    add("poisson_full_loss_true", H("PoissonRegressionHead", compute_full_loss=True), lambda rng: gen_poisson(rng))
    add("poisson_full_loss_false", H("PoissonRegressionHead", compute_full_loss=False), lambda rng: gen_poisson(rng))
    add(
        "poisson_full_loss_true_weighted_sum",
        H("PoissonRegressionHead", compute_full_loss=True, weight_column="w", loss_reduction=SUM),
        lambda rng: gen_poisson(rng, weighted=True),
    )

    # ---- MultiHead -------------------------------------------------------------
    mh = H(
        "MultiHead", heads=[H("BinaryClassHead", name="h1"), H("RegressionHead", name="h2")], head_weights=[1.0, 0.5]
    )
    add("multihead_dict_logits", mh, lambda rng: gen_multihead_bin_reg(rng))
    add("multihead_split_logits", mh, lambda rng: gen_multihead_bin_reg(rng, split=True))
    add(
        "multihead_weighted_regularization",
        H(
            "MultiHead",
            heads=[
                H("BinaryClassHead", name="h1", weight_column="w"),
                H("RegressionHead", name="h2", weight_column="w"),
            ],
            head_weights=[1.0, 0.5],
        ),
        lambda rng: gen_multihead_bin_reg(rng, weighted=True),
        reg=[0.5, 0.25],
    )
    add(
        "multihead_no_head_weights_split_mc_reg2",
        H(
            "MultiHead",
            heads=[
                H("MultiClassHead", n_classes=3, name="mc", weight_column="w"),
                H("RegressionHead", label_dimension=2, name="r2", weight_column="w"),
            ],
        ),
        lambda rng: gen_multihead_mc_reg2(rng),
    )
    return C


# --------------------------------------------------------------------------
# Runners
# --------------------------------------------------------------------------
def _tf_inputs(batch):
    def conv(x):
        if isinstance(x, dict):
            return {k: conv(v) for k, v in x.items()}
        if isinstance(x, np.ndarray) and x.dtype == object:
            return tf.constant(x.astype(str))
        return tf.constant(x)

    return conv(batch["features"]), conv(batch["logits"]), conv(batch["labels"])


def _reg(reg):
    return None if reg is None else [tf.constant(r, tf.float32) for r in reg]


def _is_multi(head_spec):
    return head_spec["class"] == "MultiHead"


def run_eager(head_spec, batches, reg):
    head = build_head(head_spec)
    losses_train, losses_eval, preds = [], [], []
    metrics = head.metrics(regularization_losses=_reg(reg))
    for b in batches:
        feats, logits, labels = _tf_inputs(b)
        losses_train.append(
            float(head.loss(labels, logits, features=feats, mode=ModeKeys.TRAIN, regularization_losses=_reg(reg)))
        )
        losses_eval.append(
            float(head.loss(labels, logits, features=feats, mode=ModeKeys.EVAL, regularization_losses=_reg(reg)))
        )
        p = head.predictions(logits)
        preds.append({pred_key(k): to_json(v) for k, v in sorted(p.items())})
        metrics = head.update_metrics(metrics, feats, logits, labels, regularization_losses=_reg(reg))
    values = {k: float(m.result()) for k, m in sorted(metrics.items())}
    return losses_train, losses_eval, preds, values


def _placeholder(x):
    if isinstance(x, dict):
        return {k: _placeholder(v) for k, v in x.items()}
    if x.dtype == object:
        dtype = tf.string
    else:
        dtype = tf.as_dtype(x.dtype)
    return tf.compat.v1.placeholder(dtype, shape=(None,) + x.shape[1:])


def _feed(ph, x, feed):
    if isinstance(ph, dict):
        for k in ph:
            _feed(ph[k], x[k], feed)
    else:
        feed[ph] = x.astype(str) if x.dtype == object else x


def run_graph_eval(head_spec, batches, reg):
    """Estimator semantics: one EVAL spec, update ops run once per batch."""
    with tf.Graph().as_default() as g:
        head = build_head(head_spec)
        b0 = batches[0]
        ph_f = _placeholder(b0["features"])
        ph_lo = _placeholder(b0["logits"])
        ph_la = _placeholder(b0["labels"])
        spec = head.create_estimator_spec(
            features=ph_f, mode=ModeKeys.EVAL, logits=ph_lo, labels=ph_la, regularization_losses=_reg(reg)
        )
        ops = spec.eval_metric_ops
        update = tf.group(*[v[1] for v in ops.values()])
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(tf.compat.v1.local_variables_initializer())
            sess.run(tf.compat.v1.tables_initializer())
            losses = []
            for b in batches:
                feed = {}
                _feed(ph_f, b["features"], feed)
                _feed(ph_lo, b["logits"], feed)
                _feed(ph_la, b["labels"], feed)
                loss, _ = sess.run([spec.loss, update], feed_dict=feed)
                losses.append(float(loss))
            values = sess.run({k: v[0] for k, v in ops.items()})
    return losses, {k: float(v) for k, v in sorted(values.items())}


def _export_desc(out):
    name = type(out).__name__
    if name == "ClassificationOutput":
        outputs = [n for n, t in (("classes", out.classes), ("scores", out.scores)) if t is not None]
    elif name == "RegressionOutput":
        outputs = ["outputs"]
    elif name == "PredictOutput":
        outputs = sorted(out.outputs.keys())
    else:
        outputs = None
    return {"type": name, "outputs": sorted(outputs)}


def run_graph_predict_and_train(head_spec, batch, reg):
    with tf.Graph().as_default():
        head = build_head(head_spec)
        feats, logits, labels = _tf_inputs(batch)
        spec = head.create_estimator_spec(features=feats, mode=ModeKeys.PREDICT, logits=logits)
        export = {k: _export_desc(v) for k, v in sorted(spec.export_outputs.items())}
    with tf.Graph().as_default() as g:
        head = build_head(head_spec)
        feats, logits, labels = _tf_inputs(batch)
        head.create_estimator_spec(
            features=feats,
            mode=ModeKeys.TRAIN,
            logits=logits,
            labels=labels,
            train_op_fn=lambda loss: tf.no_op(),
            regularization_losses=_reg(reg),
        )
        tags = []
        for t in g.get_collection(tf.compat.v1.GraphKeys.SUMMARIES):
            tag = tensor_util.constant_value(t.op.inputs[0])
            if isinstance(tag, np.ndarray):
                tag = tag.item()
            tags.append(tag.decode() if isinstance(tag, bytes) else str(tag))
    return export, sorted(tags)


def run_case(idx, case):
    rng = np.random.RandomState(BASE_SEED + idx)
    batches = [case["gen"](rng) for _ in range(N_BATCHES)]
    reg = case["reg"]
    lt, le, preds, eager_metrics = run_eager(case["head"], batches, reg)
    graph_losses, graph_metrics = run_graph_eval(case["head"], batches, reg)
    np.testing.assert_allclose(graph_losses, le, rtol=1e-5, atol=1e-6)
    assert sorted(graph_metrics) == sorted(eager_metrics), (case["name"], sorted(graph_metrics), sorted(eager_metrics))
    out_metrics = graph_metrics
    extra = {}
    if not _is_multi(case["head"]):
        for k in graph_metrics:
            np.testing.assert_allclose(
                graph_metrics[k], eager_metrics[k], rtol=1e-5, atol=1e-6, err_msg=case["name"] + k
            )
        out_metrics = eager_metrics
    else:
        extra["eval_metrics_eager_update_metrics"] = eager_metrics
    export, tags = run_graph_predict_and_train(case["head"], batches[0], reg)
    rec = {
        "name": case["name"],
        "head": case["head"],
        "regularization_losses": reg,
        "batches": [to_json(b) for b in batches],
        "loss": {"train": lt, "eval": le},
        "predictions": preds,
        "eval_metrics": out_metrics,
        "export_outputs": export,
        "train_summary_keys": tags,
    }
    rec.update(extra)
    return rec


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
def error_table():
    E = []
    rng = np.random.RandomState(BASE_SEED - 1)
    B = 2

    def ctor(head, **kw):
        E.append({"head": head, "call": "constructor", "args": kw.get("args"), "fn": lambda: build_head(head)})

    def loss(head, logits, labels, features=None, note=None):
        args = {"logits": logits, "labels": labels, "features": features or {}}
        if note:
            args["note"] = note

        def fn():
            h = build_head(head)
            f = {k: tf.constant(v) for k, v in (features or {}).items()}
            return h.loss(labels=_conv(labels), logits=_conv(logits), features=f, mode=ModeKeys.TRAIN)

        E.append({"head": head, "call": "loss", "args": args, "fn": fn})

    def other(head, call, args, fn):
        E.append({"head": head, "call": call, "args": args, "fn": fn})

    def _conv(x):
        if x is None:
            return None
        if isinstance(x, dict):
            return {k: _conv(v) for k, v in x.items()}
        return tf.constant(x)

    f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
    i64 = lambda a: np.asarray(a, np.int64)  # noqa: E731

    # -- constructor errors -------------------------------------------------
    for red in ["none", "mean", "weighted_mean", "sum_by_nonzero_weights"]:
        ctor(H("BinaryClassHead", loss_reduction=red))
    ctor(H("RegressionHead", loss_reduction="none"))
    ctor(H("MultiClassHead", n_classes=3, loss_reduction="mean"))
    ctor(H("MultiLabelHead", n_classes=3, loss_reduction="none"))
    ctor(H("BinaryClassHead", thresholds=[1.0]))
    ctor(H("BinaryClassHead", thresholds=[0.0]))
    ctor(H("BinaryClassHead", thresholds=[0.5, 1.5]))
    ctor(H("MultiLabelHead", n_classes=3, thresholds=[1.0]))
    ctor(H("MultiLabelHead", n_classes=3, thresholds=[0.0]))
    ctor(H("MultiClassHead", n_classes=2))
    ctor(H("MultiClassHead", n_classes=None))
    ctor(H("MultiClassHead", n_classes=1))
    ctor(H("MultiLabelHead", n_classes=1))
    ctor(H("MultiLabelHead", n_classes=None))
    ctor(H("RegressionHead", label_dimension=0))
    ctor(H("RegressionHead", label_dimension=-1))
    ctor(H("BinaryClassHead", label_vocabulary="ab"))
    ctor(H("MultiClassHead", n_classes=3, label_vocabulary="abc"))
    ctor(H("MultiClassHead", n_classes=3, label_vocabulary=["a", "b"]))
    ctor(H("MultiLabelHead", n_classes=3, label_vocabulary="abc"))
    ctor(H("MultiLabelHead", n_classes=3, label_vocabulary=["a", "b"]))
    ctor(H("MultiLabelHead", n_classes=3, classes_for_class_based_metrics=[3]))
    ctor(H("MultiLabelHead", n_classes=3, classes_for_class_based_metrics=[-1]))
    ctor(H("MultiLabelHead", n_classes=3, classes_for_class_based_metrics=["a"]))
    ctor(H("MultiHead", heads=[H("BinaryClassHead"), H("RegressionHead", name="h2")]))
    ctor(H("MultiHead", heads=[H("BinaryClassHead", name="h1"), H("RegressionHead", name="h2")], head_weights=[1.0]))
    ctor(H("MultiHead", heads=[]))

    # -- loss errors --------------------------------------------------------
    bl = f32([[0.5], [-1.0]])
    lab01 = f32([[0.0], [1.0]])
    loss(H("BinaryClassHead"), f32([[0.5, 1.0], [-1.0, 2.0]]), lab01, note="logits wrong last dim")
    loss(H("BinaryClassHead"), f32([0.5, -1.0]), lab01, note="rank-1 logits")
    loss(
        H("MultiClassHead", n_classes=3), f32([[0.5, 1.0], [-1.0, 2.0]]), i64([[0], [1]]), note="logits wrong last dim"
    )
    loss(
        H("RegressionHead", label_dimension=2), f32([[0.5], [-1.0]]), f32([[0.5], [-1.0]]), note="logits wrong last dim"
    )
    loss(H("BinaryClassHead"), bl, f32([[0.0, 1.0], [1.0, 0.0]]), note="labels wrong last dim")
    loss(
        H("MultiClassHead", n_classes=3),
        f32(rng.normal(size=(B, 3))),
        i64([[0, 1], [1, 2]]),
        note="labels wrong last dim",
    )
    loss(
        H("MultiLabelHead", n_classes=3),
        f32(rng.normal(size=(B, 3))),
        i64([[0, 1], [1, 1]]),
        note="labels wrong last dim",
    )
    loss(
        H("RegressionHead", label_dimension=2),
        f32(rng.normal(size=(B, 2))),
        f32(rng.normal(size=(B, 3))),
        note="labels wrong last dim",
    )
    loss(H("BinaryClassHead"), bl, f32([[[0.0]], [[1.0]]]), note="labels wrong rank (higher)")
    loss(
        H("RegressionHead", label_dimension=1),
        f32([[0.5], [-1.0]]),
        f32([[0.5], [-1.0], [2.0]]),
        note="labels wrong batch size",
    )
    loss(H("BinaryClassHead"), bl, None, note="labels None")
    loss(
        H("BinaryClassHead", weight_column="w"),
        bl,
        lab01,
        features={"w": f32([[1.0, 2.0], [1.0, 2.0]])},
        note="weights wrong shape",
    )
    loss(
        H("BinaryClassHead", weight_column="w"),
        bl,
        lab01,
        features={"w": f32([[[1.0]], [[2.0]]])},
        note="weights rank 3",
    )
    loss(
        H("MultiClassHead", n_classes=3, weight_column="w"),
        f32(rng.normal(size=(B, 3))),
        i64([[0], [2]]),
        features={"w": f32([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])},
        note="weights [B,3] for multiclass",
    )
    loss(
        H("RegressionHead", label_dimension=2, weight_column="w"),
        f32(rng.normal(size=(B, 2))),
        f32(rng.normal(size=(B, 2))),
        features={"w": f32([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])},
        note="weights wrong shape regression",
    )
    loss(H("BinaryClassHead", weight_column="w"), bl, lab01, features={}, note="weight column missing from features")
    loss(H("BinaryClassHead"), bl, f32([[2.0], [1.0]]), note="label > 1")
    loss(H("BinaryClassHead"), bl, f32([[-1.0], [1.0]]), note="label < 0")
    loss(
        H("BinaryClassHead", label_vocabulary=["no", "yes"]),
        bl,
        np.array([["no"], ["maybe"]]),
        note="label not in vocabulary",
    )
    loss(H("BinaryClassHead"), bl, np.array([["0"], ["1"]]), note="string labels without vocabulary")
    loss(H("MultiClassHead", n_classes=3), f32(rng.normal(size=(B, 3))), i64([[3], [0]]), note="label >= n_classes")
    loss(H("MultiClassHead", n_classes=3), f32(rng.normal(size=(B, 3))), i64([[-1], [0]]), note="label < 0")
    loss(H("MultiClassHead", n_classes=3), f32(rng.normal(size=(B, 3))), f32([[1.0], [0.0]]), note="float labels")
    loss(
        H("MultiClassHead", n_classes=3, label_vocabulary=["a", "b", "c"]),
        f32(rng.normal(size=(B, 3))),
        i64([[1], [0]]),
        note="int labels with vocabulary",
    )
    loss(
        H("MultiClassHead", n_classes=3, label_vocabulary=["a", "b", "c"]),
        f32(rng.normal(size=(B, 3))),
        np.array([["a"], ["z"]]),
        note="label not in vocabulary",
    )
    loss(H("LogisticRegressionHead"), bl, f32([[1.5], [0.5]]), note="label > 1")
    loss(H("LogisticRegressionHead"), bl, f32([[-0.5], [0.5]]), note="label < 0")
    loss(
        H("MultiLabelHead", n_classes=3),
        f32(rng.normal(size=(B, 3))),
        i64([[0, 2, 1], [1, 0, 0]]),
        note="label value 2",
    )
    loss(
        H("MultiLabelHead", n_classes=3),
        f32(rng.normal(size=(B, 3))),
        i64([[0, -1, 1], [1, 0, 0]]),
        note="label value -1",
    )
    mh = H("MultiHead", heads=[H("BinaryClassHead", name="h1"), H("RegressionHead", name="h2")])
    loss(mh, {"h1": bl, "h2": bl}, lab01, note="labels not a dict")
    loss(mh, {"h1": bl, "h2": bl}, {"h1": lab01}, note="labels missing head")
    loss(mh, {"h1": bl}, {"h1": lab01, "h2": lab01}, note="logits missing head")
    loss(mh, f32(rng.normal(size=(B, 3))), {"h1": lab01, "h2": lab01}, note="split logits wrong last dim")

    # -- other calls ----------------------------------------------------------
    other(
        H("BinaryClassHead"),
        "predictions",
        {"logits": bl, "keys": ["foo"]},
        lambda: build_head(H("BinaryClassHead")).predictions(tf.constant(bl), keys=["foo"]),
    )
    mh_red = H(
        "MultiHead", heads=[H("BinaryClassHead", name="h1"), H("RegressionHead", name="h2", loss_reduction="sum")]
    )
    other(mh_red, "loss_reduction", None, lambda: build_head(mh_red).loss_reduction)
    other(
        H("BinaryClassHead"),
        "loss",
        {"note": "features=None", "logits": bl, "labels": lab01, "features": None},
        lambda: build_head(H("BinaryClassHead")).loss(labels=tf.constant(lab01), logits=tf.constant(bl), features=None),
    )
    return E


def run_errors():
    out = []
    for e in error_table():
        rec = {"head": e["head"], "call": e["call"], "args": to_json(e["args"])}
        try:
            e["fn"]()
        except Exception as ex:  # pylint: disable=broad-except
            rec["error_type"] = type(ex).__name__
            msg = str(ex)
            # Object reprs carry a memory address; redact it so the file is
            # reproducible (only affects 'All given heads must have name ...').
            redacted = re.sub(r" at 0x[0-9a-fA-F]+>", " at 0x...>", msg)
            if redacted != msg:
                rec["message_note"] = "memory address in object repr redacted"
            rec["message"] = redacted
        else:
            rec["error_type"] = None
            rec["message"] = None
            print("NOTE: no error raised for", e["call"], e["head"], e["args"], file=sys.stderr)
        out.append(rec)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tests", "golden", "heads.json"))
    args = parser.parse_args()

    cases = case_table()
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    records = []
    for i, c in enumerate(cases):
        records.append(run_case(i, c))
    errors = run_errors()
    doc = {
        "tf_version": tf.__version__,
        "estimator_version": importlib.metadata.version("tensorflow-estimator"),
        "generator": "tools/read_tf_head_golden.py",
        "batch_size": BATCH,
        "notes": [
            "eval_metrics: head.metrics(reg) once, head.update_metrics on every "
            "batch, then result(); cross-checked against Estimator semantics "
            "(graph EVAL spec, update ops run per batch).",
            "MultiHead: eval_metrics holds Estimator (graph, streaming) values. "
            "MultiHead.update_metrics creates fresh sub-head metrics on every "
            "call, so calling it eagerly per batch keeps only the last batch "
            "for sub-head metrics (loss/<head> and regularization_loss still "
            "stream); that eager result is eval_metrics_eager_update_metrics.",
            "Unweighted cases pass features={} (features=None raises).",
            "String labels/classes are stored as str (bytes decoded).",
        ],
        "cases": records,
        "errors": errors,
    }
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
    size = os.path.getsize(out)
    print("wrote %s: %d cases, %d error records, %.1f KiB" % (out, len(records), len(errors), size / 1024.0))
    by_cls = {}
    for r in records:
        by_cls[r["head"]["class"]] = by_cls.get(r["head"]["class"], 0) + 1
    print("cases per head class:", by_cls)
    n_err = sum(1 for e in errors if e["error_type"])
    print("errors raised: %d / %d" % (n_err, len(errors)))


if __name__ == "__main__":
    main()
