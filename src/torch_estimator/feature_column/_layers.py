"""The dense input layer (``DenseFeatures`` / ``input_layer``) and the linear model
(``LinearModel`` / ``linear_model``), built on ``EmbeddingBag``."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from .._variables import current_store, get_variable, variable_scope
from ._columns import (
    SPARSE_GRADIENT_MIN_ROWS,
    BucketizedColumn,
    CategoricalColumn,
    DenseColumn,
    FeatureColumn,
    IndicatorColumn,
    NumericColumn,
    Transformer,
    _prune,
    bag_inputs,
    combine_bag,
    sanitized_name,
    weighted_bag_sum,
)

__all__ = ["DenseFeatures", "input_layer", "LinearModel", "linear_model", "transform_features"]


def _normalize(feature_columns: Any, allowed: tuple[type, ...], what: str) -> list[FeatureColumn]:
    if isinstance(feature_columns, FeatureColumn):
        feature_columns = [feature_columns]
    columns = list(feature_columns or [])
    if not columns:
        raise ValueError("feature_columns must not be empty.")
    for column in columns:
        if not isinstance(column, allowed):
            raise ValueError(what.format(column))
    by_name: dict[str, FeatureColumn] = {}
    for column in columns:
        if column.name in by_name:
            raise ValueError(
                f"Duplicate feature column name found for columns: {by_name[column.name]} and {column}. This usually means that "
                "these columns refer to same base feature. Either one must be discarded or a duplicated but renamed item must be "
                "inserted in features dict."
            )
        by_name[column.name] = column
    return sorted(columns, key=lambda c: c.name)


def transformer_for(features: Any) -> Transformer:
    """The batch's ``Transformer``: one per features dict within a model_fn call, so columns used
    by several layers (a bucketized column in the DNN and the linear model) transform once."""
    if isinstance(features, Transformer):
        return features
    try:
        cache = current_store().call_cache
    except RuntimeError:
        return Transformer(features)
    entry = cache.get(("transformer", id(features)))
    if entry is None or entry.features is not features:
        entry = cache[("transformer", id(features))] = Transformer(features)
    return entry


def transform_features(features: dict[str, Any], feature_columns: Sequence[FeatureColumn]) -> Transformer:
    """Runs the host transforms of ``feature_columns`` over a batch (e.g. ahead of the model)."""
    transformer = features if isinstance(features, Transformer) else Transformer(features)
    for column in feature_columns:
        transformer.get(column)
    return transformer


def _feature_keys(columns: Sequence[FeatureColumn]) -> list[str]:
    return sorted({k for c in columns for k in c.parse_example_spec})


def _check_batch_sizes(transformer: Transformer, feature_keys: Sequence[str]) -> None:
    from ._values import batch_size_of

    keys = [k for k in feature_keys if k in transformer.features]
    sizes = [batch_size_of(transformer.features[k]) for k in keys]
    if len(set(sizes)) > 1:
        raise ValueError(
            "Batch size (first dimension) of each feature must be same. Batch size of columns "
            f"({', '.join(keys)}): ({', '.join(str(n) for n in sizes)})"
        )


def _batch_device(transformer: Transformer) -> torch.device:
    for value in transformer.features.values():
        if isinstance(value, torch.Tensor):
            return value.device
    try:
        return current_store().device
    except RuntimeError:
        return torch.device("cpu")


class DenseFeatures:
    """Concatenates the dense outputs of ``feature_columns`` (sorted by name) into ``[B, n]``.

    Call it inside a model_fn on the features dict (raw, or a ``Transformer`` from
    ``transform_features``); embedding tables are variables named
    ``<scope>/<name>/<column>/embedding_weights`` (``name`` defaults to ``dense_features``).
    """

    def __init__(self, feature_columns: Sequence[DenseColumn], trainable: bool = True, name: str | None = None) -> None:
        self._columns = _normalize(
            feature_columns,
            (DenseColumn,),
            "Items of feature_columns must be a DenseColumn. You can wrap a categorical column with an embedding_column or "
            "indicator_column. Given: {}",
        )
        self.trainable = trainable
        self.name = name or "dense_features"
        self._feature_keys = _feature_keys(self._columns)

    @property
    def feature_columns(self) -> list[DenseColumn]:
        return list(self._columns)  # type: ignore[arg-type]

    def __call__(self, features: Any, cols_to_output_tensors: dict[Any, torch.Tensor] | None = None, training: bool | None = None) -> torch.Tensor:
        transformer = transformer_for(features)
        _check_batch_sizes(transformer, self._feature_keys)
        device = _batch_device(transformer)
        if cols_to_output_tensors is None and device.type == "cpu":
            return self._fused(transformer, device)
        outputs = []
        with variable_scope(self.name):
            for column in self._columns:
                with variable_scope(sanitized_name(column)):
                    tensor = column.dense_tensor(transformer, device)  # type: ignore[attr-defined]
                if cols_to_output_tensors is not None:
                    cols_to_output_tensors[column] = tensor
                outputs.append(tensor)
        return torch.cat(outputs, dim=1) if len(outputs) > 1 else outputs[0]

    def _fused(self, transformer: Transformer, device: torch.device) -> torch.Tensor:
        """The same output with the variable-free columns (numeric, bucketized, indicator) of each
        run between embedding columns written into one host array (indicators by a single
        ``bincount``), so a batch costs a few array operations instead of several per column."""
        outputs: list[torch.Tensor] = []
        block: list[DenseColumn] = []
        with variable_scope(self.name):
            for column in self._columns:
                if isinstance(column, (NumericColumn, BucketizedColumn, IndicatorColumn)):
                    block.append(column)  # type: ignore[arg-type]
                    continue
                if block:
                    outputs.append(_static_block(block, transformer))
                    block = []
                with variable_scope(sanitized_name(column)):
                    outputs.append(column.dense_tensor(transformer, device))  # type: ignore[attr-defined]
        if block:
            outputs.append(_static_block(block, transformer))
        return torch.cat(outputs, dim=1) if len(outputs) > 1 else outputs[0]


def _static_block(columns: Sequence[DenseColumn], transformer: Transformer) -> torch.Tensor:
    """Dense outputs of numeric / bucketized / indicator columns side by side, built on the host."""
    batch = transformer.batch_size
    widths = [c._num_elements if not isinstance(c, IndicatorColumn) else c.categorical_column.num_buckets for c in columns]
    width = sum(widths)
    out = np.zeros((batch, width), dtype=np.float32)
    flat_index: list[np.ndarray] = []
    flat_weight: list[np.ndarray | None] = []
    start = 0
    for column, w in zip(columns, widths):
        if isinstance(column, NumericColumn):
            out[:, start : start + w] = transformer.get(column).reshape(batch, -1).numpy()
        elif isinstance(column, BucketizedColumn):
            ids = transformer.get(column).ids
            flat_index.append(ids.row_ids() * width + start + ids.values)
            flat_weight.append(None)
        else:
            ragged, weights = _prune(transformer.get(column), drop_nonpositive_weights=False)
            keep = ragged.values < w
            rows, values = ragged.row_ids(), ragged.values
            if not keep.all():
                rows, values, weights = rows[keep], values[keep], None if weights is None else weights[keep]
            flat_index.append(rows * width + start + values)
            flat_weight.append(weights)
        start += w
    if flat_index:
        index = np.concatenate(flat_index)
        weights = None
        if any(w is not None for w in flat_weight):
            weights = np.concatenate([w if w is not None else np.ones(len(i), np.float32) for w, i in zip(flat_weight, flat_index)])
        out += np.bincount(index, weights=weights, minlength=batch * width).reshape(batch, width).astype(np.float32)
    return torch.from_numpy(out)


def input_layer(
    features: Any,
    feature_columns: Sequence[DenseColumn],
    weight_collections: Any = None,
    trainable: bool = True,
    cols_to_vars: dict[Any, list[torch.Tensor]] | None = None,
    cols_to_output_tensors: dict[Any, torch.Tensor] | None = None,
) -> torch.Tensor:
    """The v1 functional form of ``DenseFeatures`` (variables under ``input_layer/``)."""
    del weight_collections
    layer = DenseFeatures(feature_columns, trainable, name="input_layer")
    output = layer(features, cols_to_output_tensors)
    if cols_to_vars is not None:
        _collect_vars(cols_to_vars, layer.feature_columns, "input_layer")
    return output


def _collect_vars(cols_to_vars: dict[Any, list[torch.Tensor]], columns: Sequence[FeatureColumn], layer_name: str) -> None:
    store = current_store()
    from .._variables import current_scope

    prefix = "/".join(current_scope() + (layer_name,))
    variables = store.variables()
    for column in columns:
        column_prefix = f"{prefix}/{sanitized_name(column)}/"
        cols_to_vars[column] = [v for n, v in variables.items() if n.startswith(column_prefix)]


_SPARSE_COMBINERS = ("mean", "sqrtn", "sum")


class LinearModel:
    """``Σ_columns`` of each column's weighted contribution plus a bias: ``[B, units]`` logits.

    Categorical columns look their ids up in a ``[num_buckets, units]`` weight table (combined by
    ``sparse_combiner``: 'sum', 'mean' or 'sqrtn'); dense columns are multiplied by a
    ``[num_elements, units]`` matrix. Variables: ``<scope>/<name>/<column>/weights`` and
    ``<scope>/<name>/bias_weights``, all initialised to zero (``name`` defaults to ``linear_model``).
    """

    def __init__(self, feature_columns: Sequence[FeatureColumn], units: int = 1, sparse_combiner: str = "sum", trainable: bool = True, name: str | None = None) -> None:
        if sparse_combiner not in _SPARSE_COMBINERS:
            raise ValueError(f'sparse_combiner must be one of "mean", "sqrtn", "sum". Given: {sparse_combiner}')
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"units must be a positive integer; got {units!r}.")
        self._columns = _normalize(
            feature_columns, (DenseColumn, CategoricalColumn), "Items of feature_columns must be either a DenseColumn or CategoricalColumn. Given: {}"
        )
        self.units = units
        self.sparse_combiner = sparse_combiner
        self.trainable = trainable
        self.name = name or "linear_model"
        self._feature_keys = _feature_keys(self._columns)

    @property
    def feature_columns(self) -> list[FeatureColumn]:
        return list(self._columns)

    def __call__(self, features: Any) -> torch.Tensor:
        transformer = transformer_for(features)
        _check_batch_sizes(transformer, self._feature_keys)
        device = _batch_device(transformer)
        total: torch.Tensor | None = None
        fused: list[tuple[torch.Tensor, CategoricalColumn]] = []
        with variable_scope(self.name):
            for column in self._columns:
                with variable_scope(sanitized_name(column)):
                    if isinstance(column, CategoricalColumn):
                        weights = get_variable("weights", [column.num_buckets, self.units], torch.float32, "zeros", self.trainable)
                        if column.num_buckets < SPARSE_GRADIENT_MIN_ROWS:
                            fused.append((weights, column))
                            continue
                        part = combine_bag(weights, column.ids(transformer), self.sparse_combiner, device)
                    else:
                        dense = column.dense_tensor(transformer, device)  # type: ignore[attr-defined]
                        weights = get_variable("weights", [dense.shape[1], self.units], torch.float32, "zeros", self.trainable)
                        part = dense @ weights
                total = part if total is None else total + part
            bias = get_variable("bias_weights", [self.units], torch.float32, "zeros", self.trainable)
        if fused:
            part = self._fused_bag(fused, transformer, device)
            total = part if total is None else total + part
        assert total is not None
        return total + bias

    def _fused_bag(self, tables: list[tuple[torch.Tensor, CategoricalColumn]], transformer: Transformer, device: torch.device) -> torch.Tensor:
        """All small categorical columns in one EmbeddingBag over their concatenated weights:
        bag ``k·B + row`` holds column k's ids for that row (offset into the joint table)."""
        values, rows, weights, base = [], [], [], 0
        batch = transformer.batch_size
        any_weights = False
        for k, (table, column) in enumerate(tables):
            v, r, w = bag_inputs(column.ids(transformer), self.sparse_combiner, table.shape[0])
            values.append(v + base)
            rows.append(r + k * batch)
            weights.append(w)
            any_weights |= w is not None
            base += table.shape[0]
        joint_weights = None
        if any_weights:
            joint_weights = np.concatenate([w if w is not None else np.ones(len(v), np.float32) for w, v in zip(weights, values)])
        joint = torch.cat([t for t, _ in tables]) if len(tables) > 1 else tables[0][0]
        out = weighted_bag_sum(joint, np.concatenate(values), np.concatenate(rows), joint_weights, len(tables) * batch, device)
        return out.view(len(tables), batch, self.units).sum(dim=0)


def linear_model(
    features: Any,
    feature_columns: Sequence[FeatureColumn],
    units: int = 1,
    sparse_combiner: str = "sum",
    weight_collections: Any = None,
    trainable: bool = True,
    cols_to_vars: dict[Any, list[torch.Tensor]] | None = None,
) -> torch.Tensor:
    """The v1 functional form of ``LinearModel`` (variables under ``linear_model/``)."""
    del weight_collections
    model = LinearModel(feature_columns, units, sparse_combiner, trainable, name="linear_model")
    output = model(features)
    if cols_to_vars is not None:
        _collect_vars(cols_to_vars, model.feature_columns, "linear_model")
    return output
