"""The dense input layer (``DenseFeatures`` / ``input_layer``) and the linear model
(``LinearModel`` / ``linear_model``), built on ``EmbeddingBag``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import torch

from torch_estimator._core.trace import current_trace
from torch_estimator._core.variables import current_store, get_variable, variable_scope
from torch_estimator.feature_column._columns import (
    SPARSE_GRADIENT_MIN_ROWS,
    CategoricalColumn,
    DenseColumn,
    FeatureColumn,
    IndicatorColumn,
    Transformer,
    bag_from_host,
    bag_host,
    bag_inputs,
    bag_offsets,
    sanitized_name,
    static_block,
)
from torch_estimator.feature_column._config import column_to_config

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
    from torch_estimator._core.values import batch_size_of

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
    Host-only columns (numeric, bucketized, indicator) next to each other are built as one host
    block, so a batch costs a few array operations instead of several per column.
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
        # Runs of host-only columns become one block; other columns stand alone.
        self._groups: list[list[DenseColumn]] = []
        for column in self._columns:
            if column.host_only and self._groups and self._groups[-1][0].host_only:  # type: ignore[attr-defined]
                self._groups[-1].append(column)  # type: ignore[arg-type]
            else:
                self._groups.append([column])  # type: ignore[list-item]

    @property
    def feature_columns(self) -> list[DenseColumn]:
        return list(self._columns)  # type: ignore[arg-type]

    def export_config(self) -> dict[str, Any]:
        """The layer as data (for export): its name and its columns' configurations."""
        return {"layer": "DenseFeatures", "name": self.name, "columns": [column_to_config(c) for c in self._columns]}

    def host_inputs(self, transformer: Transformer, complete: bool = False) -> dict[str, torch.Tensor]:
        """The host half for a batch: one block per run of host-only columns, each other column's own inputs."""
        out: dict[str, torch.Tensor] = {}
        for i, group in enumerate(self._groups):
            if group[0].host_only:
                out[f"{i}/block"] = static_block(group, transformer)
            else:
                out.update({f"{i}/{k}": v for k, v in group[0].host_inputs(transformer, complete).items()})
        return out

    def from_host(
        self,
        host: dict[str, torch.Tensor],
        device: torch.device,
        cols_to_output_tensors: dict[Any, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """The tensor half: ``[B, n]`` from ``host_inputs``' tensors."""
        outputs: list[torch.Tensor] = []
        with variable_scope(self.name):
            for i, group in enumerate(self._groups):
                if group[0].host_only:
                    tensor = host[f"{i}/block"].to(device)
                else:
                    with variable_scope(sanitized_name(group[0])):
                        tensor = group[0].from_host(_sub(host, f"{i}/"), device)
                outputs.append(tensor)
                if cols_to_output_tensors is not None:
                    cols_to_output_tensors.update(_split_columns(group, tensor))
        return torch.cat(outputs, dim=1) if len(outputs) > 1 else outputs[0]

    def __call__(
        self, features: Any, cols_to_output_tensors: dict[Any, torch.Tensor] | None = None, training: bool | None = None
    ) -> torch.Tensor:
        host, device = _layer_host_inputs(self, features)
        return self.from_host(host, device, cols_to_output_tensors)


def _sub(host: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in host.items() if k.startswith(prefix)}


def _split_columns(group: Sequence[DenseColumn], tensor: torch.Tensor) -> dict[DenseColumn, torch.Tensor]:
    widths = [c.categorical_column.num_buckets if isinstance(c, IndicatorColumn) else c._num_elements for c in group]
    return dict(zip(group, torch.split(tensor, widths, dim=1)))


def _layer_host_inputs(
    layer: DenseFeatures | LinearModel, features: Any
) -> tuple[dict[str, torch.Tensor], torch.device]:
    """A layer call's host inputs and device, or, while replaying for export, the program's inputs."""
    trace = current_trace()
    if trace is not None and trace.mode == "replay":
        return trace.layer_call(layer.export_config(), None), current_store().device
    transformer = transformer_for(features)
    _check_batch_sizes(transformer, layer._feature_keys)
    host = layer.host_inputs(transformer, complete=trace is not None)
    if trace is not None:
        trace.layer_call(layer.export_config(), host)
    return host, _batch_device(transformer)


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


def _collect_vars(
    cols_to_vars: dict[Any, list[torch.Tensor]], columns: Sequence[FeatureColumn], layer_name: str
) -> None:
    store = current_store()
    from torch_estimator._core.variables import current_scope

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
    Categorical columns with small tables share one fused ``EmbeddingBag`` over their joint weights.
    """

    def __init__(
        self,
        feature_columns: Sequence[FeatureColumn],
        units: int = 1,
        sparse_combiner: str = "sum",
        trainable: bool = True,
        name: str | None = None,
    ) -> None:
        if sparse_combiner not in _SPARSE_COMBINERS:
            raise ValueError(f'sparse_combiner must be one of "mean", "sqrtn", "sum". Given: {sparse_combiner}')
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"units must be a positive integer; got {units!r}.")
        self._columns = _normalize(
            feature_columns,
            (DenseColumn, CategoricalColumn),
            "Items of feature_columns must be either a DenseColumn or CategoricalColumn. Given: {}",
        )
        self.units = units
        self.sparse_combiner = sparse_combiner
        self.trainable = trainable
        self.name = name or "linear_model"
        self._feature_keys = _feature_keys(self._columns)
        # small categorical columns share one fused bag (by position: comparing columns compares vocabularies)
        self._fused_index = {
            i
            for i, c in enumerate(self._columns)
            if isinstance(c, CategoricalColumn) and c.num_buckets < SPARSE_GRADIENT_MIN_ROWS
        }
        self._fused = [cast(CategoricalColumn, self._columns[i]) for i in sorted(self._fused_index)]

    @property
    def feature_columns(self) -> list[FeatureColumn]:
        return list(self._columns)

    def export_config(self) -> dict[str, Any]:
        """The layer as data (for export): its options and its columns' configurations."""
        return {
            "layer": "LinearModel",
            "name": self.name,
            "units": self.units,
            "sparse_combiner": self.sparse_combiner,
            "columns": [column_to_config(c) for c in self._columns],
        }

    def host_inputs(self, transformer: Transformer, complete: bool = False) -> dict[str, torch.Tensor]:
        """The host half for a batch: the fused bag of the small categorical columns, a bag per
        large categorical column, and each dense column's own inputs."""
        out: dict[str, torch.Tensor] = {}
        for i, column in enumerate(self._columns):
            if isinstance(column, CategoricalColumn):
                if i not in self._fused_index:
                    out.update(
                        {
                            f"{i}/{k}": v
                            for k, v in bag_host(
                                column.ids(transformer), self.sparse_combiner, column, complete
                            ).items()
                        }
                    )
            else:
                out.update({f"{i}/{k}": v for k, v in column.host_inputs(transformer, complete).items()})  # type: ignore[attr-defined]
        if self._fused:
            out.update({f"fused/{k}": v for k, v in self._fused_host(transformer, complete).items()})
        return out

    def _fused_host(self, transformer: Transformer, complete: bool) -> dict[str, torch.Tensor]:
        """One bag per row holding the ids of every small column (offset into the joint table);
        ``mean``/``sqrtn`` weights are normalised per column, so the bag's sum is the sum of the
        columns' combined rows."""
        values, rows, weights, base = [], [], [], 0
        batch = transformer.batch_size
        one_per_row = np.arange(batch, dtype=np.int64)
        for column in self._fused:
            v, r, w = bag_inputs(column.ids(transformer), self.sparse_combiner, column)
            values.append(v + base)
            rows.append(r)
            weights.append(w)
            base += column.num_buckets
        if any(w is not None for w in weights) or complete:
            weights = [w if w is not None else np.ones(len(v), np.float32) for w, v in zip(weights, values)]
        if all(len(r) == batch and np.array_equal(r, one_per_row) for r in rows):  # one id per row: interleave
            joint_ids = np.stack(values, axis=1).reshape(-1)
            joint_rows = np.repeat(one_per_row, len(values))
            joint_weights = np.stack(weights, axis=1).reshape(-1) if weights[0] is not None else None
        else:
            all_rows = np.concatenate(rows)
            order = np.argsort(all_rows, kind="stable")
            joint_ids, joint_rows = np.concatenate(values)[order], all_rows[order]
            joint_weights = np.concatenate(weights)[order] if weights[0] is not None else None
        out = {
            "ids": torch.from_numpy(joint_ids.astype(np.int64, copy=False)),
            "offsets": torch.from_numpy(bag_offsets(joint_rows, batch)),
        }
        if joint_weights is not None:
            out["weights"] = torch.from_numpy(joint_weights.astype(np.float32, copy=False))
        return out

    def from_host(self, host: dict[str, torch.Tensor], device: torch.device) -> torch.Tensor:
        """The tensor half: ``[B, units]`` logits from ``host_inputs``' tensors."""
        total: torch.Tensor | None = None
        tables: list[torch.Tensor] = []
        with variable_scope(self.name):
            for i, column in enumerate(self._columns):
                with variable_scope(sanitized_name(column)):
                    if isinstance(column, CategoricalColumn):
                        weights = get_variable(
                            "weights", [column.num_buckets, self.units], torch.float32, "zeros", self.trainable
                        )
                        if i in self._fused_index:
                            tables.append(weights)
                            continue
                        part = bag_from_host(weights, _sub(host, f"{i}/"), device)
                    else:
                        dense = column.from_host(_sub(host, f"{i}/"), device)  # type: ignore[attr-defined]
                        weights = get_variable(
                            "weights", [dense.shape[1], self.units], torch.float32, "zeros", self.trainable
                        )
                        part = dense @ weights
                total = part if total is None else total + part
            bias = get_variable("bias_weights", [self.units], torch.float32, "zeros", self.trainable)
        if tables:
            joint = torch.cat(tables) if len(tables) > 1 else tables[0]
            part = bag_from_host(joint, _sub(host, "fused/"), device)
            total = part if total is None else total + part
        assert total is not None
        return total + bias

    def __call__(self, features: Any) -> torch.Tensor:
        host, device = _layer_host_inputs(self, features)
        return self.from_host(host, device)


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
