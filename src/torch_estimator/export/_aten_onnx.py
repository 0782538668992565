"""The exported program's ATen graph written as ONNX directly, for the operators canned models use.

``torch.onnx.export`` imports onnxscript and its operator registry, decomposes the program again
and optimises the result: seconds per export, most of a first export's time. The programs of the
canned estimators use a few dozen ATen operators, each one or a few ONNX operators, so
``translate`` writes them here. A graph holding any other operator (a custom model_fn may use
anything) raises ``Unsupported``, and the caller falls back to ``torch.onnx.export``; the caller
also checks the result against the program, on the sample batch and on random values.

Values: tensors by their ONNX names; symbolic sizes (``sym_size``) as int64 ``[1]`` tensors;
Python scalars and lists as they are.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.export.graph_signature import InputKind
from torch.utils import _pytree as pytree

__all__ = ["Unsupported", "translate", "OPSET"]

#: The ONNX opset written (the one onnxruntime and torch.onnx's default agree on).
OPSET = 20
_INT64_MAX = 2**63 - 1

aten = torch.ops.aten


class Unsupported(Exception):
    """The graph holds something this translator does not write (the caller falls back)."""


def _onnx_type(dtype: torch.dtype) -> int:
    import onnx

    types = {
        torch.float32: onnx.TensorProto.FLOAT,
        torch.float64: onnx.TensorProto.DOUBLE,
        torch.float16: onnx.TensorProto.FLOAT16,
        torch.int64: onnx.TensorProto.INT64,
        torch.int32: onnx.TensorProto.INT32,
        torch.int16: onnx.TensorProto.INT16,
        torch.int8: onnx.TensorProto.INT8,
        torch.uint8: onnx.TensorProto.UINT8,
        torch.bool: onnx.TensorProto.BOOL,
    }
    if dtype not in types:
        raise Unsupported(f"dtype {dtype}")
    return types[dtype]


def _numpy_dtype(dtype: torch.dtype) -> np.dtype:
    return torch.empty(0, dtype=dtype).numpy().dtype


class _Writer:
    def __init__(self) -> None:
        import onnx

        self.onnx = onnx
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, value: Any, dtype: torch.dtype | np.dtype | None = None) -> str:
        array = np.asarray(value, dtype=_numpy_dtype(dtype) if isinstance(dtype, torch.dtype) else dtype)
        name = self.fresh("const")
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], outputs: int = 1, **attrs: Any) -> Any:
        names = [self.fresh(op_type.lower()) for _ in range(outputs)]
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), names, **attrs))
        return names[0] if outputs == 1 else names


def _val(node: torch.fx.Node) -> Any:
    return node.meta.get("val")


class _Translator:
    def __init__(self, writer: _Writer) -> None:
        self.w = writer

    # -- values ---------------------------------------------------------------------------------

    def value(self, arg: Any, env: dict[torch.fx.Node, Any]) -> Any:
        if isinstance(arg, torch.fx.Node):
            return env[arg]
        if isinstance(arg, (list, tuple)):
            return [self.value(a, env) for a in arg]
        return arg

    def sizes(self, items: Sequence[Any]) -> str:
        """An int64 ``[len(items)]`` tensor of sizes (ints, or ``[1]`` tensors of symbolic sizes)."""
        if all(isinstance(i, int) for i in items):
            return self.w.const(np.array(items, dtype=np.int64))
        pieces = [i if isinstance(i, str) else self.w.const(np.array([i], dtype=np.int64)) for i in items]
        return self.w.op("Concat", pieces, axis=0)

    def operand(self, value: Any, dtype: torch.dtype) -> str:
        """A tensor operand of ``dtype``: a tensor cast if needed, or a scalar as a constant."""
        if isinstance(value, str):
            return value
        if isinstance(value, (bool, int, float)):
            return self.w.const(value, dtype)
        raise Unsupported(f"operand {value!r}")

    def cast(self, name: str, source: torch.dtype, target: torch.dtype) -> str:
        return name if source == target else self.w.op("Cast", [name], to=_onnx_type(target))

    # -- graphs ---------------------------------------------------------------------------------

    def graph(self, module: torch.fx.GraphModule, inputs: Sequence[Any]) -> list[Any]:
        """Writes ``module``'s graph with its placeholders bound to ``inputs``; its outputs."""
        env: dict[torch.fx.Node, Any] = {}
        placeholders = iter(inputs)
        for node in module.graph.nodes:
            if node.op == "placeholder":
                env[node] = next(placeholders)
            elif node.op == "get_attr":
                env[node] = getattr(module, str(node.target))
            elif node.op == "call_function":
                env[node] = self.call(node, env)
            elif node.op == "output":
                return [self.value(a, env) for a in pytree.tree_leaves(node.args[0])]
            else:
                raise Unsupported(f"node kind {node.op}")
        raise Unsupported("a graph without output")

    def call(self, node: torch.fx.Node, env: dict[torch.fx.Node, Any]) -> Any:
        target = node.target
        if target is operator.getitem:
            return self.value(node.args[0], env)[node.args[1]]
        if getattr(target, "__name__", "") == "wrap_with_set_grad_enabled":
            sub = self.value(node.args[1], env)
            return self.graph(sub, [self.value(a, env) for a in node.args[2:]])
        rule = _RULES.get(target)
        if rule is None:
            raise Unsupported(f"operator {target}")
        args = [self.value(a, env) for a in node.args]
        kwargs = {k: self.value(v, env) for k, v in node.kwargs.items()}
        return rule(self, node, args, kwargs)


