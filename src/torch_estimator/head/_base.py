"""The Head interface and the mechanism every head shares.

A head turns logits (and labels) into predictions, a loss, eval metrics, export outputs and a
train op. ``BaseHead`` holds everything common: logit / label / weight checks with
TensorFlow's messages, loss reduction and regularization, metric-name suffixes, and the
``EstimatorSpec`` for each mode. A concrete head adds its label processing, unreduced loss,
predictions, metrics and export outputs.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from torch_estimator._core import optimizers, summary
from torch_estimator._core.batches import numeric_tensor
from torch_estimator._core.checks import as_array, text_key
from torch_estimator._core.export_output import ExportOutput
from torch_estimator._core.fn_args import fn_args
from torch_estimator._core.losses import compute_weighted_loss, validate_loss_reduction
from torch_estimator._core.metrics import BinaryAccuracy, Mean, Metric, Precision, Recall
from torch_estimator._core.mode_keys import ModeKeys
from torch_estimator._core.spec import EstimatorSpec
from torch_estimator._core.trace import lookup_strings
from torch_estimator._core.train_op import TrainOp
from torch_estimator._core.variables import current_store
from torch_estimator.head._keys import MetricKeys

__all__ = [
    "Head",
    "BaseHead",
    "DEFAULT_SERVING_KEY",
    "CLASSIFY_SERVING_KEY",
    "REGRESS_SERVING_KEY",
    "PREDICT_SERVING_KEY",
]

DEFAULT_SERVING_KEY = "serving_default"
CLASSIFY_SERVING_KEY = "classification"
REGRESS_SERVING_KEY = "regression"
PREDICT_SERVING_KEY = "predict"

_LABEL_NONE_ERR_MSG = (
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

Labels = Any
Features = Mapping[str, Any]


class Head(abc.ABC):
    """Interface of a model's top: from logits to predictions, loss, metrics and an EstimatorSpec.

    ``create_model_fn_ops`` is the older contrib interface: it also accepts ``logits_input``, from
    which the head builds its own logits layer ``<scope>/logits``.
    """

    _default_scope = "head"

    def create_model_fn_ops(
        self,
        features: Features,
        mode: str,
        labels: Labels = None,
        train_op_fn: Callable[[torch.Tensor], Any] | None = None,
        logits: Any = None,
        logits_input: Any = None,
        scope: str | None = None,
    ) -> Any:
        """A ``ModelFnOps`` for ``mode`` from ``logits`` or ``logits_input`` (exactly one).

        With ``logits_input`` the logits are a dense layer (no activation) created in
        ``scope`` (default: the head's name, else its family's scope, e.g. ``regression_head``).
        """
        from torch_estimator.head._contrib import create_model_fn_ops

        return create_model_fn_ops(
            self, self._default_scope, features, mode, labels, train_op_fn, logits, logits_input, scope
        )

    @property
    @abc.abstractmethod
    def name(self) -> str | None:
        """The head's name (suffixes its metric keys), or None."""

    @property
    @abc.abstractmethod
    def logits_dimension(self) -> int:
        """Size of the last dimension of the logits the head expects."""

    @property
    @abc.abstractmethod
    def loss_reduction(self) -> str:
        """How per-example losses are reduced (a ``te.losses.Reduction`` value)."""

    @abc.abstractmethod
    def loss(
        self,
        labels: Labels,
        logits: Any,
        features: Features | None = None,
        mode: str | None = None,
        regularization_losses: Sequence[Any] | None = None,
    ) -> torch.Tensor:
        """The regularized training loss (a scalar)."""

    @abc.abstractmethod
    def predictions(self, logits: Any, keys: Sequence[str] | None = None) -> dict[str, Any]:
        """Predictions computed from ``logits`` (all keys, or only ``keys``)."""

    @abc.abstractmethod
    def metrics(self, regularization_losses: Sequence[Any] | None = None) -> dict[str, Metric]:
        """Fresh metric objects keyed by their (suffixed) names."""

    @abc.abstractmethod
    def update_metrics(
        self,
        eval_metrics: dict[str, Metric],
        features: Features,
        logits: Any,
        labels: Labels,
        mode: str | None = None,
        regularization_losses: Sequence[Any] | None = None,
    ) -> dict[str, Metric]:
        """Updates ``eval_metrics`` with one batch and returns them."""

    @abc.abstractmethod
    def create_estimator_spec(
        self,
        features: Features,
        mode: str,
        logits: Any,
        labels: Labels = None,
        optimizer: Any = None,
        trainable_variables: Sequence[torch.Tensor] | None = None,
        train_op_fn: Callable[[torch.Tensor], Any] | None = None,
        update_ops: Sequence[Callable[[], Any]] | None = None,
        regularization_losses: Sequence[Any] | None = None,
    ) -> EstimatorSpec:
        """The ``EstimatorSpec`` for ``mode``."""


