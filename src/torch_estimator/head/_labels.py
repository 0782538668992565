"""Logits and labels, checked and converted as TensorFlow's heads check them (with its messages)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from torch_estimator._core.batches import numeric_tensor
from torch_estimator._core.checks import as_array
from torch_estimator._core.dtypes import tf_dtype
from torch_estimator._core.vocabulary import VocabularyIndex

__all__ = [
    "LABEL_NONE_ERR_MSG",
    "shape_of",
    "logits_tensor",
    "check_logits_final_dim",
    "check_dense_labels_match_logits_and_reshape",
    "check_label_values",
    "check_label_range",
    "labels_as_tensor",
    "integer_labels",
    "vocabulary_ids",
    "validate_label_vocabulary",
]

LABEL_NONE_ERR_MSG = (
    "You must provide a labels Tensor. Given: None. Suggested troubleshooting steps: Check that your "
    "data contains your label feature. Check that your input_fn properly parses and returns labels."
)
_SPARSE_LABEL_ERR_MSG = (
    "SparseTensor labels are not supported. Labels must be a Tensor of shape [D0, D1, ..., DN, {0}], "
    "e.g. [batch_size, {0}].Suggested Fix (1): Check the label feature in your data. Each example must "
    "contain {0} value(s). If not, your choice of label was probably incorrect. Suggested Fix (2): In "
    "your input_fn, use tf.sparse_tensor_to_dense() to turn labels into a Tensor."
)
_MISMATCHED_LABEL_DIM_ERR_MSG = (
    "Mismatched label shape. Expected labels dimension={}.  Received {}. Suggested Fix: If your "
    "classifier expects one-hot encoding label, check your n_classes argument to the estimator and/or "
    "the shape of your label. Otherwise, check the shape of your label."
)
_LABEL_SHAPE_ERR_MSG = (
    "labels shape must be [D0, D1, ... DN, {}]. Suggested Fix: check your n_classes argument to the "
    "head and/or the shape of your label."
)


def shape_of(value: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in np.shape(value)) if not isinstance(value, torch.Tensor) else tuple(value.shape)


def logits_tensor(logits: Any) -> torch.Tensor:
    """``logits`` (a tensor, array or nested list of real numbers) as a tensor."""
    if not isinstance(logits, torch.Tensor):
        array = as_array(logits, "logits", "a float tensor of shape [D0, D1, ... DN, logits_dimension]")
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"logits must be a float tensor; got an array of dtype {array.dtype}, "
                f"e.g. {array.reshape(-1)[:3].tolist()}."
            )
        return numeric_tensor(array)
    if logits.dtype.is_complex:
        raise TypeError(f"logits must be a float tensor; got dtype {logits.dtype}.")
    return logits


def check_logits_final_dim(logits: Any, expected_logits_dimension: int) -> torch.Tensor:
    """``logits`` as a float32 tensor of rank >= 2 whose last dimension is as expected."""
    logits = logits_tensor(logits)
    shape = tuple(logits.shape)
    if len(shape) < 2:
        raise ValueError(f"logits must have rank at least 2.  Received rank {len(shape)}, shape {shape}")
    if shape[-1] != expected_logits_dimension:
        raise ValueError(f"logits shape must be [D0, D1, ... DN, logits_dimension], got {shape}.")
    return logits if logits.dtype == torch.float32 else logits.to(torch.float32)


def check_dense_labels_match_logits_and_reshape(
    labels: Any, logits: torch.Tensor, expected_labels_dimension: int
) -> Any:
    """Labels of shape ``[D0..DN, expected]`` (``[D0..DN]`` is expanded); numpy or tensor kept."""
    if labels is None:
        raise ValueError(LABEL_NONE_ERR_MSG)
    if isinstance(labels, torch.Tensor) and labels.is_sparse:
        raise ValueError(_SPARSE_LABEL_ERR_MSG.format(expected_labels_dimension))
    if not isinstance(labels, (torch.Tensor, np.ndarray)):
        labels = as_array(labels, "labels", f"a tensor of shape [D0, D1, ... DN, {expected_labels_dimension}]")
    labels_shape = shape_of(labels)
    logits_shape = tuple(logits.shape)
    if len(labels_shape) == len(logits_shape) - 1:
        labels = labels[..., None]
        labels_shape = labels_shape + (1,)
    if len(labels_shape) < 2:
        raise ValueError(f"labels must have rank at least 2.  Received rank {len(labels_shape)}, shape {labels_shape}")
    if labels_shape[-1] != expected_labels_dimension:
        raise ValueError(_MISMATCHED_LABEL_DIM_ERR_MSG.format(expected_labels_dimension, labels_shape[-1]))
    expected_shape = logits_shape[:-1] + (expected_labels_dimension,)
    if expected_shape != labels_shape:
        raise ValueError(
            f"{_LABEL_SHAPE_ERR_MSG.format(expected_labels_dimension)}, expected_labels_shape: "
            f"{expected_shape}. labels_shape: {labels_shape}."
        )
    return labels


def check_label_values(labels: torch.Tensor, low: float, high: float, too_high: str, too_low: str) -> torch.Tensor:
    """Raises a ValueError unless every label is in ``[low, high]`` (NaN never is): TensorFlow's
    ``too_high`` / ``too_low`` message, then the labels received. One vectorised pass (a
    device-side assert on GPU)."""
    if labels.numel() == 0:
        return labels
    in_range = (labels >= low) & (labels <= high)
    if labels.is_cuda:
        torch._assert_async(in_range.all(), f"{too_high} / {too_low}")
        return labels
    if bool(in_range.all()):
        return labels
    nan = torch.isnan(labels) if labels.is_floating_point() else torch.zeros_like(in_range)
    if bool(nan.any()):
        index = int(torch.nonzero(nan.reshape(-1))[0])
        raise ValueError(f"{too_high}; got NaN labels (the first at flat index {index}).")
    lowest, highest = labels.min().item(), labels.max().item()
    raise ValueError(f"{too_high if highest > high else too_low}; got labels in [{lowest:g}, {highest:g}].")


def check_label_range(labels: torch.Tensor, n_classes: int, message: str | None = None) -> torch.Tensor:
    """Raises unless every label is a class id in ``[0, n_classes - 1]``."""
    return check_label_values(
        labels, 0, n_classes - 1, message or f"Labels must be <= {n_classes} - 1", message or "Labels must be >= 0"
    )


def labels_as_tensor(labels: Any, device: torch.device, what: str = "labels") -> torch.Tensor:
    """Numeric labels as a tensor on ``device``; string labels without a vocabulary are rejected."""
    if isinstance(labels, torch.Tensor):
        return labels.to(device)
    array = as_array(labels, what, "a numeric tensor")
    if array.dtype.kind not in "biuf":
        raise ValueError(
            f"{what} must be numeric (or the head needs a label_vocabulary); got dtype {array.dtype}, "
            f"e.g. {array.reshape(-1)[:3].tolist()}."
        )
    return numeric_tensor(array).to(device)


def integer_labels(labels: Any, device: torch.device) -> torch.Tensor:
    """Integer class-id labels as an int64 tensor; other dtypes are rejected as TF rejects them."""
    if isinstance(labels, torch.Tensor):
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            raise ValueError(f"Labels dtype should be integer. Instead got {tf_dtype(labels.dtype)}.")
        return labels.to(device=device, dtype=torch.int64)
    array = np.asarray(labels)
    if array.dtype.kind not in "iu":
        raise ValueError(f"Labels dtype should be integer. Instead got {tf_dtype(array.dtype)}.")
    return torch.from_numpy(array.astype(np.int64, copy=False)).to(device)  # unsigned values wrap, as TensorFlow casts


def vocabulary_ids(labels: Any, vocabulary: Sequence[str], device: torch.device) -> torch.Tensor:
    """int64 ids of string ``labels`` in ``vocabulary`` (-1 for words not in it), vectorised."""
    if isinstance(labels, torch.Tensor):
        raise ValueError(
            f"Labels dtype should be string if there is a vocabulary. Instead got {tf_dtype(labels.dtype)}"
        )
    array = np.asarray(labels)
    if array.dtype.kind not in "USO":
        raise ValueError(f"Labels dtype should be string if there is a vocabulary. Instead got {tf_dtype(array.dtype)}")
    return torch.from_numpy(_label_index(tuple(vocabulary)).ids(array.astype(object))).to(device)


@functools.lru_cache(maxsize=64)
def _label_index(vocabulary: tuple[str, ...]) -> VocabularyIndex:
    return VocabularyIndex(vocabulary)


def validate_label_vocabulary(label_vocabulary: Any) -> tuple[str, ...] | None:
    if label_vocabulary is None:
        return None
    if not isinstance(label_vocabulary, (list, tuple)):
        raise ValueError(f"label_vocabulary should be a list or a tuple. Given type: {type(label_vocabulary)}")
    return tuple(label_vocabulary)