# -- operator rules: (translator, node, args, kwargs) -> value ----------------------------------------

_Rule = Callable[[_Translator, torch.fx.Node, list[Any], dict[str, Any]], Any]
_RULES: dict[Any, _Rule] = {}


def _rule(*targets: Any) -> Callable[[_Rule], _Rule]:
    def register(fn: _Rule) -> _Rule:
        for t in targets:
            _RULES[t] = fn
        return fn

    return register


def _dtype_of(node: torch.fx.Node) -> torch.dtype:
    val = _val(node)
    if not isinstance(val, torch.Tensor):
        raise Unsupported(f"{node.target} without tensor metadata")
    return val.dtype


def _input_dtype(arg: Any) -> torch.dtype | None:
    return _val(arg).dtype if isinstance(arg, torch.fx.Node) and isinstance(_val(arg), torch.Tensor) else None


def _compared_dtype(a: Any, b: Any) -> torch.dtype:
    """The dtype torch compares ``a`` and ``b`` in (``torch.result_type``: a 0-dim tensor or a
    Python scalar promotes only across categories, e.g. an integer tensor with a float)."""

    def proxy(value: Any) -> Any:
        val = _val(value) if isinstance(value, torch.fx.Node) else None
        if isinstance(val, torch.Tensor):
            return torch.empty((1,) * min(val.dim(), 1), dtype=val.dtype)
        if isinstance(value, (bool, int, float)):
            return value
        raise Unsupported(f"a comparison with {value!r}")

    if not any(isinstance(_val(v), torch.Tensor) for v in (a, b) if isinstance(v, torch.fx.Node)):
        raise Unsupported("a comparison of two scalars")
    return torch.result_type(proxy(a), proxy(b))