# -- checks shared by heads ---------------------------------------------------------------------


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
        raise ValueError(_LABEL_NONE_ERR_MSG)
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


def tf_dtype_name(dtype: Any) -> str:
    """A dtype written as TensorFlow prints it, e.g. ``<dtype: 'float32'>``."""
    name = str(dtype).replace("torch.", "")
    if isinstance(dtype, np.dtype) and dtype.kind in "USO":
        name = "string"
    return f"<dtype: '{name}'>"


def integer_labels(labels: Any, device: torch.device) -> torch.Tensor:
    """Integer class-id labels as an int64 tensor; other dtypes are rejected as TF rejects them."""
    if isinstance(labels, torch.Tensor):
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            raise ValueError(f"Labels dtype should be integer. Instead got {tf_dtype_name(labels.dtype)}.")
        return labels.to(device=device, dtype=torch.int64)
    array = np.asarray(labels)
    if array.dtype.kind not in "iu":
        raise ValueError(f"Labels dtype should be integer. Instead got {tf_dtype_name(array.dtype)}.")
    return torch.from_numpy(array.astype(np.int64, copy=False)).to(device)  # unsigned values wrap, as TensorFlow casts


def vocabulary_ids(labels: Any, vocabulary: Sequence[str], device: torch.device) -> torch.Tensor:
    """int64 ids of string ``labels`` in ``vocabulary`` (-1 for words not in it), vectorised."""
    if isinstance(labels, torch.Tensor):
        raise ValueError(
            f"Labels dtype should be string if there is a vocabulary. Instead got {tf_dtype_name(labels.dtype)}"
        )
    array = np.asarray(labels)
    if array.dtype.kind not in "USO":
        raise ValueError(
            f"Labels dtype should be string if there is a vocabulary. Instead got {tf_dtype_name(array.dtype)}"
        )
    inverse, uniques = pd.factorize(array.astype(object).reshape(-1), use_na_sentinel=False)
    index = {w: i for i, w in enumerate(vocabulary)}
    ids = np.array([index.get(text_key(u), -1) for u in uniques], dtype=np.int64)
    return torch.from_numpy(ids[inverse].reshape(array.shape)).to(device)


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


def validate_label_vocabulary(label_vocabulary: Any) -> tuple[str, ...] | None:
    if label_vocabulary is None:
        return None
    if not isinstance(label_vocabulary, (list, tuple)):
        raise ValueError(f"label_vocabulary should be a list or a tuple. Given type: {type(label_vocabulary)}")
    return tuple(label_vocabulary)


def validate_loss_fn_args(loss_fn: Callable[..., Any]) -> None:
    args = fn_args(loss_fn)
    for required in ("labels", "logits"):
        if required not in args:
            raise ValueError(f"loss_fn must contain argument: {required}. Given arguments: {args}")
    invalid = sorted(set(args) - {"labels", "logits", "features", "loss_reduction"})
    if invalid:
        raise ValueError(f"loss_fn has unexpected args: {invalid}")


def call_loss_fn(
    loss_fn: Callable[..., Any], labels: Any, logits: torch.Tensor, features: Features, expected_loss_dim: int
) -> torch.Tensor:
    kwargs = {"features": features} if "features" in fn_args(loss_fn) else {}
    loss = loss_fn(labels=labels, logits=logits, **kwargs)
    expected = tuple(logits.shape[:-1]) + (expected_loss_dim,)
    if not isinstance(loss, torch.Tensor) or tuple(loss.shape) != expected:
        raise ValueError(
            f"loss_fn must return Tensor of shape [D0, D1, ... DN, {expected_loss_dim}]. "
            f"logits_shape: {tuple(logits.shape)} loss_shape: {shape_of(loss)}"
        )
    return loss


