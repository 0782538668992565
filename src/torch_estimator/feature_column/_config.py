"""Feature columns as JSON-ready data (for export) and back.

A configuration holds what a column's host transform needs: keys, vocabularies, bucket counts,
boundaries, combiners. Initializers and checkpoint sources are dropped (the variables are
exported with the model). A ``normalizer_fn`` runs in the tensor half of a column used directly by
a layer, so it is traced with the model; under a bucketized column it is part of the host
transform and cannot be exported.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from torch_estimator._core.trace import NotExportableError
from torch_estimator.feature_column._base import FeatureColumn
from torch_estimator.feature_column._categorical import (
    HashedColumn,
    IdentityColumn,
    VocabularyColumn,
    WeightedCategoricalColumn,
)
from torch_estimator.feature_column._crossed import CrossedColumn
from torch_estimator.feature_column._embedding import EmbeddingColumn, IndicatorColumn, SharedEmbeddingColumn
from torch_estimator.feature_column._numeric import BucketizedColumn, NumericColumn

__all__ = ["column_to_config", "column_from_config"]

#: The exportable column classes (dataclasses) by name.
_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        NumericColumn,
        BucketizedColumn,
        VocabularyColumn,
        HashedColumn,
        IdentityColumn,
        WeightedCategoricalColumn,
        CrossedColumn,
        IndicatorColumn,
        EmbeddingColumn,
        SharedEmbeddingColumn,
    )
}
_DROPPED = {"initializer", "ckpt_to_load_from", "tensor_name_in_ckpt"}
TRACED = "traced"


def _traced_normalizer(value: torch.Tensor) -> torch.Tensor:
    """Stands for an exported normalizer_fn: the real one is part of the tensor program."""
    raise RuntimeError("An exported normalizer_fn runs inside the exported program, not on the host.")


def column_to_config(column: FeatureColumn, nested: bool = False) -> dict[str, Any]:
    """``column`` as nested dicts, lists and scalars (``{"type": <class>, <field>: ...}``)."""
    kind = type(column).__name__
    if _TYPES.get(kind) is not type(column):
        raise NotExportableError(f"Feature column {column!r} of type {kind} cannot be exported.")
    config: dict[str, Any] = {"type": kind}
    for field in dataclasses.fields(_TYPES[kind]):
        value = getattr(column, field.name)
        if field.name in _DROPPED:
            value = None
        elif field.name == "normalizer_fn" and value is not None:
            if nested:
                raise NotExportableError(
                    f"{column.name!r} has a normalizer_fn and feeds another column (e.g. bucketized_column): the "
                    "normalizer would have to run in the host transform, which is exported as data. Normalize the "
                    "feature in the input_fn / serving_input_receiver_fn instead, or use the numeric column directly."
                )
            value = TRACED
        config[field.name] = _to_data(value, column)
    return config


def _to_data(value: Any, owner: FeatureColumn) -> Any:
    if isinstance(value, FeatureColumn):
        return column_to_config(value, nested=True)
    if isinstance(value, (tuple, list)):
        return [_to_data(v, owner) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    raise NotExportableError(
        f"Feature column {owner.name!r} holds {value!r} ({type(value).__name__}), which cannot be exported as data."
    )


def column_from_config(config: dict[str, Any]) -> FeatureColumn:
    """The column ``column_to_config`` described (only the column types of this package)."""
    kind = config.get("type")
    cls = _TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(
            f"Unknown feature column type {kind!r} in exported configuration; expected one of {sorted(_TYPES)}."
        )
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name not in config:
            continue
        value = _from_data(config[field.name])
        if field.name == "normalizer_fn" and value is not None:
            value = _traced_normalizer
        kwargs[field.name] = value
    return cls(**kwargs)


def _from_data(value: Any) -> Any:
    if isinstance(value, dict):
        return column_from_config(value)
    if isinstance(value, list):
        return tuple(_from_data(v) for v in value)
    return value
