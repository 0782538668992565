"""A self-contained ONNX model of an export: raw features in, predictions out.

``program.onnx`` takes what the host half computes (vocabulary ids, bags, dense blocks). When
every feature column of the model has an ONNX form, ``standalone.onnx`` adds that host half as
ONNX operators in front of the program and holds the variables as initializers, so any ONNX
runtime serves the model with nothing else:

* numeric columns: the feature cast to float32 (a ``normalizer_fn`` is already in the program);
* bucketized columns: ``len(boundaries) - Σ (x < boundary)`` (as ``torch.bucketize``, NaN included);
* vocabulary columns: ONNX-ML ``LabelEncoder`` (unknown values to ``default_value``);
* identity and weighted columns: ``Where`` over the ids, the weights a second input;
* indicator columns and one-hot buckets: ``ScatterElements`` with ``add``;
* embedding columns and the linear model's bags: ``Compress`` of the kept ids, their offsets a
  ``CumSum`` of the per-row counts, ``mean`` / ``sqrtn`` weights normalised per row;
* class names: ``Gather`` from the string table.

Hashing has no ONNX operator (TensorFlow's Fingerprint64), so hashed and crossed columns, and
vocabularies with OOV buckets, block the standalone model; ``blockers`` names each such column.

Inputs are the features by key: numeric ones ``[batch, *shape]`` of the column's dtype,
categorical ones ``[batch, n]`` (any ``n``; missing values are ``''`` for strings and ``-1`` for
integers, as for dense features given to ``predict``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import torch

from torch_estimator._core.trace import NotExportableError
from torch_estimator.export._schema import ModelRecord, TensorSpec
from torch_estimator.feature_column._base import CategoricalColumn, FeatureColumn
from torch_estimator.feature_column._categorical import (
    HashedColumn,
    IdentityColumn,
    VocabularyColumn,
    WeightedCategoricalColumn,
)
from torch_estimator.feature_column._crossed import CrossedColumn
from torch_estimator.feature_column._embedding import EmbeddingColumn, IndicatorColumn
from torch_estimator.feature_column._layers import DenseFeatures, LinearModel
from torch_estimator.feature_column._numeric import BucketizedColumn, NumericColumn

__all__ = ["Standalone", "standalone_onnx"]

logger = logging.getLogger("torch_estimator")

_ML_DOMAIN = "ai.onnx.ml"
_ML_OPSET = 2
_CHECK_BATCH = 4
_CHECK_WIDTH = 2


@dataclasses.dataclass(frozen=True)
class Standalone:
    """The standalone model (ONNX bytes, None when blocked) and what blocks it."""

    model: bytes | None
    blockers: tuple[str, ...] = ()


class _Blocked(Exception):
    """A column (or feature) with no ONNX form: the message says which and why."""


@dataclasses.dataclass(frozen=True)
class _Ids:
    """A categorical column's ids as ONNX values: ``ids`` ``[B, n]`` int64, ``keep`` ``[B, n]``
    bool (present values), ``weights`` ``[B, n]`` float32 or None (all 1)."""

    ids: str
    keep: str
    weights: str | None = None


@dataclasses.dataclass
class _Feature:
    """A graph input: a feature by key, and values that exercise it in the export-time check."""

    dtype: str
    tail: tuple[int | str, ...]
    samples: list[Any]


def _describe(column: FeatureColumn) -> str:
    return f"{column.name!r} ({type(column).__name__})"


def blockers_of(column: FeatureColumn) -> list[str]:
    """Why ``column`` has no ONNX form (empty when it has one)."""
    if isinstance(column, VocabularyColumn):
        if column.num_oov_buckets:
            return [
                f"column {_describe(column)} hashes out-of-vocabulary values into {column.num_oov_buckets} OOV "
                "buckets (Fingerprint64 has no ONNX operator)"
            ]
        return []
    if isinstance(column, (IdentityColumn, NumericColumn)):
        return []
    if isinstance(column, BucketizedColumn):
        return blockers_of(column.source_column)
    if isinstance(column, WeightedCategoricalColumn):
        if not isinstance(column.categorical_column, (VocabularyColumn, IdentityColumn)):
            return [f"column {_describe(column)} weights a column that reads no feature of its own"]
        return blockers_of(column.categorical_column)
    if isinstance(column, (IndicatorColumn, EmbeddingColumn)):
        return blockers_of(column.categorical_column)
    if isinstance(column, HashedColumn):
        return [f"column {_describe(column)} hashes its values (Fingerprint64 has no ONNX operator)"]
    if isinstance(column, CrossedColumn):
        return [f"column {_describe(column)} crosses features by hashing (Fingerprint64 has no ONNX operator)"]
    return [f"column {_describe(column)} has no ONNX form"]


class _Graph:
    """Builds the host half as ONNX nodes, in order, over the feature inputs."""

    def __init__(self) -> None:
        import onnx

        self._onnx = onnx
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.features: dict[str, _Feature] = {}
        self.uses_ml = False
        self._count = 0
        self._ids: dict[FeatureColumn, _Ids] = {}

    # -- primitives ---------------------------------------------------------------------------

    def _name(self, hint: str) -> str:
        self._count += 1
        return f"standalone/{hint}/{self._count}"

    def const(self, value: Any, hint: str = "const") -> str:
        """A constant (an initializer) holding ``value``."""
        name = self._name(hint)
        array = np.asarray(value)
        if array.dtype.kind in "OUS":
            tensor = self._onnx.helper.make_tensor(
                name,
                self._onnx.TensorProto.STRING,
                array.shape,
                cast(Any, [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in array.reshape(-1)]),
            )
        else:
            tensor = self._onnx.numpy_helper.from_array(array, name)
        self.initializers.append(tensor)
        return name

    def op(self, op_type: str, inputs: Sequence[str], hint: str = "", output: str | None = None, **attrs: Any) -> str:
        """One node's single output (named ``output`` when given)."""
        out = output or self._name(hint or op_type)
        domain = _ML_DOMAIN if op_type == "LabelEncoder" else ""
        self.uses_ml |= bool(domain)
        self.nodes.append(self._onnx.helper.make_node(op_type, list(inputs), [out], domain=domain, **attrs))
        return out

    def cast(self, value: str, dtype: Any) -> str:
        return self.op("Cast", [value], to=self._onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))

    def feature(self, key: str, dtype: str, tail: tuple[int | str, ...], samples: Sequence[Any], user: str) -> str:
        """The graph input for feature ``key`` (``[batch, *tail]`` of ``dtype``); columns reading it
        must agree on both."""
        existing = self.features.get(key)
        if existing is None:
            self.features[key] = _Feature(dtype, tail, list(samples))
        elif (existing.dtype, existing.tail) != (dtype, tail):
            raise _Blocked(
                f"feature {key!r} is read as {dtype} [batch, {', '.join(map(str, tail))}] by {user} but as "
                f"{existing.dtype} [batch, {', '.join(map(str, existing.tail))}] elsewhere"
            )
        else:
            existing.samples.extend(s for s in samples if s not in existing.samples)
        return key

    def zeros(self, like: str, width: int) -> str:
        """A ``[B, width]`` float32 zero matrix, ``B`` the first dimension of ``like``."""
        batch = self.op("Shape", [like], start=0, end=1)
        shape = self.op("Concat", [batch, self.const(np.array([width], np.int64))], axis=0)
        return self.op(
            "ConstantOfShape",
            [shape],
            value=self._onnx.helper.make_tensor("zero", self._onnx.TensorProto.FLOAT, [1], [0.0]),
        )

    def reduce_sum(self, value: str, axis: int, keepdims: int = 0) -> str:
        return self.op("ReduceSum", [value, self.const(np.array([axis], np.int64))], keepdims=keepdims)

    def flat(self, value: str) -> str:
        return self.op("Reshape", [value, self.const(np.array([-1], np.int64))])

    # -- columns ------------------------------------------------------------------------------

    def numeric(self, column: NumericColumn) -> str:
        """The column's values as ``[B, width]`` float32 (before a normalizer_fn)."""
        x = self.feature(column.key, column.dtype, tuple(column.shape), [0, 1.5, -2, 40], _describe(column))
        return self.cast(self.op("Reshape", [x, self.const(np.array([-1, column.width], np.int64))]), np.float32)

    def ids(self, column: FeatureColumn) -> _Ids:
        """A categorical column's ids (computed once per column)."""
        cached = self._ids.get(column)
        if cached is None:
            cached = self._ids[column] = self._new_ids(column)
        return cached

    def _present(self, x: str, missing: Any) -> str:
        return self.op("Not", [self.op("Equal", [x, self.const(np.array(missing))])])

    def _new_ids(self, column: FeatureColumn) -> _Ids:
        width = f"{getattr(column, 'key', column.name)}_n"
        if isinstance(column, VocabularyColumn):
            strings = column.dtype == "string"
            samples = [*column.vocabulary[:4], "" if strings else -1, "~unknown~" if strings else 1 << 40]
            x = self.feature(column.key, "string" if strings else "int64", (width,), samples, _describe(column))
            table: dict[str, Any] = {
                "keys_strings" if strings else "keys_int64s": list(column.vocabulary),
                "values_int64s": list(range(len(column.vocabulary))),
                "default_int64": column.default_value,
            }
            ids = self.op("LabelEncoder", [x], **table)
            return _Ids(ids, self._present(x, "" if strings else np.int64(-1)))
        if isinstance(column, IdentityColumn):
            samples = [-1, 0, column.number_buckets - 1, min(1, column.number_buckets - 1)]
            x = self.feature(column.key, "int64", (width,), samples, _describe(column))
            ids = x
            if column.default_value is not None:
                outside = self.op(
                    "Or",
                    [
                        self.op("Less", [x, self.const(np.int64(0))]),
                        self.op("GreaterOrEqual", [x, self.const(np.int64(column.number_buckets))]),
                    ],
                )
                ids = self.op("Where", [outside, self.const(np.int64(column.default_value)), x])
            return _Ids(ids, self._present(x, np.int64(-1)))
        if isinstance(column, BucketizedColumn):
            ids = self.buckets(column)
            return _Ids(ids, self.op("Equal", [ids, ids]))  # every bucket is present
        if isinstance(column, WeightedCategoricalColumn):
            source = column.categorical_column
            assert isinstance(source, (VocabularyColumn, IdentityColumn)), "checked by blockers_of"
            inner = self.ids(source)
            weights = self.feature(
                column.weight_feature_key, column.dtype, (f"{source.key}_n",), [1, 0, 2.5], _describe(column)
            )
            w = self.cast(weights, np.float32)
            keep = self.op("And", [inner.keep, self.op("Not", [self.op("Equal", [w, self.const(np.float32(0))])])])
            return _Ids(inner.ids, keep, w)
        raise _Blocked(f"column {_describe(column)} has no ONNX form (hashing or crossing has no ONNX operator)")

    def buckets(self, column: BucketizedColumn) -> str:
        """``[B, d]`` bucket ids of a bucketized column, each dimension after the previous ones'."""
        source = column.source_column
        x = self.feature(
            source.key,
            source.dtype,
            tuple(source.shape),
            [column.boundaries[0] - 1, *column.boundaries, column.boundaries[-1] + 1],
            _describe(column),
        )
        flat = self.cast(self.op("Reshape", [x, self.const(np.array([-1, source.width, 1], np.int64))]), np.float32)
        below = self.cast(self.op("Less", [flat, self.const(np.array(column.boundaries, np.float32))]), np.int64)
        n = len(column.boundaries)
        bucket = self.op("Sub", [self.const(np.int64(n)), self.reduce_sum(below, 2)])
        return self.op("Add", [bucket, self.const(np.arange(source.width, dtype=np.int64) * (n + 1))])

    def dense(self, column: FeatureColumn) -> str:
        """A host-only dense column's ``[B, width]`` float32 output."""
        if isinstance(column, NumericColumn) and column.normalizer_fn is None:
            return self.numeric(column)
        if isinstance(column, BucketizedColumn):
            ids = self.ids(column).ids
            ones = self.op("Cast", [self.op("Equal", [ids, ids])], to=1)
            return self.op("ScatterElements", [self.zeros(ids, column.width), ids, ones], axis=1, reduction="add")
        if isinstance(column, IndicatorColumn):
            cat = self.ids(column.categorical_column)
            zero = self.const(np.int64(0))
            keep = self.op(
                "And",
                [
                    cat.keep,
                    self.op(
                        "And",
                        [
                            self.op("GreaterOrEqual", [cat.ids, zero]),
                            self.op("Less", [cat.ids, self.const(np.int64(column.width))]),
                        ],
                    ),
                ],
            )
            weights = cat.weights or self.cast(keep, np.float32)
            index = self.op("Where", [keep, cat.ids, zero])
            updates = self.op("Where", [keep, weights, self.const(np.float32(0))])
            return self.op(
                "ScatterElements", [self.zeros(cat.ids, column.width), index, updates], axis=1, reduction="add"
            )
        raise _Blocked(f"column {_describe(column)} has no ONNX form")

    def bag(self, columns: Sequence[tuple[FeatureColumn, int]], combiner: str, fields: Mapping[str, str]) -> None:
        """The ``Bag`` of ``columns`` (``(categorical column, rows)`` each, in one joint table in
        this order) into the program inputs ``fields`` names (``ids``, ``offsets``, ``weights``,
        ``rows``). An id past its column's rows becomes one past the joint table's, which the
        program's lookup rejects (as ``predict`` does)."""
        ids, keeps, weights, base = [], [], [], 0
        total = sum(rows for _, rows in columns)
        zero_f = self.const(np.float32(0))
        for column, rows in columns:
            cat = self.ids(column)
            keep = self.op("And", [cat.keep, self.op("GreaterOrEqual", [cat.ids, self.const(np.int64(0))])])
            if combiner != "sum" and cat.weights is not None:
                keep = self.op("And", [keep, self.op("Greater", [cat.weights, zero_f])])
            w = self.op("Where", [keep, cat.weights or self.cast(keep, np.float32), zero_f])
            if combiner == "mean":
                w = self.op("Div", [w, self.reduce_sum(w, 1, keepdims=1)])
            elif combiner == "sqrtn":
                w = self.op("Div", [w, self.op("Sqrt", [self.reduce_sum(self.op("Mul", [w, w]), 1, keepdims=1)])])
            outside = self.op("GreaterOrEqual", [cat.ids, self.const(np.int64(rows))])
            shifted = self.op("Add", [cat.ids, self.const(np.int64(base))])
            ids.append(self.op("Where", [outside, self.const(np.int64(total)), shifted]))
            keeps.append(keep)
            weights.append(w)
            base += rows

        def joined(values: list[str]) -> str:
            return values[0] if len(values) == 1 else self.op("Concat", values, axis=1)

        all_ids, all_keep, all_weights = joined(ids), joined(keeps), joined(weights)
        keep_flat = self.flat(all_keep)
        self.op("Compress", [self.flat(all_ids), keep_flat], output=fields["ids"], axis=0)
        counts = self.reduce_sum(self.cast(all_keep, np.int64), 1)
        self.op("CumSum", [counts, self.const(np.int64(0))], output=fields["offsets"], exclusive=1)
        if "weights" in fields:
            self.op("Compress", [self.flat(all_weights), keep_flat], output=fields["weights"], axis=0)
        if "rows" in fields:
            batch = self.op("Shape", [all_ids], start=0, end=1)
            row = self.op("Range", [self.const(np.int64(0)), self.op("Squeeze", [batch]), self.const(np.int64(1))])
            grid = self.op(
                "Expand",
                [self.op("Unsqueeze", [row, self.const(np.array([1], np.int64))]), self.op("Shape", [all_ids])],
            )
            self.op("Compress", [self.flat(grid), keep_flat], output=fields["rows"], axis=0)

    # -- layers -------------------------------------------------------------------------------

    def layer(self, index: int, layer: DenseFeatures | LinearModel, inputs: Mapping[str, TensorSpec]) -> None:
        """Emits layer call ``index``'s host inputs under the program's names ``host/<index>/...``."""

        def fields(part: str) -> dict[str, str]:
            prefix = f"{part}/"
            return {k[len(prefix) :]: f"host/{index}/{k}" for k in inputs if k.startswith(prefix)}

        if isinstance(layer, DenseFeatures):
            for i, group in enumerate(layer._groups):
                out = fields(str(i))
                if group[0].host_only:
                    pieces = [self.dense(column) for column in group]
                    if len(pieces) > 1:
                        self.op("Concat", pieces, axis=1, output=out["block"])
                    else:
                        self.op("Identity", pieces, output=out["block"])
                else:
                    self.column_part(group[0], out, inputs, index, str(i), combiner=None)
            return
        assert isinstance(layer, LinearModel)
        for i, column in enumerate(layer._columns):
            if i not in layer._fused:
                self.column_part(column, fields(str(i)), inputs, index, str(i), combiner=layer.sparse_combiner)
        if layer._fused:
            self.bag([(c, c.num_buckets) for c in layer._fused.values()], layer.sparse_combiner, fields("fused"))

    def column_part(
        self,
        column: FeatureColumn,
        out: Mapping[str, str],
        inputs: Mapping[str, TensorSpec],
        index: int,
        part: str,
        combiner: str | None,
    ) -> None:
        """One column's own host part: a bag, a raw feature (a traced normalizer_fn), or a block."""
        if isinstance(column, EmbeddingColumn):
            self.bag([(column.categorical_column, column.categorical_column.num_buckets)], column.combiner, out)
        elif isinstance(column, NumericColumn) and column.normalizer_fn is not None:
            spec = inputs[f"{part}/raw"]
            x = self.feature(column.key, spec.dtype, tuple(column.shape), [0, 1.5, -2, 40], _describe(column))
            self.op("Identity", [x], output=out["raw"])
        elif "block" in out:
            self.op("Identity", [self.dense(column)], output=out["block"])
        elif combiner is not None and isinstance(column, CategoricalColumn) and "ids" in out:
            self.bag([(column, column.num_buckets)], combiner, out)
        else:
            raise _Blocked(f"column {_describe(column)} in layer {index} has no ONNX form")


