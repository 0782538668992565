"""The dense input layer (``DenseFeatures`` / ``input_layer``) and the linear model
(``LinearModel`` / ``linear_model``), built on ``EmbeddingBag``.

A layer call is split in two: ``host_inputs`` (a ``HostInputs`` record computed from the raw
features) and ``from_host`` (the tensor half). While export traces the model, the active trace
provides a call's host inputs (see ``_core.trace``); ``layer_from_config`` rebuilds a layer from
its ``export_config``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, cast

import torch

from torch_estimator._core.batches import to_model_input
from torch_estimator._core.in_memory import BatchFeatures, LayerKey
from torch_estimator._core.trace import Bag, DenseBlock, HostInputs, HostPart, current_trace
from torch_estimator._core.values import batch_size_of
from torch_estimator._core.variables import (
    VariableStore,
    current_scope,
    current_store,
    get_variable,
    variable_scope,
)
from torch_estimator.feature_column._bags import SPARSE_GRADIENT_MIN_ROWS, bag_from_host, fused_bag_host
from torch_estimator.feature_column._base import (
    CategoricalColumn,
    DenseColumn,
    FeatureColumn,
    Transformer,
    sanitized_name,
    static_block,
)
from torch_estimator.feature_column._config import column_from_config, column_to_config

__all__ = [
    "ColumnsLayer",
    "DenseFeatures",
    "input_layer",
    "LinearModel",
    "linear_model",
    "transform_features",
    "layer_from_config",
]

_FUSED = "fused"


def normalize_columns(feature_columns: Any, allowed: tuple[type, ...], what: str) -> list[Any]:
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
                f"Duplicate feature column name found for columns: {by_name[column.name]} and {column}. This usually "
                "means that these columns refer to same base feature. Either one must be discarded or a duplicated "
                "but renamed item must be inserted in features dict."
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


def _batch_device(features: Mapping[str, Any]) -> torch.device:
    for value in features.values():
        if isinstance(value, torch.Tensor):
            return value.device
    try:
        return current_store().device
    except RuntimeError:
        return torch.device("cpu")


class ColumnsLayer:
    """What the column layers (``DenseFeatures``, ``LinearModel``, ``SequenceFeatures``) share: columns,
    their own variable store when used outside a model_fn, a call split into halves."""

    name: str
    _feature_keys: list[str]
    _columns: list[Any]
    _key: LayerKey | None = None
    _standalone_store: VariableStore | None = None

    def export_config(self) -> dict[str, Any]:
        raise NotImplementedError

    def host_inputs(self, transformer: Transformer) -> HostInputs:
        raise NotImplementedError

    def _own_store(self) -> contextlib.AbstractContextManager[Any]:
        """Outside a model_fn (no active variable store), the layer's own store, as a Keras layer
        owns its variables, with gradients off so that its outputs convert to numpy; inside one,
        nothing (the model_fn's store holds the variables)."""
        try:
            current_store()
            return contextlib.nullcontext()
        except RuntimeError:
            if self._standalone_store is None:
                self._standalone_store = VariableStore()
            stack = contextlib.ExitStack()
            stack.enter_context(self._standalone_store.activate())
            stack.enter_context(torch.no_grad())
            return stack

    @property
    def variables(self) -> dict[str, torch.Tensor]:
        """The variables of a layer used outside a model_fn, by name (empty before its first call)."""
        return {} if self._standalone_store is None else self._standalone_store.variables()

    def _checked(self, features: Any) -> Transformer:
        """The batch's transformer, once every feature the layer reads has the same batch size."""
        transformer = transformer_for(features)
        keys = [k for k in self._feature_keys if k in transformer.features]
        sizes = [batch_size_of(transformer.features[k]) for k in keys]
        if len(set(sizes)) > 1:
            raise ValueError(
                "Batch size (first dimension) of each feature must be same. Batch size of columns "
                f"({', '.join(keys)}): ({', '.join(str(n) for n in sizes)})"
            )
        return transformer

    def _host_config(self) -> Hashable:
        """What the host inputs depend on besides the features (the columns, and options)."""
        return tuple(self._columns)

    def _layer_key(self) -> LayerKey:
        """The layer's kind and configuration, hashed once (layers built alike share it)."""
        if self._key is None:
            self._key = LayerKey((type(self).__name__, self._host_config(), self.name))
        return self._key

    def _call_inputs(self, features: Any) -> tuple[HostInputs, torch.device]:
        """A call's host inputs and device (while exporting, as the trace gives them; for rows of
        an in-memory data set, gathered from the inputs of all its rows, computed once)."""
        trace = current_trace()
        if trace is not None:
            return trace.layer_inputs(self, lambda: self.host_inputs(self._checked(features))), current_store().device
        if isinstance(features, BatchFeatures) and features.source is not None:
            source = features.source
            device = _batch_device(features)
            rows = source.host_rows(
                self._layer_key(),
                device,
                lambda: self.host_inputs(self._checked(to_model_input(source.features, device, "features"))),
            )
            return rows.gather(features.row_tensor()), device
        transformer = self._checked(features)
        return self.host_inputs(transformer), _batch_device(transformer.features)


class DenseFeatures(ColumnsLayer):
    """Concatenates the dense outputs of ``feature_columns`` (sorted by name) into ``[B, n]``.

    Call it inside a model_fn on the features dict (raw, or a ``Transformer`` from
    ``transform_features``); embedding tables are variables named
    ``<scope>/<name>/<column>/embedding_weights`` (``name`` defaults to ``dense_features``).
    Host-only columns (numeric, bucketized, indicator) next to each other are built as one host
    block, so a batch costs a few array operations instead of several per column.
    """

    def __init__(self, feature_columns: Sequence[DenseColumn], trainable: bool = True, name: str | None = None) -> None:
        self._columns: list[DenseColumn] = normalize_columns(
            feature_columns,
            (DenseColumn,),
            "Items of feature_columns must be a DenseColumn. You can wrap a categorical column with an "
            "embedding_column or indicator_column. Given: {}",
        )
        self.trainable = trainable
        self.name = name or "dense_features"
        self._feature_keys = _feature_keys(self._columns)
        # Runs of host-only columns become one block; other columns stand alone.
        self._groups: list[list[DenseColumn]] = []
        for column in self._columns:
            if column.host_only and self._groups and self._groups[-1][0].host_only:
                self._groups[-1].append(column)
            else:
                self._groups.append([column])

    @property
    def feature_columns(self) -> list[DenseColumn]:
        return list(self._columns)

    def export_config(self) -> dict[str, Any]:
        """The layer as data (for export): its name and its columns' configurations."""
        return {"layer": "DenseFeatures", "name": self.name, "columns": [column_to_config(c) for c in self._columns]}

    def host_inputs(self, transformer: Transformer) -> HostInputs:
        """The host half for a batch: one block per run of host-only columns, each other column's own inputs."""
        parts: dict[str, HostPart] = {}
        for i, group in enumerate(self._groups):
            host_only = group[0].host_only
            parts[str(i)] = (
                DenseBlock(static_block(group, transformer)) if host_only else group[0].host_inputs(transformer)
            )
        return HostInputs(parts)

    def from_host(
        self, host: HostInputs, device: torch.device, cols_to_output_tensors: dict[Any, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """The tensor half: ``[B, n]`` from ``host_inputs``' tensors."""
        outputs: list[torch.Tensor] = []
        with variable_scope(self.name):
            for i, group in enumerate(self._groups):
                part = host.parts[str(i)]
                if group[0].host_only:
                    tensor = cast(DenseBlock, part).block.to(device)
                else:
                    with variable_scope(sanitized_name(group[0])):
                        tensor = group[0].from_host(part, device)
                outputs.append(tensor)
                if cols_to_output_tensors is not None:
                    cols_to_output_tensors.update(zip(group, torch.split(tensor, [c.width for c in group], dim=1)))
        return torch.cat(outputs, dim=1) if len(outputs) > 1 else outputs[0]

    def __call__(
        self, features: Any, cols_to_output_tensors: dict[Any, torch.Tensor] | None = None, training: bool | None = None
    ) -> torch.Tensor:
        with self._own_store():
            host, device = self._call_inputs(features)
            return self.from_host(host, device, cols_to_output_tensors)


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
    prefix = "/".join(current_scope() + (layer_name,))
    variables = current_store().variables()
    for column in columns:
        column_prefix = f"{prefix}/{sanitized_name(column)}/"
        cols_to_vars[column] = [v for n, v in variables.items() if n.startswith(column_prefix)]


_SPARSE_COMBINERS = ("mean", "sqrtn", "sum")


class LinearModel(ColumnsLayer):
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
        self._columns: list[FeatureColumn] = normalize_columns(
            feature_columns,
            (DenseColumn, CategoricalColumn),
            "Items of feature_columns must be either a DenseColumn or CategoricalColumn. Given: {}",
        )
        self.units = units
        self.sparse_combiner = sparse_combiner
        self.trainable = trainable
        self.name = name or "linear_model"
        self._feature_keys = _feature_keys(self._columns)
        # Small categorical columns share one fused bag (by position: comparing columns compares vocabularies).
        self._fused: dict[int, CategoricalColumn] = {
            i: c
            for i, c in enumerate(self._columns)
            if isinstance(c, CategoricalColumn) and c.num_buckets < SPARSE_GRADIENT_MIN_ROWS
        }

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

    def _host_config(self) -> Hashable:
        return (tuple(self._columns), self.sparse_combiner)

    def host_inputs(self, transformer: Transformer) -> HostInputs:
        """The host half for a batch: each column's own inputs but the small categorical
        columns', which share one fused bag."""
        parts: dict[str, HostPart] = {
            str(i): column._linear_host(transformer, self.sparse_combiner)
            for i, column in enumerate(self._columns)
            if i not in self._fused
        }
        if self._fused:
            fused = [(c.ids(transformer), c.num_buckets, c.name) for c in self._fused.values()]
            parts[_FUSED] = fused_bag_host(fused, self.sparse_combiner, transformer.batch_size)
        return HostInputs(parts)

    def from_host(self, host: HostInputs, device: torch.device) -> torch.Tensor:
        """The tensor half: ``[B, units]`` logits from ``host_inputs``' tensors."""
        total: torch.Tensor | None = None
        store = current_store()
        site = ("LinearModel", self._layer_key(), current_scope(), self.units, self.trainable)
        cached = store.site_cache.get(site)  # the fused tables and the bias, found by name once
        tables: list[torch.Tensor] = []
        with variable_scope(self.name):
            for i, column in enumerate(self._columns):
                fused = self._fused.get(i)
                if fused is not None and cached is not None:
                    continue
                with variable_scope(sanitized_name(column)):
                    if fused is not None:
                        tables.append(fused._linear_weights(self.units, self.trainable))
                        continue
                    part = column._linear_logits(host.parts[str(i)], device, self.units, self.trainable)
                total = part if total is None else total + part
            if cached is None:
                bias = get_variable("bias_weights", [self.units], torch.float32, "zeros", self.trainable)
                store.site_cache[site] = cached = (tables, bias)
        tables, bias = cached
        if tables:
            joint = torch.cat(tables) if len(tables) > 1 else tables[0]
            part = bag_from_host(joint, cast(Bag, host.parts[_FUSED]), device)
            total = part if total is None else total + part
        assert total is not None
        return total + bias

    def __call__(self, features: Any) -> torch.Tensor:
        with self._own_store():
            host, device = self._call_inputs(features)
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


def layer_from_config(config: Mapping[str, Any]) -> DenseFeatures | LinearModel:
    """The layer ``export_config`` described (its columns rebuilt with ``column_from_config``)."""
    columns = [column_from_config(c) for c in config["columns"]]
    if config["layer"] == "DenseFeatures":
        return DenseFeatures(cast(list[DenseColumn], columns), name=config["name"])
    if config["layer"] == "LinearModel":
        return LinearModel(
            columns, units=config["units"], sparse_combiner=config["sparse_combiner"], name=config["name"]
        )
    raise ValueError(f"unknown layer {config['layer']!r}; expected 'DenseFeatures' or 'LinearModel'")
