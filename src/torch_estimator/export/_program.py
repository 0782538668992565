"""Tracing a model_fn in PREDICT mode into a ``torch.export`` program (the tensor half), with the
host half (receiver, feature-column layers, string tables) as data.

The program is a pure function ``program(variables, host, raw) -> outputs``: ``variables`` by
checkpoint name, ``host`` the per-layer-call host inputs, ``raw`` the numeric features the model
may use directly. Variables are inputs rather than program state so they are written as
safetensors with their TensorFlow-style names.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import torch

from torch_estimator._core.batches import to_model_input
from torch_estimator._core.export_output import get_export_outputs
from torch_estimator._core.mode_keys import ModeKeys
from torch_estimator._core.parse_spec import FixedLenFeature
from torch_estimator._core.spec import EstimatorSpec
from torch_estimator._core.trace import ExportTrace, NotExportableError, StringLookup, tracing
from torch_estimator._core.variables import VariableStore
from torch_estimator.export._receivers import Placeholder, ServingInputReceiver, TensorServingInputReceiver

__all__ = ["ModelCall", "TracedModel", "trace_model", "receiver_config", "sample_features", "flatten_outputs"]

#: ``(store, features, labels, mode) -> EstimatorSpec``: one call of the model_fn with ``store`` active.
ModelCall = Callable[[VariableStore, Any, Any, str], EstimatorSpec]

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


def receiver_config(receiver: Any) -> dict[str, Any]:
    """The receiver as data: its tensors and how each feature is made from them."""
    if not isinstance(receiver, (ServingInputReceiver, TensorServingInputReceiver)):
        raise ValueError(
            f"serving_input_receiver_fn must return a ServingInputReceiver or TensorServingInputReceiver; got {receiver!r}."
        )
    names = {id(p): name for name, p in receiver.receiver_tensors.items()}
    tensors = {
        name: {"dtype": p.dtype, "shape": None if p.shape is None else [-1 if d is None else d for d in p.shape]}
        for name, p in receiver.receiver_tensors.items()
    }
    single = isinstance(receiver, TensorServingInputReceiver)
    features = {"feature": receiver.features} if single else receiver.features
    feature_config: dict[str, Any] = {}
    for key, value in features.items():
        if isinstance(value, Placeholder):
            feature_config[key] = {"receiver": names[id(value)]}
        else:
            spec = value.spec
            spec_config: dict[str, Any] = {"dtype": spec.dtype}
            if isinstance(spec, FixedLenFeature):
                default = spec.default_value
                if default is not None:
                    default = np.asarray(default).tolist()
                    default = _jsonable(default)
                spec_config.update(kind="fixed", shape=list(spec.shape), default_value=default)
            else:
                spec_config["kind"] = "var"
            feature_config[key] = {"receiver": names[id(value.source)], "parse_example": value.key, "spec": spec_config}
    return {"tensors": tensors, "features": feature_config, "single_feature": single}


def _jsonable(value: Any) -> Any:
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.decode("utf-8") if isinstance(value, bytes) else value


def sample_features(config: Mapping[str, Any]) -> dict[str, Any]:
    """A small batch of features of the receiver's types and shapes, zeros and empty strings: what
    the model_fn is traced on, and what a loaded export is checked with against the outputs the
    export recorded for it (``sample_outputs``)."""
    from torch_estimator.feature_column import RaggedValue

    out: dict[str, Any] = {}
    for key, feature in config["features"].items():
        if "parse_example" in feature:
            spec = feature["spec"]
            if spec["kind"] == "var":
                values = _sample_array(spec["dtype"], (_SAMPLE_BATCH * 2,))
                out[key] = RaggedValue(values, np.arange(0, _SAMPLE_BATCH * 2 + 1, 2))
            else:
                out[key] = _sample_array(spec["dtype"], (_SAMPLE_BATCH, *spec["shape"]))
        else:
            tensor = config["tensors"][feature["receiver"]]
            shape = tensor["shape"] if tensor["shape"] is not None else [-1]
            out[key] = _sample_array(tensor["dtype"], tuple(_SAMPLE_BATCH if d == -1 else d for d in shape))
    return out


def _sample_array(dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    if dtype == "string":
        return np.full(shape, b"", dtype=object)
    return np.zeros(shape, dtype=np.dtype(dtype))


# -- the program --------------------------------------------------------------------------------


def flatten_outputs(
    spec: Any, trace: ExportTrace
) -> tuple[dict[str, torch.Tensor], dict[str, tuple[bytes, ...]], dict[str, tuple[str, dict[str, str]]]]:
    """Program outputs by name, string tables by output name, and per signature its kind and
    ``{signature output: program output}`` (the same names in record and replay)."""
    export_outputs = get_export_outputs(spec.export_outputs, spec.predictions)
    tensors: dict[str, torch.Tensor] = {}
    tables: dict[str, tuple[bytes, ...]] = {}
    names: dict[int, str] = {}

    def add(name: str, value: Any) -> str:
        if id(value) in names:
            return names[id(value)]
        if isinstance(value, StringLookup):
            tensor, table = value.ids, value.table
        elif isinstance(value, np.ndarray) and id(value) in trace.string_lookups:
            _, tensor, table = trace.string_lookups[id(value)]
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
    signatures: dict[str, tuple[str, dict[str, str]]] = {}
    for sig in sorted(export_outputs):
        output = export_outputs[sig]
        signatures[sig] = (type(output).__name__, {k: add(f"{sig}/{k}", v) for k, v in output.outputs().items()})
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
                table = owner._parameters if attr in owner._parameters else owner._buffers
                swapped.append((table, attr, table[attr]))
                table[attr] = values[name]
        yield
    finally:
        for table, attr, original in reversed(swapped):
            table[attr] = original


def replay_store(store: VariableStore, values: Mapping[str, torch.Tensor]) -> VariableStore:
    """A store whose variables are ``values`` (its modules are shared and substituted on use)."""
    return store.with_values(values)


class _Program(torch.nn.Module):
    def __init__(
        self, call_model_fn: ModelCall, store: VariableStore, host_features: set[str], single_feature: bool
    ) -> None:
        super().__init__()
        self._call_model_fn = call_model_fn
        self._store = store
        self._host_features = host_features
        self._single = single_feature

    def forward(
        self, variables: dict[str, torch.Tensor], host: list[dict[str, torch.Tensor]], raw: dict[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        trace = ExportTrace("replay", host)
        features: dict[str, Any] = dict(raw)
        features.update({key: HostOnlyFeature(key) for key in self._host_features})
        model_features: Any = features["feature"] if self._single else features
        store = replay_store(self._store, variables)
        with tracing(trace), _substituted_modules(self._store, variables), torch.no_grad():
            spec = self._call_model_fn(store, model_features, None, ModeKeys.PREDICT)
            outputs, _, _ = flatten_outputs(spec, trace)
        return outputs


class TracedModel:
    """Everything an export holds: the program, the variables, and the host half as data."""

    def __init__(
        self, program: torch.export.ExportedProgram, variables: dict[str, torch.Tensor], config: dict[str, Any]
    ) -> None:
        self.program = program
        self.variables = variables
        self.config = config


def _example_inputs(
    host: list[dict[str, torch.Tensor]], raw: dict[str, torch.Tensor]
) -> tuple[list[dict[str, torch.Tensor]], dict[str, torch.Tensor], list[dict[str, Any]], dict[str, Any]]:
    """Example inputs of safe sizes (batch 3, 5 ids per bag) and their dynamic dimensions."""
    batch = torch.export.Dim("batch")
    examples: list[dict[str, torch.Tensor]] = []
    dims: list[dict[str, Any]] = []
    for i, layer in enumerate(host):
        example, dim = {}, {}
        bag_dims: dict[str, Any] = {}
        for key, value in layer.items():
            prefix, _, kind = key.rpartition("/")
            if kind in ("ids", "weights", "rows"):
                bag = bag_dims.setdefault(prefix, torch.export.Dim(f"bag_{i}_{len(bag_dims)}"))
                if kind == "rows":
                    example[key] = torch.tensor([0, 0, 1, 1, 2], dtype=value.dtype)
                else:
                    example[key] = (
                        torch.ones(_SAMPLE_BAG, dtype=value.dtype)
                        if kind == "weights"
                        else torch.zeros(_SAMPLE_BAG, dtype=value.dtype)
                    )
                dim[key] = {0: bag}
            elif kind == "offsets":
                example[key] = torch.tensor([0, 2, 4], dtype=value.dtype)
                dim[key] = {0: batch}
            else:  # block / raw: [B, ...]
                example[key] = torch.zeros((_SAMPLE_BATCH, *value.shape[1:]), dtype=value.dtype)
                dim[key] = {0: batch}
        examples.append(example)
        dims.append(dim)
    raw_examples = {k: torch.zeros((_SAMPLE_BATCH, *v.shape[1:]), dtype=v.dtype) for k, v in raw.items()}
    raw_dims = {k: ({0: batch} if v.dim() >= 1 else None) for k, v in raw.items()}
    return examples, raw_examples, dims, raw_dims


def trace_model(call_model_fn: ModelCall, store: VariableStore, receiver: Any) -> TracedModel:
    """Records the model (``call_model_fn(store, features, labels, mode)``, the Estimator's model_fn
    call) on a sample batch, exports its tensor half, and checks the exported program against the
    eager outputs of that batch."""
    config = receiver_config(receiver)
    features = to_model_input(sample_features(config), store.device)
    model_features = features["feature"] if config["single_feature"] else features
    record = ExportTrace("record")
    with tracing(record), torch.no_grad():
        spec = call_model_fn(store, model_features, None, ModeKeys.PREDICT)
        eager, tables, signatures = flatten_outputs(spec, record)
    raw = {k: v for k, v in features.items() if isinstance(v, torch.Tensor)}
    host_features = {k for k in features if k not in raw}
    variables = {name: tensor.detach() for name, tensor in store.variables().items()}
    examples, raw_examples, dims, raw_dims = _example_inputs(record.layer_inputs, raw)
    module = _Program(call_model_fn, store, host_features, config["single_feature"])
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
    check = program.module()(variables, record.layer_inputs, raw)
    for name, value in eager.items():
        if not torch.allclose(check[name].to(value.dtype), value, rtol=1e-5, atol=1e-6, equal_nan=True):
            raise NotExportableError(
                f"The exported program's output {name!r} differs from the model_fn's on the same batch."
            )
    config_out = {
        "receiver": config,
        "layers": record.layer_configs,
        "host_inputs": [
            {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape[1:])} for k, v in layer.items()}
            for layer in record.layer_inputs
        ],
        "raw_inputs": {
            k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape[1:])} for k, v in raw.items()
        },
        "outputs": {
            k: {"dtype": "string" if k in tables else str(v.dtype).replace("torch.", ""), "shape": list(v.shape[1:])}
            for k, v in eager.items()
        },
        "string_tables": {k: [t.decode("utf-8", "surrogateescape") for t in table] for k, table in tables.items()},
        "sample_outputs": {k: v.cpu().tolist() for k, v in eager.items() if v.is_floating_point()},
        "signatures": {name: {"output": kind, "outputs": outputs} for name, (kind, outputs) in signatures.items()},
    }
    return TracedModel(program, variables, config_out)
