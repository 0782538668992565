"""Predictions and serving signatures: class names, the prediction formulas classifiers share,
and each head's export outputs."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import torch

from torch_estimator._core.export_output import ClassificationOutput, ExportOutput, PredictOutput
from torch_estimator._core.trace import lookup_strings
from torch_estimator.head._keys import PredictionKeys

__all__ = [
    "DEFAULT_SERVING_KEY",
    "CLASSIFY_SERVING_KEY",
    "REGRESS_SERVING_KEY",
    "PREDICT_SERVING_KEY",
    "Signatures",
    "class_names",
    "class_strings",
    "all_class_ids",
    "all_classes",
    "check_prediction_keys",
    "class_formulas",
    "serving_outputs",
    "classification_outputs",
]

DEFAULT_SERVING_KEY = "serving_default"
CLASSIFY_SERVING_KEY = "classification"
REGRESS_SERVING_KEY = "regression"
PREDICT_SERVING_KEY = "predict"

#: Serving signature name -> its outputs.
Signatures = dict[str, ExportOutput]


def class_names(n_classes: int, vocabulary: Sequence[str] | None) -> tuple[bytes, ...]:
    """The class names as bytes: the vocabulary, or ``b"0"``, ``b"1"``, ..."""
    return _class_names(n_classes, None if vocabulary is None else tuple(vocabulary))


@functools.lru_cache(maxsize=64)
def _class_names(n_classes: int, vocabulary: tuple[str, ...] | None) -> tuple[bytes, ...]:
    names = vocabulary if vocabulary is not None else [str(i) for i in range(n_classes)]
    return tuple(str(n).encode() for n in names)


def class_strings(class_ids: torch.Tensor, n_classes: int, vocabulary: Sequence[str] | None) -> Any:
    """Class names (bytes, as TensorFlow returns strings) for integer ``class_ids``."""
    return lookup_strings(class_ids, class_names(n_classes, vocabulary))


def all_class_ids(logits: torch.Tensor, n_classes: int) -> torch.Tensor:
    """``[0, 1, ..., n-1]`` (int32) per example."""
    return torch.arange(n_classes, dtype=torch.int32, device=logits.device).expand(*logits.shape[:-1], n_classes)


def all_classes(logits: torch.Tensor, n_classes: int, vocabulary: Sequence[str] | None) -> Any:
    """Every class name per example, ``[..., n_classes]`` bytes."""
    return lookup_strings(all_class_ids(logits, n_classes), class_names(n_classes, vocabulary))


def check_prediction_keys(keys: Sequence[str] | None, valid: Sequence[str]) -> tuple[str, ...]:
    """``keys`` (all ``valid`` keys when empty), each one of ``valid``."""
    if not keys:
        return tuple(valid)
    for key in keys:
        if key not in valid:
            raise ValueError(
                f"Prediction key must be in PredictionKeys, given: {key}.Valid prediction keys include {list(valid)}."
            )
    return tuple(keys)


def class_formulas(
    logits: torch.Tensor, class_ids: Callable[[], torch.Tensor], n_classes: int, vocabulary: Sequence[str] | None
) -> dict[str, Callable[[], Any]]:
    """The class predictions of a single-label classifier whose predicted ids are ``class_ids()``:
    ``class_ids``, ``classes`` (their names) and every class id and name per example."""
    predicted = functools.cache(class_ids)
    return {
        PredictionKeys.CLASS_IDS: predicted,
        PredictionKeys.CLASSES: lambda: class_strings(predicted(), n_classes, vocabulary),
        PredictionKeys.ALL_CLASS_IDS: lambda: all_class_ids(logits, n_classes),
        PredictionKeys.ALL_CLASSES: lambda: all_classes(logits, n_classes, vocabulary),
    }


def serving_outputs(predictions: dict[str, Any], outputs: Signatures) -> Signatures:
    """A single head's signatures: ``serving_default`` (the first of ``outputs``), ``outputs`` and
    ``predict`` (every prediction)."""
    default = next(iter(outputs.values()))
    return {DEFAULT_SERVING_KEY: default, **outputs, PREDICT_SERVING_KEY: PredictOutput(predictions)}


def classification_outputs(predictions: dict[str, Any], classes_key: str, more: Signatures | None = None) -> Signatures:
    """A classifier's signatures: ``classification`` (scores: the probabilities, classes:
    ``predictions[classes_key]``) as the default, then ``more`` and ``predict``."""
    classification = ClassificationOutput(
        scores=predictions[PredictionKeys.PROBABILITIES], classes=predictions[classes_key]
    )
    return serving_outputs(predictions, {CLASSIFY_SERVING_KEY: classification, **(more or {})})