def weight_column_key(weight_column: Any) -> str | None:
    """The feature key of ``weight_column`` (a name or a numeric column), checked."""
    if weight_column is None or isinstance(weight_column, str):
        return weight_column
    if getattr(weight_column, "_is_numeric_column", False):
        return weight_column.key
    raise TypeError(f"Weight column must be either a string or _NumericColumn. Given type: {type(weight_column)}.")


def get_weights_and_check_match_logits(
    features: Features, weight_column: Any, logits: torch.Tensor, allow_per_logit_weights: bool = False
) -> torch.Tensor | float:
    """Example weights from ``features`` shaped to broadcast against the loss; 1.0 without a column."""
    if weight_column is None:
        return 1.0
    key = weight_column_key(weight_column)
    if features is None or key not in features:
        available = sorted(features) if features is not None else []
        raise ValueError(f"Feature {key} is not in features dictionary. Features given: {available}.")
    value = features[key]
    normalizer = getattr(weight_column, "normalizer_fn", None)
    if not isinstance(value, torch.Tensor):
        array = as_array(
            value, f"Weight feature {key!r}", "a numeric tensor of shape [D0, D1, ... DN] or [D0, D1, ... DN, 1]"
        )
        if array.dtype.kind not in "biuf":
            raise ValueError(f"Weight column should be castable to float. Given dtype: {array.dtype}")
        value = numeric_tensor(array)
    elif value.dtype.is_complex or value.dtype == torch.bool:
        raise ValueError(f"Weight column should be castable to float. Given dtype: {value.dtype}")
    if normalizer is not None:
        value = normalizer(value)
    weights = value.to(device=logits.device, dtype=torch.float32)
    if allow_per_logit_weights:
        err = "weights shape must be [D0, D1, ... DN], [D0, D1, ... DN, 1] or [D0, D1, ... DN, logits_dimension]"
    else:
        err = "weights shape must be [D0, D1, ... DN] or [D0, D1, ... DN, 1]"
    logits_shape = tuple(logits.shape)
    supported = [logits_shape[:-1], logits_shape[:-1] + (1,)] + ([logits_shape] if allow_per_logit_weights else [])
    weights_shape = tuple(weights.shape)
    if weights_shape not in supported:
        raise ValueError(f"{err}, logits_shape: {logits_shape}. weights_shape: {weights_shape}.")
    if weights.dim() == logits.dim() - 1:
        weights = weights.unsqueeze(-1)
    return weights


def validate_update_ops(update_ops: Any) -> None:
    if update_ops is not None and not isinstance(update_ops, (list, tuple)):
        raise ValueError(f"update_ops should be a list or a tuple. Given type: {type(update_ops)}.")


def validate_trainable_variables(trainable_variables: Any) -> None:
    if trainable_variables is not None and not isinstance(trainable_variables, (list, tuple)):
        raise ValueError(f"trainable_variables should be a list or a tuple. Given type: {type(trainable_variables)}.")


def sum_regularization(regularization_losses: Sequence[Any] | None, device: torch.device) -> torch.Tensor | None:
    if regularization_losses is None:
        return None
    if not regularization_losses:
        return torch.zeros((), device=device)
    return torch.stack(
        [torch.as_tensor(r, dtype=torch.float32, device=device).reshape(()) for r in regularization_losses]
    ).sum()


def create_estimator_spec_train_op(
    loss: torch.Tensor,
    optimizer: Any = None,
    trainable_variables: Sequence[torch.Tensor] | None = None,
    train_op_fn: Callable[[torch.Tensor], Any] | None = None,
    update_ops: Sequence[Callable[[], Any]] | None = None,
) -> Callable[[], Any]:
    """The train op: ``optimizer`` over ``trainable_variables`` (default: all), or ``train_op_fn(loss)``."""
    validate_update_ops(update_ops)
    if optimizer is not None:
        if train_op_fn is not None:
            raise ValueError("train_op_fn and optimizer cannot both be set.")
        validate_trainable_variables(trainable_variables)
        if not isinstance(optimizer, (optimizers.Optimizer, str)) and not callable(optimizer):
            raise ValueError(f"The given optimizer is not a torch_estimator optimizer. Given: {optimizer}")
        return TrainOp(loss, [(optimizers.get(optimizer), trainable_variables)], update_ops or ())
    if train_op_fn is None:
        raise ValueError("train_op_fn and optimizer cannot both be None.")
    train_op = train_op_fn(loss)
    if not update_ops:
        return train_op

    def grouped() -> None:
        train_op()
        for op in update_ops:
            op()

    return grouped


