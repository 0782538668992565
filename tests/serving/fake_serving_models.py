"""In-memory models with the loader interface of ``torch_estimator.export.load``, for the serving tests.

``load(path)`` reads ``path/fake_model.json`` ({"kind": "classifier" | "raw", "bias": float}) and
builds the signatures an exported model has. Importable as ``fake_serving_models:load`` by the
``torch-estimator serve --loader`` test.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from torch_estimator.export._signature import (
    CLASSIFY_METHOD_NAME,
    PREDICT_METHOD_NAME,
    REGRESS_METHOD_NAME,
    Signature,
    TensorInfo,
)
from torch_estimator.export.tfexample import decode_example

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's notice that its TestClient will move off httpx
    from fastapi.testclient import TestClient

__all__ = ["TestClient", "FakeModel", "write_version", "load"]

CONFIG = "fake_model.json"


class FakeModel:
    def __init__(self, signatures: Mapping[str, Signature]) -> None:
        self.signatures = dict(signatures)
        self.calls: list[int] = []  # rows per run call, over all signatures


def write_version(base: str, version: int, kind: str = "classifier", bias: float = 0.0, **extra: Any) -> str:
    """Writes a version directory the fake loader reads; returns its path."""
    path = os.path.join(base, str(version))
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, CONFIG), "w") as f:
        json.dump({"kind": kind, "bias": bias, **extra}, f)
    return path


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


def _example_logits(serialized: np.ndarray, bias: float) -> np.ndarray:
    """logit = 0.1 * (age - 40) + [education == Bachelors] + bias, per serialized example."""
    logits = []
    for item in serialized.tolist():
        features = decode_example(item)
        if "age" not in features:
            raise ValueError("Feature: age (data type: float) is required but could not be found.")
        age = float(features["age"][1][0])
        education = features.get("education", ("bytes", [b""]))[1][0]
        logits.append(0.1 * (age - 40.0) + (education == b"Bachelors") + bias)
    return np.asarray(logits, dtype=np.float32)


def _classifier(bias: float, model: FakeModel) -> dict[str, Signature]:
    examples = {"inputs": TensorInfo("DT_STRING", (-1,), "input_example_tensor:0")}

    def classify(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        model.calls.append(len(inputs["inputs"]))
        p = _sigmoid(_example_logits(inputs["inputs"], bias))
        n = len(p)
        return {
            "classes": np.tile(np.array([b"0", b"1"], dtype=object), (n, 1)),
            "scores": np.stack([1 - p, p], axis=1),
        }

    def regress(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        model.calls.append(len(inputs["inputs"]))
        return {"outputs": _sigmoid(_example_logits(inputs["inputs"], bias))[:, None]}

    def predict(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        model.calls.append(len(inputs["examples"]))
        logits = _example_logits(inputs["examples"], bias)[:, None]
        p = _sigmoid(logits)
        class_ids = (p > 0.5).astype(np.int64)
        n = len(p)
        return {
            "logits": logits,
            "logistic": p,
            "probabilities": np.concatenate([1 - p, p], axis=1),
            "class_ids": class_ids,
            "classes": np.array([[str(c).encode()] for c in class_ids[:, 0]], dtype=object).reshape(n, 1),
            "all_class_ids": np.tile(np.array([0, 1], dtype=np.int32), (n, 1)),
            "all_classes": np.tile(np.array([b"0", b"1"], dtype=object), (n, 1)),
        }

    classification_outputs = {"classes": TensorInfo("DT_STRING", (-1, 2)), "scores": TensorInfo("DT_FLOAT", (-1, 2))}
    classification = Signature("classification", CLASSIFY_METHOD_NAME, examples, classification_outputs, classify)
    return {
        "serving_default": Signature(
            "serving_default", CLASSIFY_METHOD_NAME, examples, classification_outputs, classify
        ),
        "classification": classification,
        "regression": Signature(
            "regression", REGRESS_METHOD_NAME, examples, {"outputs": TensorInfo("DT_FLOAT", (-1, 1))}, regress
        ),
        "predict": Signature(
            "predict",
            PREDICT_METHOD_NAME,
            {"examples": TensorInfo("DT_STRING", (-1,))},
            {
                "logits": TensorInfo("DT_FLOAT", (-1, 1)),
                "logistic": TensorInfo("DT_FLOAT", (-1, 1)),
                "probabilities": TensorInfo("DT_FLOAT", (-1, 2)),
                "class_ids": TensorInfo("DT_INT64", (-1, 1)),
                "classes": TensorInfo("DT_STRING", (-1, 1)),
                "all_class_ids": TensorInfo("DT_INT32", (-1, 2)),
                "all_classes": TensorInfo("DT_STRING", (-1, 2)),
            },
            predict,
        ),
    }


def _raw(bias: float, model: FakeModel) -> dict[str, Signature]:
    """Named raw-feature inputs (as a raw serving input receiver exports), plus single-tensor signatures."""

    def predict(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        model.calls.append(len(inputs["age"]))
        education = inputs["education"]
        logits = (0.1 * (inputs["age"] - 40.0) + (education == b"Bachelors") + 0.01 * inputs["hours"] + bias).astype(
            np.float32
        )[:, None]
        p = _sigmoid(logits)
        return {
            "logits": logits,
            "probabilities": np.concatenate([1 - p, p], axis=1),
            "classes": np.where(p > 0.5, b"yes", b"no").astype(object),
            "education_bytes": education.copy(),
        }

    def total(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        model.calls.append(len(inputs["x"]))
        return {"y": inputs["x"].sum(axis=1).astype(np.float32) + np.float32(bias)}

    def length(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"length": np.array([len(b) for b in inputs["image_bytes"].tolist()], dtype=np.int64)}

    def fails(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise RuntimeError("the model is broken")

    def rejects(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise ValueError("x must be positive for this model; got -1.0")

    def flags(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"negated": ~inputs["flag"], "count": np.int32(len(inputs["flag"])) + inputs["n"] * 0}

    raw_inputs = {
        "age": TensorInfo("DT_FLOAT", (-1,)),
        "education": TensorInfo("DT_STRING", (-1,)),
        "hours": TensorInfo("DT_INT64", (-1,)),
    }
    x = {"x": TensorInfo("DT_FLOAT", (-1, 3))}
    y = {"y": TensorInfo("DT_FLOAT", (-1,))}
    return {
        "serving_default": Signature(
            "serving_default",
            PREDICT_METHOD_NAME,
            raw_inputs,
            {
                "logits": TensorInfo("DT_FLOAT", (-1, 1)),
                "probabilities": TensorInfo("DT_FLOAT", (-1, 2)),
                "classes": TensorInfo("DT_STRING", (-1, 1)),
                "education_bytes": TensorInfo("DT_STRING", (-1,)),
            },
            predict,
        ),
        "sum": Signature("sum", PREDICT_METHOD_NAME, x, y, total),
        "length": Signature(
            "length",
            PREDICT_METHOD_NAME,
            {"image_bytes": TensorInfo("DT_STRING", (-1,))},
            {"length": TensorInfo("DT_INT64", (-1,))},
            length,
        ),
        "fails": Signature("fails", PREDICT_METHOD_NAME, x, y, fails),
        "rejects": Signature("rejects", PREDICT_METHOD_NAME, x, y, rejects),
        "flags": Signature(
            "flags",
            PREDICT_METHOD_NAME,
            {"flag": TensorInfo("DT_BOOL", (-1,)), "n": TensorInfo("DT_INT32", (-1,))},
            {"negated": TensorInfo("DT_BOOL", (-1,)), "count": TensorInfo("DT_INT32", (-1,))},
            flags,
        ),
    }


def load(path: str) -> FakeModel:
    """The loader: a FakeModel from ``path/fake_model.json``; a ValueError for a broken version."""
    with open(os.path.join(path, CONFIG)) as f:
        config = json.load(f)
    if config.get("broken"):
        raise ValueError(f"{path} is not a loadable export: {config['broken']}")
    model = FakeModel({})
    build = {"classifier": _classifier, "raw": _raw}[config["kind"]]
    model.signatures = build(float(config.get("bias", 0.0)), model)
    return model
