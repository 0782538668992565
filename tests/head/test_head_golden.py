"""Every head against values read off TensorFlow 2.15 (tests/golden/heads.json, tools/read_tf_head_golden.py).

Losses, predictions and export outputs per batch; eval metrics streamed over all batches the
way the Estimator streams them (fresh metrics per batch, merged).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import numpy as np
import pytest
import torch

import torch_estimator as te
from torch_estimator._core.metrics import Metric

GOLDEN = json.load(open(os.path.join(os.path.dirname(__file__), "..", "golden", "heads.json"), encoding="utf-8"))
CASES = {c["name"]: c for c in GOLDEN["cases"]}
_AUC_LIKE = re.compile(r"(^|/)auc")


def build_head(spec: dict[str, Any]) -> te.Head:
    kwargs = dict(spec["kwargs"])
    if spec["class"] == "MultiHead":
        kwargs["heads"] = [build_head(h) for h in kwargs["heads"]]
    return getattr(te, spec["class"])(**kwargs)


def _value(x: Any) -> Any:
    """Golden nested lists to numpy (strings) or torch tensors (numbers)."""
    if isinstance(x, dict):
        return {k: _value(v) for k, v in x.items()}
    array = np.asarray(x)
    if array.dtype.kind in "US":
        return array.astype(object)
    return torch.from_numpy(array.astype(np.float32 if array.dtype.kind == "f" else np.int64))


def _batch(case: dict[str, Any], i: int) -> tuple[dict[str, Any], Any, Any]:
    batch = case["batches"][i]
    return _value(batch["features"]), _value(batch["logits"]), _value(batch["labels"])


def _np(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    array = np.asarray(x)
    if array.dtype == object:
        return np.vectorize(lambda v: v.decode() if isinstance(v, bytes) else v, otypes=[object])(array)
    return array


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_matches_tf(name):
    case = CASES[name]
    head = build_head(case["head"])
    for i, (train, evaluation) in enumerate(zip(case["loss"]["train"], case["loss"]["eval"])):
        features, logits, labels = _batch(case, i)
        reg = case["regularization_losses"]
        for mode, expected in ((te.ModeKeys.TRAIN, train), (te.ModeKeys.EVAL, evaluation)):
            loss = head.loss(labels, logits, features, mode, regularization_losses=reg)
            assert loss.shape == ()
            np.testing.assert_allclose(float(loss), expected, rtol=1e-5, atol=1e-6, err_msg=f"batch {i} {mode}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_predictions_match_tf(name):
    case = CASES[name]
    head = build_head(case["head"])
    for i, expected in enumerate(case["predictions"]):
        _, logits, _ = _batch(case, i)
        got = head.predictions(logits)
        got = {"/".join(k) if isinstance(k, tuple) else k: v for k, v in got.items()}
        assert sorted(got) == sorted(expected)
        for key, value in expected.items():
            actual = _np(got[key])
            if actual.dtype == object:
                assert actual.tolist() == value, key
            else:
                np.testing.assert_allclose(actual, np.asarray(value), rtol=1e-5, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("name", sorted(CASES))
def test_streaming_eval_metrics_match_tf(name):
    case = CASES[name]
    head = build_head(case["head"])
    reg = case["regularization_losses"]
    merged: dict[str, Metric] = {}
    for i in range(len(case["batches"])):
        features, logits, labels = _batch(case, i)
        batch_metrics = head.update_metrics(
            head.metrics(reg), features, logits, labels, te.ModeKeys.EVAL, regularization_losses=reg
        )
        if not merged:
            merged = batch_metrics
        else:
            for key, metric in batch_metrics.items():
                merged[key].merge_state(metric)
    expected = case["eval_metrics"]
    assert sorted(merged) == sorted(expected)
    for key, value in expected.items():
        tolerance = 1e-4 if _AUC_LIKE.search(key) else 1e-5
        np.testing.assert_allclose(float(merged[key].result()), value, rtol=tolerance, atol=tolerance, err_msg=key)


@pytest.mark.parametrize("name", sorted(CASES))
def test_export_outputs_match_tf(name):
    case = CASES[name]
    head = build_head(case["head"])
    features, logits, _ = _batch(case, 0)
    spec = head.create_estimator_spec(features, te.ModeKeys.PREDICT, logits)
    got = {k: {"type": type(v).__name__, "outputs": sorted(v.outputs())} for k, v in spec.export_outputs.items()}
    assert got == case["export_outputs"]


ERRORS = GOLDEN["errors"]


def _error_id(i: int) -> str:
    e = ERRORS[i]
    head = e["head"]["class"] if isinstance(e["head"], dict) else str(e["head"])
    return f"{i}-{head}-{e['call']}"


@pytest.mark.parametrize("index", range(len(ERRORS)), ids=_error_id)
def test_errors_match_tf(index):
    record = ERRORS[index]
    args = record.get("args") or {}
    if record["error_type"] == "AttributeError":  # TF fails on features=None; we treat it as no features
        head = build_head(record["head"])
        assert head.loss(_value(args["labels"]), _value(args["logits"]), None).shape == ()
        return
    if record["error_type"] not in ("ValueError", "TypeError"):  # TF's op error for string labels
        with pytest.raises(ValueError, match="labels must be numeric"):
            build_head(record["head"]).loss(
                _value(args["labels"]), _value(args["logits"]), _value(args.get("features") or {})
            )
        return
    message = record["message"]
    with pytest.raises((ValueError, TypeError)) as info:
        if record["call"] == "constructor":
            build_head(record["head"])
        else:
            head = build_head(record["head"])
            if record["call"] == "loss_reduction":
                _ = head.loss_reduction
            elif record["call"] == "predictions":
                head.predictions(_value(args["logits"]), args.get("keys"))
            else:
                features = None if args.get("features") is None else _value(args["features"])
                labels = None if args.get("labels") is None else _value(args["labels"])
                head.loss(labels, _value(args["logits"]), features if features is not None else {})
    text = str(info.value)
    if "0x..." in message or "Given: [[" in message:
        assert text.startswith(message.split(" 0x")[0].split("Given:")[0])
    else:
        assert text.startswith(message), text
