"""Canned estimators' checkpoint variables, hyper-parameters and key sets equal tf.estimator 2.15's
(tests/golden/canned.json, written by tools/read_tf_canned_golden.py)."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

import torch_estimator as te

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "feature_column"))
from test_feature_column_golden import build  # noqa: E402

GOLDEN = json.load(open(os.path.join(os.path.dirname(__file__), "..", "golden", "canned.json"), encoding="utf-8"))
DATA = GOLDEN["data"]
COLUMN_KEYS = {"feature_columns", "linear_feature_columns", "dnn_feature_columns"}


def _features(names):
    out = {}
    for name in names:
        dtype = DATA["feature_dtypes"].get(name)
        array = np.asarray(DATA["features"][name], dtype=object if dtype == "string" else dtype)
        out[name] = array.astype(object) if array.dtype.kind == "U" else array
    return out


@pytest.mark.parametrize("config", GOLDEN["configs"], ids=lambda c: c["name"])
def test_variables_and_keys_match_tf(tmp_path, config):
    kwargs = {
        k: ([build(GOLDEN["columns"][c]) for c in v] if k in COLUMN_KEYS else v) for k, v in config["kwargs"].items()
    }
    est = getattr(te, config["estimator"])(
        model_dir=str(tmp_path), config=te.RunConfig(tf_random_seed=DATA["tf_random_seed"]), **kwargs
    )
    features = _features(config["features"])
    labels = np.asarray(DATA["labels"][config["label"]], dtype=DATA["label_dtypes"][config["label"]])
    train = te.inputs.numpy_input_fn(features, labels, batch_size=DATA["batch_size"], num_epochs=None, shuffle=False)
    est.train(train, steps=DATA["train_steps"])
    ours = [[name, list(est.get_variable_value(name).shape)] for name in est.get_variable_names()]
    assert ours == config["variables"]
    for name, value in config["hyper"].items():
        np.testing.assert_allclose(est.get_variable_value(name), value, rtol=1e-6, err_msg=name)
    evaluate = te.inputs.numpy_input_fn(features, labels, batch_size=DATA["batch_size"], shuffle=False)
    assert sorted(est.evaluate(evaluate, steps=DATA["eval_steps"])) == config["eval_keys"]
    prediction = next(est.predict(te.inputs.numpy_input_fn(features, batch_size=DATA["batch_size"], shuffle=False)))
    assert sorted(prediction) == config["predict_keys"]