class BaseHead(Head):
    """The mechanism shared by the single heads (everything but ``MultiHead``).

    Subclasses implement ``_processed_labels``, ``_default_loss``, ``predictions``,
    ``_create_metrics``, ``_update_own_metrics`` and ``_export_outputs``; ``_loss_dim`` is the
    last dimension of the unreduced loss.
    """

    _loss_dim = 1
    _allow_per_logit_weights = False
    #: Prediction keys computed in TRAIN and EVAL specs (the string-valued ones are left to PREDICT).
    _tensor_prediction_keys: tuple[str, ...] | None = None

    def __init__(
        self, weight_column: Any, loss_reduction: str, loss_fn: Callable[..., Any] | None, name: str | None
    ) -> None:
        weight_column_key(weight_column)
        validate_loss_reduction(loss_reduction)
        if loss_fn is not None:
            validate_loss_fn_args(loss_fn)
        self._weight_column = weight_column
        self._loss_reduction = loss_reduction
        self._loss_fn = loss_fn
        self._name = name

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def loss_reduction(self) -> str:
        return self._loss_reduction

    def _summary_key(self, key: str) -> str:
        return f"{key}/{self._name}" if self._name else key

    # -- to be defined by subclasses -------------------------------------------------------
    def _processed_labels(self, logits: torch.Tensor, labels: Labels) -> torch.Tensor:
        raise NotImplementedError

    def _default_loss(self, labels: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _create_metrics(self) -> dict[str, Metric]:
        raise NotImplementedError

    def _update_own_metrics(
        self,
        eval_metrics: dict[str, Metric],
        logits: torch.Tensor,
        labels: torch.Tensor,
        raw_labels: Labels,
        weights: torch.Tensor | float,
        unweighted_loss: torch.Tensor,
    ) -> None:
        raise NotImplementedError

    def _export_outputs(self, predictions: dict[str, Any]) -> dict[str, ExportOutput]:
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------
    def _threshold_metrics(self, thresholds: Sequence[float]) -> dict[str, Metric]:
        """accuracy / precision / recall at each threshold, keyed ``<metric>/positive_threshold_<t>``."""
        k = MetricKeys
        metrics: dict[str, Metric] = {}
        for t in thresholds:
            metrics[self._summary_key(k.ACCURACY_AT_THRESHOLD % t)] = BinaryAccuracy(
                name=k.ACCURACY_AT_THRESHOLD % t, threshold=t
            )
            metrics[self._summary_key(k.PRECISION_AT_THRESHOLD % t)] = Precision(
                name=k.PRECISION_AT_THRESHOLD % t, thresholds=t
            )
            metrics[self._summary_key(k.RECALL_AT_THRESHOLD % t)] = Recall(name=k.RECALL_AT_THRESHOLD % t, thresholds=t)
        return metrics

    def _update_threshold_metrics(
        self,
        eval_metrics: dict[str, Metric],
        thresholds: Sequence[float],
        labels: torch.Tensor,
        probabilities: torch.Tensor,
        weights: torch.Tensor | None,
    ) -> None:
        for t in thresholds:
            for key in (
                MetricKeys.ACCURACY_AT_THRESHOLD,
                MetricKeys.PRECISION_AT_THRESHOLD,
                MetricKeys.RECALL_AT_THRESHOLD,
            ):
                eval_metrics[self._summary_key(key % t)].update_state(labels, probabilities, weights)

    def _unweighted_loss_and_weights(
        self, logits: torch.Tensor, labels: torch.Tensor, features: Features
    ) -> tuple[torch.Tensor, torch.Tensor | float]:
        if self._loss_fn is not None:
            unweighted = call_loss_fn(self._loss_fn, labels, logits, features, self._loss_dim)
        else:
            unweighted = self._default_loss(labels, logits)
        weights = get_weights_and_check_match_logits(
            features, self._weight_column, logits, self._allow_per_logit_weights
        )
        return unweighted, weights

    def loss(
        self,
        labels: Labels,
        logits: Any,
        features: Features | None = None,
        mode: str | None = None,
        regularization_losses: Sequence[Any] | None = None,
    ) -> torch.Tensor:
        """The training loss: the reduced weighted loss plus the sum of ``regularization_losses``."""
        del mode
        logits = check_logits_final_dim(logits, self.logits_dimension)
        processed = self._processed_labels(logits, labels)
        unweighted, weights = self._unweighted_loss_and_weights(logits, processed, features or {})
        training_loss = compute_weighted_loss(unweighted, weights, self._loss_reduction)
        regularization = sum_regularization(regularization_losses, logits.device)
        return training_loss + regularization if regularization is not None else training_loss

    def metrics(self, regularization_losses: Sequence[Any] | None = None) -> dict[str, Metric]:
        eval_metrics = {self._summary_key(MetricKeys.LOSS_MEAN): Mean(name=MetricKeys.LOSS_MEAN)}
        eval_metrics.update(self._create_metrics())
        if regularization_losses is not None:
            eval_metrics[self._summary_key(MetricKeys.LOSS_REGULARIZATION)] = Mean(name=MetricKeys.LOSS_REGULARIZATION)
        return eval_metrics

    def update_metrics(
        self,
        eval_metrics: dict[str, Metric],
        features: Features,
        logits: Any,
        labels: Labels,
        mode: str | None = None,
        regularization_losses: Sequence[Any] | None = None,
    ) -> dict[str, Metric]:
        logits = check_logits_final_dim(logits, self.logits_dimension)
        processed = self._processed_labels(logits, labels)
        unweighted, weights = self._unweighted_loss_and_weights(logits, processed, features or {})
        with torch.no_grad():
            eval_metrics[self._summary_key(MetricKeys.LOSS_MEAN)].update_state(
                unweighted, weights if isinstance(weights, torch.Tensor) else None
            )
            self._update_own_metrics(eval_metrics, logits.detach(), processed, labels, weights, unweighted.detach())
            if regularization_losses is not None:
                eval_metrics[self._summary_key(MetricKeys.LOSS_REGULARIZATION)].update_state(
                    sum_regularization(regularization_losses, logits.device)
                )
        return eval_metrics

    def create_estimator_spec(
        self,
        features: Features,
        mode: str,
        logits: Any,
        labels: Labels = None,
        optimizer: Any = None,
        trainable_variables: Sequence[torch.Tensor] | None = None,
        train_op_fn: Callable[[torch.Tensor], Any] | None = None,
        update_ops: Sequence[Callable[[], Any]] | None = None,
        regularization_losses: Sequence[Any] | None = None,
    ) -> EstimatorSpec:
        """PREDICT: predictions and export outputs; EVAL: loss and metrics; TRAIN: loss and train op.

        ``optimizer`` is anything ``te.optimizers.get`` resolves (used over
        ``trainable_variables``, default all trainable variables of the model); otherwise
        ``train_op_fn(loss)`` builds the train op. TRAIN also records the ``loss`` summary.
        """
        logits = check_logits_final_dim(logits, self.logits_dimension)
        if mode == ModeKeys.PREDICT:
            predictions = self.predictions(logits)
            return EstimatorSpec(mode, predictions=predictions, export_outputs=self._export_outputs(predictions))
        predictions = self.predictions(logits, self._tensor_prediction_keys)
        loss = self.loss(labels, logits, features, mode, regularization_losses)
        if mode == ModeKeys.EVAL:
            eval_metrics = self.update_metrics(
                self.metrics(regularization_losses), features, logits, labels, mode, regularization_losses
            )
            return EstimatorSpec(mode, predictions=predictions, loss=loss, eval_metric_ops=eval_metrics)
        if mode != ModeKeys.TRAIN:
            raise ValueError(f"mode={mode} unrecognized.")
        train_op = create_estimator_spec_train_op(loss, optimizer, trainable_variables, train_op_fn, update_ops)
        record_loss_summaries(loss, regularization_losses, self._summary_key)
        return EstimatorSpec(mode, predictions=predictions, loss=loss, train_op=train_op)


def record_loss_summaries(
    loss: torch.Tensor, regularization_losses: Sequence[Any] | None, summary_key: Callable[[str], str]
) -> None:
    """Records ``loss[/name]`` (and ``regularization_loss[/name]``) when a model_fn is running."""
    try:
        current_store()
    except RuntimeError:
        return
    summary.scalar(summary_key(MetricKeys.LOSS), loss)
    if regularization_losses is not None:
        summary.scalar(
            summary_key(MetricKeys.LOSS_REGULARIZATION), sum_regularization(regularization_losses, loss.device)
        )
