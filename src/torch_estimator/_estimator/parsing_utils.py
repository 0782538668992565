"""``classifier_parse_example_spec`` and ``regressor_parse_example_spec``: the parsing spec of a
model's feature columns plus its label (and weight) features, for ``tf.Example`` input."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch_estimator._core.parse_spec import FixedLenFeature
from torch_estimator.feature_column._base import FeatureColumn, make_parse_example_spec
from torch_estimator.feature_column._numeric import NumericColumn, numeric_column

__all__ = ["classifier_parse_example_spec", "regressor_parse_example_spec"]


def _with_label(
    feature_columns: Iterable[FeatureColumn],
    label_key: str,
    label_spec: FixedLenFeature,
    weight_column: str | NumericColumn | None,
) -> dict[str, Any]:
    spec = make_parse_example_spec(feature_columns)
    if label_key in spec:
        raise ValueError(f"label should not be used as feature. label_key: {label_key}, features: {spec.keys()}")
    spec[label_key] = label_spec
    if weight_column is not None:
        if isinstance(weight_column, str):
            weight_column = numeric_column(weight_column)
        if not isinstance(weight_column, NumericColumn):
            raise ValueError(
                "weight_column should be an instance of tf.feature_column.numeric_column. "
                f"Given type: {type(weight_column)} value: {weight_column}"
            )
        if weight_column.key in spec:
            raise ValueError(
                f"weight_column should not be used as feature. weight_column: {weight_column.key}, "
                f"features: {spec.keys()}"
            )
        spec.update(weight_column.parse_example_spec)
    return spec


def classifier_parse_example_spec(
    feature_columns: Iterable[FeatureColumn],
    label_key: str,
    label_dtype: Any = "int64",
    label_default: Any = None,
    weight_column: str | NumericColumn | None = None,
) -> dict[str, Any]:
    """The columns' parsing spec with the label ``FixedLenFeature((1,), label_dtype,
    label_default)`` and the weight column's feature (a key or a ``numeric_column``)."""
    return _with_label(feature_columns, label_key, FixedLenFeature((1,), label_dtype, label_default), weight_column)


def regressor_parse_example_spec(
    feature_columns: Iterable[FeatureColumn],
    label_key: str,
    label_dtype: Any = "float32",
    label_default: Any = None,
    label_dimension: int = 1,
    weight_column: str | NumericColumn | None = None,
) -> dict[str, Any]:
    """As ``classifier_parse_example_spec``, the label ``FixedLenFeature((label_dimension,), ...)``."""
    label = FixedLenFeature((label_dimension,), label_dtype, label_default)
    return _with_label(feature_columns, label_key, label, weight_column)