def _value_names(graph: Any) -> set[str]:
    names = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    for node in graph.node:
        names.update(node.input)
        names.update(node.output)
    return names


def _assemble(graph: _Graph, program: Any, variables: Mapping[str, torch.Tensor], record: ModelRecord) -> Any:
    """The host nodes, then the program's (its variables as initializers), then the string lookups."""
    import onnx

    helper = onnx.helper
    taken = _value_names(program.graph)
    clashes = sorted(set(graph.features) & (taken - {i.name for i in program.graph.input}))
    if clashes:
        raise _Blocked(f"feature keys {clashes} are also names inside the program")
    wanted = {i.name for i in program.graph.input}
    initializers = [
        onnx.numpy_helper.from_array(np.ascontiguousarray(v.detach().cpu().numpy()), f"variables/{k}")
        for k, v in variables.items()
        if f"variables/{k}" in wanted
    ]
    renamed = {name: f"{name}/ids" for name in record.string_tables}
    nodes = []
    for node in program.graph.node:
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        for i, name in enumerate(copy.output):
            if name in renamed:
                copy.output[i] = renamed[name]
        for i, name in enumerate(copy.input):
            if name in renamed:
                copy.input[i] = renamed[name]
        nodes.append(copy)
    outputs = []
    for value in program.graph.output:
        if value.name in renamed:
            table = graph.const(np.array(record.string_tables[value.name], dtype=object), "string_table")
            nodes.append(helper.make_node("Gather", [table, renamed[value.name]], [value.name], axis=0))
            shape = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in value.type.tensor_type.shape.dim]
            outputs.append(helper.make_tensor_value_info(value.name, onnx.TensorProto.STRING, shape))
        else:
            outputs.append(value)
    inputs = [
        helper.make_tensor_value_info(
            key,
            onnx.TensorProto.STRING if f.dtype == "string" else helper.np_dtype_to_tensor_dtype(np.dtype(f.dtype)),
            ["batch", *f.tail],
        )
        for key, f in graph.features.items()
    ]
    model_graph = helper.make_graph(
        graph.nodes + nodes,
        "standalone",
        inputs,
        outputs,
        initializer=graph.initializers + initializers + list(program.graph.initializer),
        value_info=[v for v in program.graph.value_info if v.name not in renamed],
    )
    opsets = list(program.opset_import)
    if graph.uses_ml and not any(o.domain == _ML_DOMAIN for o in opsets):
        opsets.append(helper.make_opsetid(_ML_DOMAIN, _ML_OPSET))
    model = helper.make_model(model_graph, opset_imports=opsets, functions=list(program.functions))
    model.ir_version = program.ir_version
    model.producer_name = "torch_estimator"
    onnx.checker.check_model(model)
    return model


