"""The export's tensor program as an ONNX model, and running it with onnxruntime.

The program's inputs are named ``variables/<checkpoint name>``, ``host/<layer>/<part>/<field>``
(the feature-column layers' host inputs, in the order the model calls its layers) and
``raw/<feature>``; its outputs by the model's output names. The variables are graph inputs, bound
from ``variables/`` at load time, so the ONNX file holds the computation only. ``_aten_onnx``
writes the programs of the operators it knows; ``to_onnx`` (``torch.onnx.export``) the others.

Loading reads the model as a protobuf and refuses, naming the problem, anything that would make
onnxruntime read other files or load code: external data, and operators outside the standard
domains (custom-op libraries). Nothing is unpickled, evaluated or compiled.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.export.graph_signature import InputKind
from torch.utils import _pytree as pytree

__all__ = ["input_names", "output_names", "to_onnx", "program_io", "OnnxProgram", "STANDARD_DOMAINS"]

#: Operator domains onnxruntime runs with its own kernels (no custom-op library).
STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "com.microsoft"})


def _named(
    variables: Iterable[Any], host: Sequence[Mapping[str, Any]], raw: Mapping[str, Any]
) -> Iterator[tuple[str, Any]]:
    """``(ONNX input name, value)`` of the program's ``(variables, host, raw)`` inputs, in its order
    (``variables`` by name only: the names are all they give)."""
    for k in variables:
        yield f"variables/{k}", None
    for i, layer in enumerate(host):
        for k, v in layer.items():
            yield f"host/{i}/{k}", v
    for k, v in raw.items():
        yield f"raw/{k}", v


def input_names(variables: Iterable[str], host: Sequence[Mapping[str, Any]], raw: Mapping[str, Any]) -> list[str]:
    """The ONNX input names of the program's ``(variables, host, raw)`` inputs, in its order."""
    return [name for name, _ in _named(variables, host, raw)]


def output_names(program: torch.export.ExportedProgram) -> list[str]:
    """The names of ``program``'s outputs (the keys of the dict it returns), in its output order."""
    count = program.call_spec.out_spec.num_leaves
    order = pytree.tree_unflatten(list(range(count)), program.call_spec.out_spec)
    return [name for name, _ in sorted(order.items(), key=lambda item: item[1])]


def to_onnx(program: torch.export.ExportedProgram, names: Sequence[str]) -> bytes:
    """The ONNX model (bytes) of ``program`` written by ``torch.onnx.export``, its inputs named
    ``names`` (see ``input_names``) and its outputs by the keys of the dict it returns."""
    user_inputs = [s for s in program.graph_signature.input_specs if s.kind == InputKind.USER_INPUT]
    assert len(user_inputs) == len(names), "one name per input of the program"
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exported = torch.onnx.export(
                program,
                dynamo=True,
                input_names=list(names),
                output_names=output_names(program),
                verbose=False,
                optimize=True,
            )
    finally:
        quiet.setLevel(level)
    assert exported is not None, "torch.onnx.export with dynamo=True returns the program"
    return bytes(exported.model_proto.SerializeToString())


def _check_model(data: bytes, path: str) -> Any:
    """The ModelProto of ``data``, once it references no other file and no custom operators."""
    import onnx

    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as e:  # protobuf's DecodeError
        raise ValueError(f"The export program {path} is not an ONNX model: {e}.") from None
    local = {f.domain for f in model.functions}
    problems: list[str] = []

    def external(tensor: Any, where: str) -> None:
        if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data):
            problems.append(f"{where}: tensor {tensor.name!r} refers to external data")

    def sparse(value: Any, where: str) -> None:
        external(value.values, where)
        external(value.indices, where)

    def nodes(node_list: Any, where: str) -> None:
        for node in node_list:
            if node.domain not in STANDARD_DOMAINS and node.domain not in local:
                problems.append(f"{where}: operator {node.domain}::{node.op_type} is not a standard onnxruntime one")
            for attribute in node.attribute:  # constants and subgraphs an operator carries
                if attribute.HasField("t"):
                    external(attribute.t, where)
                for tensor in attribute.tensors:
                    external(tensor, where)
                if attribute.HasField("sparse_tensor"):
                    sparse(attribute.sparse_tensor, where)
                for value in attribute.sparse_tensors:
                    sparse(value, where)
                for sub in [attribute.g] if attribute.HasField("g") else list(attribute.graphs):
                    graph(sub, f"{where}/{node.name}")

    def graph(g: Any, where: str) -> None:
        for tensor in g.initializer:
            external(tensor, where)
        for value in g.sparse_initializer:
            sparse(value, where)
        nodes(g.node, where)

    graph(model.graph, "graph")
    for function in model.functions:
        nodes(function.node, f"function {function.name}")
    if problems:
        raise ValueError(
            f"The export program {path} is refused: {'; '.join(problems[:5])}. An export's program runs only "
            "onnxruntime's own operators on its own inputs."
        )
    return model