def _binary(onnx_op: str, compare: bool = False) -> _Rule:
    def rule(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if kwargs.get("alpha", 1) != 1 or len(args) > 2:
            raise Unsupported(f"{node.target} with alpha")
        a, b = args
        out = _dtype_of(node)
        # Compute in the promoted dtype of the operands (the output's, except for comparisons).
        common = out if not compare else _compared_dtype(node.args[0], node.args[1])
        names = []
        for raw, value in zip(node.args[:2], (a, b)):
            source = _input_dtype(raw)
            names.append(t.operand(value, common) if source is None else t.cast(value, source, common))
        return t.w.op(onnx_op, names)

    return rule


_rule(aten.add.Tensor, aten.add.Scalar)(_binary("Add"))
_rule(aten.sub.Tensor, aten.sub.Scalar)(_binary("Sub"))
_rule(aten.mul.Tensor, aten.mul.Scalar)(_binary("Mul"))
_rule(aten.gt.Scalar, aten.gt.Tensor)(_binary("Greater", compare=True))
_rule(aten.lt.Scalar, aten.lt.Tensor)(_binary("Less", compare=True))
_rule(aten.ge.Scalar, aten.ge.Tensor)(_binary("GreaterOrEqual", compare=True))
_rule(aten.le.Scalar, aten.le.Tensor)(_binary("LessOrEqual", compare=True))
_rule(aten.eq.Scalar, aten.eq.Tensor)(_binary("Equal", compare=True))


_TRUE_DIVIDE = _binary("Div")


@_rule(aten.div.Tensor, aten.div.Scalar)
def _div(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if kwargs.get("rounding_mode") is not None or not _dtype_of(node).is_floating_point:
        raise Unsupported("integer division")
    return _TRUE_DIVIDE(t, node, args, {})


def _unary(onnx_op: str) -> _Rule:
    def rule(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return t.w.op(onnx_op, [args[0]])

    return rule


for _target, _op in (
    (aten.relu.default, "Relu"),
    (aten.sigmoid.default, "Sigmoid"),
    (aten.tanh.default, "Tanh"),
    (aten.exp.default, "Exp"),
    (aten.log.default, "Log"),
    (aten.neg.default, "Neg"),
    (aten.abs.default, "Abs"),
    (aten.reciprocal.default, "Reciprocal"),
    (aten.sqrt.default, "Sqrt"),
    (aten.logical_not.default, "Not"),
    (aten.clone.default, "Identity"),
    (aten.alias.default, "Identity"),
    (aten.detach.default, "Identity"),
    (aten.lift_fresh_copy.default, "Identity"),
    (aten.detach_.default, "Identity"),
):
    _rule(_target)(_unary(_op))


@_rule(aten.log1p.default)
def _log1p(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    # log(1 + x) * x / ((1 + x) - 1) keeps log1p's precision for tiny x.
    dtype = _dtype_of(node)
    x = args[0]
    u = t.w.op("Add", [x, t.w.const(1, dtype)])
    d = t.w.op("Sub", [u, t.w.const(1, dtype)])
    scaled = t.w.op("Div", [t.w.op("Mul", [t.w.op("Log", [u]), x]), d])
    exact = t.w.op("Or", [t.w.op("Equal", [d, t.w.const(0, dtype)]), t.w.op("IsInf", [x], detect_negative=0)])
    return t.w.op("Where", [exact, x, scaled])  # x: where 1 + x == 1, and for +inf


@_rule(aten.rsqrt.default)
def _rsqrt(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return t.w.op("Reciprocal", [t.w.op("Sqrt", [args[0]])])


@_rule(aten._assert_tensor_metadata.default)
def _skip(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return None


@_rule(aten.sym_size.int)
def _sym_size(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    rank = len(_val(node.args[0]).shape)  # type: ignore[arg-type]
    dim = args[1] % rank
    return t.w.op("Shape", [args[0]], start=dim, end=dim + 1)


@_rule(aten.addmm.default)
def _addmm(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    bias, m1, m2 = args[:3]
    alpha, beta = float(kwargs.get("alpha", 1.0)), float(kwargs.get("beta", 1.0))
    if beta == 0:  # torch ignores the bias then (its NaNs included)
        return t.w.op("Gemm", [m1, m2], alpha=alpha)
    return t.w.op("Gemm", [m1, m2, bias], alpha=alpha, beta=beta)


@_rule(aten.linear.default)
def _linear(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x, weight = args[:2]
    bias = args[2] if len(args) > 2 else None
    if len(_val(node.args[0]).shape) == 2:  # type: ignore[arg-type]
        return t.w.op("Gemm", [x, weight] + ([bias] if bias is not None else []), transB=1)
    out = t.w.op("MatMul", [x, t.w.op("Transpose", [weight], perm=[1, 0])])
    return out if bias is None else t.w.op("Add", [out, bias])


@_rule(aten.matmul.default, aten.mm.default)
def _matmul(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return t.w.op("MatMul", args[:2])


@_rule(aten.t.default)
def _transpose(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return t.w.op("Transpose", [args[0]], perm=[1, 0])


@_rule(aten.softmax.int, aten._softmax.default)
def _softmax(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return t.w.op("Softmax", [args[0]], axis=args[1])


@_rule(aten.argmax.default)
def _argmax(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    dim = args[1] if len(args) > 1 else kwargs.get("dim")
    keepdim = args[2] if len(args) > 2 else kwargs.get("keepdim", False)
    if dim is None:
        raise Unsupported("argmax over all dimensions")
    return t.w.op("ArgMax", [args[0]], axis=dim, keepdims=int(bool(keepdim)), select_last_index=0)


@_rule(aten.clamp.default, aten.clamp_min.default, aten.clamp_max.default)
def _clamp(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    dtype = _dtype_of(node)
    if node.target == aten.clamp_max.default:
        low, high = None, args[1]
    else:
        low = args[1] if len(args) > 1 else kwargs.get("min")
        high = args[2] if len(args) > 2 else kwargs.get("max")
    bounds = ["" if b is None else t.operand(b, dtype) for b in (low, high)]
    while bounds and bounds[-1] == "":
        bounds.pop()
    return t.w.op("Clip", [args[0], *bounds])


@_rule(aten.cat.default)
def _cat(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
    rank = len(_val(node).shape)
    return t.w.op("Concat", list(args[0]), axis=dim % rank)


@_rule(aten.unsqueeze.default)
def _unsqueeze(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    rank = len(_val(node).shape)
    return t.w.op("Unsqueeze", [args[0], t.w.const(np.array([args[1] % rank], np.int64))])


@_rule(aten.squeeze.dims, aten.squeeze.dim)
def _squeeze(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    rank = len(_val(node.args[0]).shape)  # type: ignore[arg-type]
    dims = args[1] if isinstance(args[1], list) else [args[1]]
    return t.w.op("Squeeze", [args[0], t.w.const(np.array([d % rank for d in dims], np.int64))])


@_rule(aten.reshape.default, aten.view.default)
def _reshape(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return t.w.op("Reshape", [args[0], t.sizes(args[1])], allowzero=1)  # a size 0 is 0, as in torch


@_rule(aten.expand.default)
def _expand(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x, sizes = args[0], list(args[1])
    rank = len(sizes)
    source_rank = len(_val(node.args[0]).shape)  # type: ignore[arg-type]
    for i, size in enumerate(sizes):
        if isinstance(size, int) and size == -1:
            dim = i - (rank - source_rank)
            sizes[i] = t.w.op("Shape", [x], start=dim, end=dim + 1)
    return t.w.op("Expand", [x, t.sizes(sizes)])


@_rule(aten.slice.Tensor)
def _slice(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = args[0]
    dim = args[1] if len(args) > 1 else 0
    start = args[2] if len(args) > 2 and args[2] is not None else 0
    end = args[3] if len(args) > 3 and args[3] is not None else _INT64_MAX
    step = args[4] if len(args) > 4 else 1
    end = min(end, _INT64_MAX) if isinstance(end, int) else end
    rank = len(_val(node.args[0]).shape)  # type: ignore[arg-type]
    return t.w.op(
        "Slice",
        [x, t.sizes([start]), t.sizes([end]), t.w.const(np.array([dim % rank], np.int64)), t.sizes([step])],
    )


@_rule(aten.index_select.default)
def _index_select(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return t.w.op("Gather", [args[0], args[2]], axis=args[1])


@_rule(aten.index_add.default)
def _index_add(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    target, dim, index, source = args[:4]
    if kwargs.get("alpha", 1) != 1 or dim != 0 or len(_val(node.args[3]).shape) != 2:  # type: ignore[arg-type]
        raise Unsupported("index_add other than rows of a matrix")
    indices = t.w.op(
        "Expand",
        [t.w.op("Unsqueeze", [index, t.w.const(np.array([1], np.int64))]), t.w.op("Shape", [source])],
    )
    return t.w.op("ScatterElements", [target, indices, source], axis=0, reduction="add")


@_rule(aten.linalg_vector_norm.default)
def _norm(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    order = args[1] if len(args) > 1 else kwargs.get("ord", 2)
    dims = args[2] if len(args) > 2 else kwargs.get("dim")
    keepdim = args[3] if len(args) > 3 else kwargs.get("keepdim", False)
    if order != 2 or dims is None or kwargs.get("dtype") is not None:
        raise Unsupported("a norm other than L2 over given dimensions")
    rank = len(_val(node.args[0]).shape)  # type: ignore[arg-type]
    axes = t.w.const(np.array([d % rank for d in dims], np.int64))
    return t.w.op("ReduceL2", [args[0], axes], keepdims=int(bool(keepdim)))


@_rule(aten.sum.dim_IntList, aten.mean.dim)
def _reduce(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    dims = args[1] if len(args) > 1 else kwargs.get("dim")
    keepdim = args[2] if len(args) > 2 else kwargs.get("keepdim", False)
    if not dims or kwargs.get("dtype") is not None:
        raise Unsupported("a reduction over all dimensions or to another dtype")
    rank = len(_val(node.args[0]).shape)  # type: ignore[arg-type]
    axes = t.w.const(np.array([d % rank for d in dims], np.int64))
    op = "ReduceSum" if node.target == aten.sum.dim_IntList else "ReduceMean"
    return t.w.op(op, [args[0], axes], keepdims=int(bool(keepdim)))


@_rule(aten.where.self)
def _where(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    dtype = _dtype_of(node)
    branches = []
    for raw, value in zip(node.args[1:3], args[1:3]):
        source = _input_dtype(raw)
        branches.append(t.operand(value, dtype) if source is None else t.cast(value, source, dtype))
    return t.w.op("Where", [args[0], *branches])


@_rule(aten.to.dtype, aten.to.dtype_layout, aten._to_copy.default)
def _to(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    source = _input_dtype(node.args[0])
    if source is None:
        raise Unsupported("conversion of a non-tensor")
    return t.cast(args[0], source, _dtype_of(node)) if source != _dtype_of(node) else t.w.op("Identity", [args[0]])


@_rule(aten.zeros.default, aten.ones.default, aten.full.default)
def _filled(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    dtype = _dtype_of(node)
    fills: dict[Any, Any] = {aten.zeros.default: 0, aten.ones.default: 1}
    fill = fills.get(node.target, args[1] if len(args) > 1 else None)
    if not isinstance(fill, (int, float, bool)):
        raise Unsupported("a fill value that is not a number")
    value = t.w.onnx.numpy_helper.from_array(np.array([fill], dtype=_numpy_dtype(dtype)), "value")
    return t.w.op("ConstantOfShape", [t.sizes(list(args[0]))], value=value)


@_rule(aten.zeros_like.default, aten.ones_like.default)
def _filled_like(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    dtype = _dtype_of(node)
    fill = 0 if node.target == aten.zeros_like.default else 1
    value = t.w.onnx.numpy_helper.from_array(np.array([fill], dtype=_numpy_dtype(dtype)), "value")
    return t.w.op("ConstantOfShape", [t.w.op("Shape", [args[0]])], value=value)


@_rule(aten.arange.default, aten.arange.start, aten.arange.start_step)
def _arange(t: _Translator, node: torch.fx.Node, args: list[Any], kwargs: dict[str, Any]) -> Any:
    dtype = _dtype_of(node)
    bounds = list(args) + [None] * (3 - len(args))
    if node.target == aten.arange.default:
        start, end, step = 0, bounds[0], 1
    else:
        start, end, step = bounds[0], bounds[1], bounds[2] if bounds[2] is not None else 1
    if not all(isinstance(v, (int, str)) for v in (start, end, step)):
        raise Unsupported("arange with non-integer bounds")
    scalars = [t.w.op("Squeeze", [v]) if isinstance(v, str) else t.w.const(np.int64(v)) for v in (start, end, step)]
    return t.cast(t.w.op("Range", scalars), torch.int64, dtype)


def _tensor_info(name: str, val: Any) -> Any:
    import onnx

    dims = [d if isinstance(d, int) else str(d) for d in val.shape]
    return onnx.helper.make_tensor_value_info(name, _onnx_type(val.dtype), dims)


def translate(program: torch.export.ExportedProgram, names: Sequence[str], output_names: Sequence[str]) -> bytes:
    """The ONNX model (bytes) of ``program``, inputs named ``names`` and outputs ``output_names``
    (in the program's output order). Raises ``Unsupported`` for anything it does not write."""
    import onnx

    writer = _Writer()
    translator = _Translator(writer)
    graph_module = program.graph_module
    placeholders = [n for n in graph_module.graph.nodes if n.op == "placeholder"]
    specs = program.graph_signature.input_specs
    inputs, bound = [], []
    user = iter(names)
    for node, spec in zip(placeholders, specs):
        if spec.kind == InputKind.USER_INPUT:
            name = next(user)
            val = _val(node)
            if not isinstance(val, torch.Tensor):
                raise Unsupported("a non-tensor input")
            inputs.append(_tensor_info(name, val))
            bound.append(name)
        elif spec.kind in (InputKind.PARAMETER, InputKind.BUFFER, InputKind.CONSTANT_TENSOR):
            key = str(spec.target)
            tensor = program.state_dict[key] if key in program.state_dict else program.constants.get(key)
            if not isinstance(tensor, torch.Tensor):
                raise Unsupported(f"input {spec.target}")
            bound.append(writer.const(tensor.detach().cpu().numpy()))
        else:
            raise Unsupported(f"input kind {spec.kind}")
    outputs = translator.graph(graph_module, bound)
    output_node = next(n for n in graph_module.graph.nodes if n.op == "output")
    out_vals = [_val(a) for a in pytree.tree_leaves(output_node.args[0])]
    if len(outputs) != len(output_names) or not all(isinstance(o, str) for o in outputs):
        raise Unsupported("outputs that are not tensors")
    taken: set[str] = set(bound)
    infos = []
    for name, value, val in zip(output_names, outputs, out_vals):
        if value in taken:  # an input or another output returned as is: an output of its own
            value = writer.op("Identity", [value])
        writer.nodes.append(onnx.helper.make_node("Identity", [value], [name]))
        taken.add(value)
        infos.append(_tensor_info(name, val))
    graph = onnx.helper.make_graph(writer.nodes, "program", inputs, infos, initializer=writer.initializers)
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)])
    model.ir_version = 10
    model.producer_name = "torch_estimator"
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())