def _check_batch(features: Mapping[str, _Feature]) -> dict[str, np.ndarray]:
    """A small batch cycling through each feature's sample values (vocabulary entries, missing
    and unknown values, bucket boundaries)."""
    widths: dict[str, int] = {}
    batch: dict[str, np.ndarray] = {}
    for key, feature in features.items():
        tail = tuple(widths.setdefault(d, _CHECK_WIDTH) if isinstance(d, str) else d for d in feature.tail)
        count = _CHECK_BATCH * int(np.prod(tail))
        values = [feature.samples[(i * 7 + len(key)) % len(feature.samples)] for i in range(count)]
        dtype = np.dtype(object) if feature.dtype == "string" else np.dtype(feature.dtype)
        batch[key] = np.array(values, dtype=dtype).reshape(_CHECK_BATCH, *tail)
    return batch


def standalone_onnx(
    program: bytes,
    variables: Mapping[str, torch.Tensor],
    record: ModelRecord,
    layers: Sequence[DenseFeatures | LinearModel],
    reference: Callable[[Mapping[str, np.ndarray]], Mapping[str, np.ndarray]],
) -> Standalone:
    """The standalone model of an export (``program`` and ``variables`` with the host half
    ``record`` describes, its ``layers`` rebuilt), or the reasons it cannot be built.
    ``reference(features)`` gives the export's outputs (strings as bytes) for a batch of dense
    features: the model must match it on a check batch, or it is not written. The standalone
    model is optional: an error building or checking it leaves the export whole (a warning, and
    ``blocked_by``, say why)."""

    def failed(what: str, error: Exception) -> Standalone:  # a bug of this module: keep the export
        reason = f"the standalone model {what}: {type(error).__name__}: {error}"
        logger.warning("No standalone ONNX model written: %s", reason)
        return Standalone(None, (reason,))

    try:
        built = _build(program, variables, record, layers)
    except Exception as error:
        return failed("could not be built", error)
    if isinstance(built, Standalone):
        return built
    data, features = built
    try:
        _check(data, features, reference)
    except Exception as error:
        return failed("failed its check", error)
    return Standalone(data)


