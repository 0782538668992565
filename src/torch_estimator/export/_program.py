"""Tracing a model_fn in PREDICT mode into a ``torch.export`` program (the tensor half, saved as
ONNX), with the host half (receiver, feature-column layers, string tables) as data.

The program is a pure function ``program(variables, host, raw) -> outputs``: ``variables`` by
checkpoint name, ``host`` the per-layer-call host inputs (``HostInputs.tensors()``), ``raw`` the
numeric features the model may use directly. Variables are inputs rather than program state so
they are written as safetensors with their TensorFlow-style names.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from torch_estimator._core.batches import to_model_input
from torch_estimator._core.export_output import get_export_outputs
from torch_estimator._core.mode_keys import ModeKeys
from torch_estimator._core.parse_spec import FixedLenFeature, VarLenFeature
from torch_estimator._core.spec import EstimatorSpec
from torch_estimator._core.trace import Bag, HostInputs, HostPart, NotExportableError, tracing
from torch_estimator._core.values import RaggedValue
from torch_estimator._core.variables import VariableStore
from torch_estimator.export._aten_onnx import Unsupported, translate
from torch_estimator.export._onnx import OnnxProgram, input_names, output_names, to_onnx
from torch_estimator.export._receivers import (
    ParsedFeature,
    Placeholder,
    ServingInputReceiver,
    TensorServingInputReceiver,
)
from torch_estimator.export._schema import (
    PROGRAM_FILE,
    LayerCall,
    ModelRecord,
    Receiver,
    ReceiverFeature,
    SignatureOutputs,
    TensorSpec,
)
from torch_estimator.export._standalone import Standalone, standalone_onnx
from torch_estimator.export._tracing import Recorder, Replayer
from torch_estimator.feature_column._base import Transformer
from torch_estimator.feature_column._layers import layer_from_config

__all__ = [
    "ModelCall",
    "TracedModel",
    "trace_model",
    "receiver_schema",
    "sample_features",
    "flatten_outputs",
    "host_half",
]

#: ``(store, features, labels, mode) -> EstimatorSpec``: one call of the model_fn with ``store`` active.
ModelCall = Callable[[VariableStore, Any, Any, str], EstimatorSpec]

logger = logging.getLogger("torch_estimator")

_SAMPLE_BATCH = 3
_SAMPLE_BAG = 5


class HostOnlyFeature:
    """Stands for a string or ragged feature while tracing: usable only through feature columns."""

    def __init__(self, key: str) -> None:
        self.key = key

    def _fail(self, use: str) -> Any:
        raise NotExportableError(
            f"The model_fn uses feature {self.key!r} (strings or ragged values) outside feature columns "
            f"({use}); only feature-column layers can turn such features into tensors in an exported model."
        )

    def __getattr__(self, name: str) -> Any:
        return self._fail(f".{name}")

    def __iter__(self) -> Any:
        return self._fail("iteration")

    def __len__(self) -> int:
        return self._fail("len()")

    def __getitem__(self, index: Any) -> Any:
        return self._fail("indexing")

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fail("conversion to an array")


# -- receivers as data --------------------------------------------------------------------------


def receiver_schema(receiver: Any) -> Receiver:
    """The receiver as data: its tensors and how each feature is made from them."""
    if not isinstance(receiver, (ServingInputReceiver, TensorServingInputReceiver)):
        raise ValueError(
            "serving_input_receiver_fn must return a ServingInputReceiver or TensorServingInputReceiver; "
            f"got {receiver!r}."
        )
    names = {id(p): name for name, p in receiver.receiver_tensors.items()}
    tensors = {
        name: TensorSpec(p.dtype, None if p.shape is None else tuple(-1 if d is None else d for d in p.shape))
        for name, p in receiver.receiver_tensors.items()
    }
    single = isinstance(receiver, TensorServingInputReceiver)
    features: Mapping[str, Placeholder | ParsedFeature] = (
        {"feature": receiver.features} if single else receiver.features
    )
    return Receiver(
        tensors,
        {
            key: ReceiverFeature(names[id(value)])
            if isinstance(value, Placeholder)
            else ReceiverFeature(names[id(value.source)], value.key, value.spec)
            for key, value in features.items()
        },
        single,
    )


def sample_features(receiver: Receiver) -> dict[str, Any]:
    """A small batch of features of the receiver's types and shapes, zeros and empty strings: what
    the model_fn is traced on, and what a loaded export is checked with against the outputs the
    export recorded for it (``sample_outputs``)."""
    out: dict[str, Any] = {}
    for key, feature in receiver.features.items():
        spec = feature.spec
        if isinstance(spec, VarLenFeature):
            values = _sample_array(spec.dtype, (_SAMPLE_BATCH * 2,))
            out[key] = RaggedValue(values, np.arange(0, _SAMPLE_BATCH * 2 + 1, 2))
        elif isinstance(spec, FixedLenFeature):
            out[key] = _sample_array(spec.dtype, (_SAMPLE_BATCH, *spec.shape))
        else:
            tensor = receiver.tensors[feature.receiver]
            shape = tensor.shape if tensor.shape is not None else (-1,)
            out[key] = _sample_array(tensor.dtype, tuple(_SAMPLE_BATCH if d == -1 else d for d in shape))
    return out


def _sample_array(dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    if dtype == "string":
        return np.full(shape, b"", dtype=object)
    return np.zeros(shape, dtype=np.dtype(dtype))


def host_half(
    layers: Sequence[Any], raw_inputs: Iterable[str], features: Mapping[str, Any]
) -> tuple[list[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    """The program's inputs for a batch of features: each layer call's host inputs (``layers``
    rebuilt from the export's data) and the raw features named ``raw_inputs``."""
    model_input = to_model_input(dict(features), torch.device("cpu"))
    transformer = Transformer(model_input)
    host = [layer.host_inputs(transformer).tensors() for layer in layers]
    return host, {k: model_input[k] for k in raw_inputs}


# -- the program --------------------------------------------------------------------------------


def flatten_outputs(
    spec: Any, trace: Recorder | Replayer
) -> tuple[dict[str, torch.Tensor], dict[str, tuple[bytes, ...]], dict[str, SignatureOutputs]]:
    """Program outputs by name, string tables by output name, and per signature its kind and
    ``{signature output: program output}`` (the same names in record and replay)."""
    export_outputs = get_export_outputs(spec.export_outputs, spec.predictions)
    tensors: dict[str, torch.Tensor] = {}
    tables: dict[str, tuple[bytes, ...]] = {}
    names: dict[int, str] = {}

    def add(name: str, value: Any) -> str:
        if id(value) in names:
            return names[id(value)]
        strings = trace.string_source(value)
        if strings is not None:
            tensor, table = strings
        elif isinstance(value, torch.Tensor):
            tensor, table = value, None
        else:
            raise NotExportableError(
                f"Output {name!r} is a {type(value).__name__}; an exported model's outputs must be tensors (or class "
                "names from a head), not values computed outside torch."
            )
        unique = name
        while unique in tensors:
            unique += "_"
        tensors[unique] = tensor
        if table is not None:
            tables[unique] = table
        names[id(value)] = unique
        return unique

    predictions = spec.predictions if isinstance(spec.predictions, dict) else {"output": spec.predictions}
    for key, value in predictions.items():
        add("/".join(map(str, key)) if isinstance(key, tuple) else str(key), value)
    signatures: dict[str, SignatureOutputs] = {}
    for sig in sorted(export_outputs):
        output = export_outputs[sig]
        outputs = {k: add(f"{sig}/{k}", v) for k, v in output.outputs().items()}
        signatures[sig] = SignatureOutputs(type(output).__name__, outputs)
    return tensors, tables, signatures


@contextlib.contextmanager
def _substituted_modules(store: VariableStore, values: Mapping[str, torch.Tensor]) -> Iterator[None]:
    """Temporarily points the store's modules' parameters and buffers at ``values``."""
    swapped: list[tuple[dict[str, Any], str, Any]] = []
    try:
        for prefix, mod in store.modules().items():
            for path, _ in list(mod.named_parameters()) + list(mod.named_buffers()):
                name = "/".join(filter(None, [prefix, path.replace(".", "/")]))
                owner_path, _, attr = path.rpartition(".")
                owner = mod.get_submodule(owner_path) if owner_path else mod
                table: dict[str, Any] = owner._parameters if attr in owner._parameters else owner._buffers
                swapped.append((table, attr, table[attr]))
                table[attr] = values[name]
        yield
    finally:
        for table, attr, original in reversed(swapped):
            table[attr] = original


class _Program(torch.nn.Module):
    def __init__(
        self,
        call_model_fn: ModelCall,
        store: VariableStore,
        recorded: Sequence[HostInputs],
        host_features: set[str],
        single_feature: bool,
    ) -> None:
        super().__init__()
        self._call_model_fn = call_model_fn
        self._store = store
        self._recorded = recorded
        self._host_features = host_features
        self._single = single_feature

    def forward(
        self, variables: dict[str, torch.Tensor], host: list[dict[str, torch.Tensor]], raw: dict[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        trace = Replayer(self._recorded, host)
        features: dict[str, Any] = dict(raw)
        features.update({key: HostOnlyFeature(key) for key in self._host_features})
        model_features: Any = features["feature"] if self._single else features
        store = self._store.with_values(variables)  # its modules are shared, and substituted here
        with tracing(trace), _substituted_modules(self._store, variables), torch.no_grad():
            spec = self._call_model_fn(store, model_features, None, ModeKeys.PREDICT)
            outputs, _, _ = flatten_outputs(spec, trace)
        return outputs


class TracedModel:
    """Everything an export holds: the program (ONNX bytes), the variables, what tracing recorded,
    and the standalone model (raw features in) or what blocks it."""

    def __init__(
        self, program: bytes, variables: dict[str, torch.Tensor], record: ModelRecord, standalone: Standalone
    ) -> None:
        self.program = program
        self.variables = variables
        self.record = record
        self.standalone = standalone


def _sample_part(part: HostPart) -> HostPart:
    """Host inputs of safe sizes (batch 3, 5 ids per bag: no dimension specialised to 0 or 1)."""
    if isinstance(part, Bag):
        return Bag(
            torch.zeros(_SAMPLE_BAG, dtype=part.ids.dtype),
            torch.tensor([0, 2, 4], dtype=part.offsets.dtype),
            torch.ones(_SAMPLE_BAG, dtype=torch.float32),
            None if part.rows is None else torch.tensor([0, 0, 1, 1, 2], dtype=part.rows.dtype),
        )
    return part.replaced(
        {field: torch.zeros((_SAMPLE_BATCH, *v.shape[1:]), dtype=v.dtype) for field, v in part.fields()}
    )


def _dynamic_dims(sample: HostInputs, bag_dims: Mapping[str, Any], batch: Any) -> dict[str, Any]:
    """Per tensor of ``sample`` its dynamic first dimension: a bag's own for its ids (weights,
    rows), the batch for its offsets and every other tensor."""
    return sample.map_tensors(
        lambda name, part, field, _: {0: bag_dims[name] if name in bag_dims and field != "offsets" else batch}
    )


def _example_inputs(
    recorded: Sequence[HostInputs], raw: Mapping[str, torch.Tensor]
) -> tuple[list[dict[str, torch.Tensor]], dict[str, torch.Tensor], list[dict[str, Any]], dict[str, Any]]:
    """Example inputs of safe sizes and their dynamic dimensions: the batch, and per bag its ids."""
    batch = torch.export.Dim("batch")
    examples: list[dict[str, torch.Tensor]] = []
    dims: list[dict[str, Any]] = []
    for i, host in enumerate(recorded):
        bags = [name for name, part in host.parts.items() if isinstance(part, Bag)]
        bag_dims = {name: torch.export.Dim(f"bag_{i}_{j}") for j, name in enumerate(bags)}
        sample = HostInputs({name: _sample_part(part) for name, part in host.parts.items()})
        examples.append(sample.tensors())
        dims.append(_dynamic_dims(sample, bag_dims, batch))
    raw_examples = {k: torch.zeros((_SAMPLE_BATCH, *v.shape[1:]), dtype=v.dtype) for k, v in raw.items()}
    raw_dims = {k: ({0: batch} if v.dim() >= 1 else None) for k, v in raw.items()}
    return examples, raw_examples, dims, raw_dims


def _random_floats(tensors: Mapping[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
    return {
        k: torch.randn(v.shape, generator=generator).to(v.dtype) if v.is_floating_point() else v
        for k, v in tensors.items()
    }


def _differing_output(
    session: OnnxProgram,
    module: torch.nn.Module,
    variables: dict[str, torch.Tensor],
    examples: Sequence[Mapping[str, torch.Tensor]],
    raw_examples: Mapping[str, torch.Tensor],
) -> str | None:
    """The first output on which the ONNX program and the model disagree, on the example inputs
    with random floats (ids kept: they must index the tables), or None. The sample batch is zeros
    and empty strings, where many a wrong program still agrees."""
    generator = torch.Generator().manual_seed(0)
    host = [_random_floats(e, generator) for e in examples]
    raw = _random_floats(raw_examples, generator)
    with torch.no_grad():
        expected = module(variables, host, raw)
    got = session(host, raw)
    for name, value in expected.items():
        other = torch.from_numpy(got[name])
        if other.shape != value.shape or not torch.allclose(
            other.to(value.dtype), value, rtol=1e-4, atol=1e-5, equal_nan=True
        ):
            return name
    return None


def _translated(
    program: torch.export.ExportedProgram,
    names: Sequence[str],
    module: torch.nn.Module,
    variables: dict[str, torch.Tensor],
    examples: Sequence[Mapping[str, torch.Tensor]],
    raw_examples: Mapping[str, torch.Tensor],
) -> tuple[bytes, OnnxProgram] | None:
    """The program written by ``_aten_onnx`` and its session, once it gives the model's outputs
    on random inputs; None (so ``torch.onnx.export`` writes it) when it holds an operator the
    translator does not write, or does not match."""
    try:
        data = translate(program, names, output_names(program))
        session = OnnxProgram(data, PROGRAM_FILE, variables)
        differing = _differing_output(session, module, variables, examples, raw_examples)
        if differing is not None:
            raise Unsupported(f"output {differing!r} differs from the model's on random inputs")
    except Exception as error:  # Unsupported, or a translation onnxruntime refuses: torch.onnx writes it
        logger.info("The program is exported with torch.onnx.export (%s: %s)", type(error).__name__, error)
        return None
    return data, session


def trace_model(call_model_fn: ModelCall, store: VariableStore, receiver: Any) -> TracedModel:
    """Records the model (``call_model_fn(store, features, labels, mode)``, the Estimator's model_fn
    call) on a sample batch, exports its tensor half, and checks the exported program against the
    eager outputs of that batch."""
    schema = receiver_schema(receiver)
    features = to_model_input(sample_features(schema), store.device)
    model_features = features["feature"] if schema.single_feature else features
    recorder = Recorder()
    with tracing(recorder), torch.no_grad():
        spec = call_model_fn(store, model_features, None, ModeKeys.PREDICT)
        eager, tables, signatures = flatten_outputs(spec, recorder)
    raw = {k: v for k, v in features.items() if isinstance(v, torch.Tensor)}
    host_features = {k for k in features if k not in raw}
    variables = {name: tensor.detach() for name, tensor in store.variables().items()}
    host = [inputs.tensors() for inputs in recorder.inputs]
    examples, raw_examples, dims, raw_dims = _example_inputs(recorder.inputs, raw)
    module = _Program(call_model_fn, store, recorder.inputs, host_features, schema.single_feature)
    try:
        program = torch.export.export(
            module,
            (variables, examples, raw_examples),
            dynamic_shapes=({k: None for k in variables}, dims, raw_dims),
            strict=False,
        )
    except NotExportableError:
        raise
    except Exception as error:  # torch.export's own errors: name the cause, keep the original
        raise NotExportableError(
            f"The model_fn's PREDICT computation could not be exported with torch.export: {error}"
        ) from error
    names = input_names(variables, host, raw)
    direct = _translated(program, names, module, variables, examples, raw_examples)
    try:
        onnx, session = direct if direct is not None else (to_onnx(program, names), None)
        if session is None:
            session = OnnxProgram(onnx, PROGRAM_FILE, variables)
            differing = _differing_output(session, module, variables, examples, raw_examples)
            if differing is not None:
                raise NotExportableError(
                    f"torch.onnx.export wrote a program whose output {differing!r} differs from the model_fn's on "
                    "random inputs (e.g. an operator it writes less precisely, as log1p of tiny values)."
                )
        check = session(host, raw)
    except NotExportableError:
        raise
    except Exception as error:  # the ONNX exporter's or onnxruntime's errors: name the cause
        raise NotExportableError(
            f"The model_fn's PREDICT computation could not be exported as ONNX: {type(error).__name__}: {error}"
        ) from error
    for name, value in eager.items():
        got = torch.from_numpy(check[name]).to(value.dtype)
        if got.shape != value.shape or not torch.allclose(got, value, rtol=1e-5, atol=1e-6, equal_nan=True):
            raise NotExportableError(
                f"The exported program's output {name!r} differs from the model_fn's on the same batch."
            )
    record = ModelRecord(
        receiver=schema,
        layers=tuple(
            LayerCall(config, {k: TensorSpec.of_example(v) for k, v in tensors.items()})
            for config, tensors in zip(recorder.configs, host)
        ),
        raw_inputs={k: TensorSpec.of_example(v) for k, v in raw.items()},
        outputs={k: TensorSpec.of_example(v, "string" if k in tables else None) for k, v in eager.items()},
        string_tables=tables,
        sample_outputs={k: v.cpu().tolist() for k, v in eager.items() if v.is_floating_point()},
        signatures=signatures,
    )
    layers = [layer_from_config(call.config) for call in record.layers]

    def reference(batch: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = session(*host_half(layers, record.raw_inputs, batch))
        return {k: np.array(tables[k], dtype=object)[v] if k in tables else v for k, v in outputs.items()}

    return TracedModel(onnx, variables, record, standalone_onnx(onnx, variables, record, layers, reference))