def _io(values: Any) -> list[dict[str, Any]]:
    import onnx

    out = []
    for value in values:
        tensor = value.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in tensor.shape.dim]
        dtype = (
            "string"
            if tensor.elem_type == onnx.TensorProto.STRING
            else np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)).name
        )
        out.append({"name": value.name, "dtype": dtype, "shape": dims})
    return out


def program_io(data: bytes, path: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The program's inputs and outputs: ``{name, dtype, shape}`` each, a dynamic dimension by its
    name (``s0``, ...: the batch, or a bag's number of ids)."""
    model = _check_model(data, path)
    return _io(model.graph.input), _io(model.graph.output)


class OnnxProgram:
    """An export's ONNX program in an onnxruntime session, with its variables bound.

    A call runs on torch's intra-op thread count (``torch.set_num_threads``, as ``serve`` sets it).
    The variables must be the ones the program takes (names, shapes, dtypes), or a ValueError
    names every one that does not fit.
    """

    def __init__(
        self,
        data: bytes,
        path: str,
        variables: Mapping[str, torch.Tensor],
        variables_path: str = "the export's variables",
    ) -> None:
        import onnxruntime as ort

        inputs, _ = program_io(data, path)
        expected = {i["name"][len("variables/") :]: i for i in inputs if i["name"].startswith("variables/")}
        self._check_variables(variables, expected, variables_path, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        # Idle pool threads sleep instead of spinning: spinning takes the cores that concurrent
        # requests (and the host half) need, which a loaded or small machine does not have.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        if "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self._session = ort.InferenceSession(data, sess_options=options, providers=providers)
        except Exception as e:  # onnxruntime's own errors: name the file
            raise ValueError(f"The export program {path} cannot be loaded by onnxruntime: {e}") from None
        self.input_names = {i.name for i in self._session.get_inputs()}
        self.output_names = [o.name for o in self._session.get_outputs()]
        self._bound = {
            f"variables/{k}": np.ascontiguousarray(v.detach().cpu().numpy())
            for k, v in variables.items()
            if f"variables/{k}" in self.input_names
        }

    @staticmethod
    def _check_variables(
        variables: Mapping[str, torch.Tensor], expected: Mapping[str, dict[str, Any]], variables_path: str, path: str
    ) -> None:
        def describe(shape: Sequence[Any], dtype: str) -> str:
            return f"{list(shape)} {dtype}"

        missing = [name for name in expected if name not in variables]
        unexpected = sorted(name for name in variables if name not in expected)
        mismatched = []
        for name, want in expected.items():
            if name in variables:
                have = variables[name]
                dtype = str(have.dtype).removeprefix("torch.")
                if list(have.shape) != want["shape"] or dtype != want["dtype"]:
                    mismatched.append(
                        f"{name!r} is {describe(have.shape, dtype)} but the program expects "
                        f"{describe(want['shape'], want['dtype'])}"
                    )
        problems = (
            [f"missing variables {missing}"] * bool(missing)
            + [f"unexpected variables {unexpected}"] * bool(unexpected)
            + mismatched
        )
        if problems:
            raise ValueError(
                f"The export variables file {variables_path} does not match the program {path}: {'; '.join(problems)}."
            )

    def __call__(
        self, host: Sequence[Mapping[str, torch.Tensor]], raw: Mapping[str, torch.Tensor]
    ) -> dict[str, np.ndarray]:
        """The program's outputs, by name, for one batch's host inputs and raw features."""
        return dict(zip(self.output_names, self._session.run(self.output_names, self.feed(host, raw))))

    def feed(
        self, host: Sequence[Mapping[str, torch.Tensor]], raw: Mapping[str, torch.Tensor]
    ) -> dict[str, np.ndarray]:
        """Every input of the program by its ONNX name, the variables included, for one batch."""
        feed: dict[str, Any] = dict(self._bound)
        names = self.input_names
        for name, value in _named((), host, raw):
            if name in names:
                feed[name] = value.numpy()
        return feed