def _build(
    program: bytes,
    variables: Mapping[str, torch.Tensor],
    record: ModelRecord,
    layers: Sequence[DenseFeatures | LinearModel],
) -> tuple[bytes, dict[str, _Feature]] | Standalone:
    """The standalone model and its inputs, or a ``Standalone`` naming what blocks it."""
    import onnx

    blockers = [reason for layer in layers for column in layer.feature_columns for reason in blockers_of(column)]
    if blockers:
        return Standalone(None, tuple(dict.fromkeys(blockers)))
    graph = _Graph()
    for i, (layer, call) in enumerate(zip(layers, record.layers)):
        try:
            graph.layer(i, layer, call.inputs)
        except _Blocked as blocked:
            blockers.append(str(blocked))
    for key, spec in record.raw_inputs.items():
        try:
            x = graph.feature(key, spec.dtype, tuple(spec.shape or ()), [0, 1.5, -2, 40], "the model_fn")
            graph.op("Identity", [x], output=f"raw/{key}")
        except _Blocked as blocked:
            blockers.append(str(blocked))
    if blockers:
        return Standalone(None, tuple(dict.fromkeys(blockers)))
    model_proto = onnx.ModelProto()
    model_proto.ParseFromString(program)
    try:
        model = _assemble(graph, model_proto, variables, record)
    except _Blocked as blocked:
        return Standalone(None, (str(blocked),))
    return model.SerializeToString(), graph.features


def _check(
    data: bytes,
    features: Mapping[str, _Feature],
    reference: Callable[[Mapping[str, np.ndarray]], Mapping[str, np.ndarray]],
) -> None:
    """Raises unless the standalone model gives the export's outputs on a check batch."""
    import onnxruntime as ort

    batch = _check_batch(features)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(names, batch)))
    for name, expected in reference(batch).items():
        value = got[name]
        if expected.dtype == object:
            texts = [bytes(v) if isinstance(v, bytes) else str(v).encode() for v in value.reshape(-1)]
            same = texts == list(expected.reshape(-1))
        else:
            same = value.shape == expected.shape and np.allclose(value, expected, rtol=1e-5, atol=1e-5)
        if not same:
            raise NotExportableError(f"output {name!r} differs from the export's on a check batch")
