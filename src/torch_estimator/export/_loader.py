"""Loading an export directory without the code that defined the model: the receiver and the
feature-column layers are rebuilt from their data, the tensor half is the exported program."""

from __future__ import annotations

import json
import os
from typing import Any, Mapping

import numpy as np
import torch
from safetensors.torch import load_file

from .._batches import to_model_input
from ..feature_column import FixedLenFeature, VarLenFeature
from ..feature_column._columns import Transformer
from ..feature_column._config import column_from_config
from ..feature_column._layers import DenseFeatures, LinearModel
from ._signature import Signature, TensorInfo, tf_dtype_name
from ._writer import FORMAT, PROGRAM_FILE, SAVED_MODEL_FILE, VARIABLES_FILE

__all__ = ["load", "SavedModel"]


def _layer_from_config(config: Mapping[str, Any]) -> DenseFeatures | LinearModel:
    columns = [column_from_config(c) for c in config["columns"]]
    if config["layer"] == "DenseFeatures":
        return DenseFeatures(columns, name=config["name"])  # type: ignore[arg-type]
    if config["layer"] == "LinearModel":
        return LinearModel(columns, units=config["units"], sparse_combiner=config["sparse_combiner"], name=config["name"])
    raise ValueError(f"Unknown layer {config['layer']!r} in the export.")


def _spec(config: Mapping[str, Any]) -> FixedLenFeature | VarLenFeature:
    if config["kind"] == "var":
        return VarLenFeature(config["dtype"])
    default = config["default_value"]
    if default is not None and config["dtype"] == "string":
        default = np.asarray(default, dtype=object)
    return FixedLenFeature(config["shape"], config["dtype"], default)


def _as_input(name: str, value: Any, tensor: Mapping[str, Any]) -> np.ndarray:
    """A request value as an array of the receiver tensor's dtype and shape, or a clear error."""
    dtype, shape = tensor["dtype"], tensor["shape"]
    if isinstance(value, torch.Tensor):
        value = value.numpy()
    array = np.asarray(value, dtype=object if dtype == "string" else None)
    if dtype == "string":
        flat = array.reshape(-1)
        for i, item in enumerate(flat):
            if isinstance(item, str):
                flat[i] = item.encode("utf-8")
            elif not isinstance(item, bytes):
                raise ValueError(f"Input {name!r} expects strings; got {item!r} ({type(item).__name__}).")
    else:
        target = np.dtype(dtype)
        if array.dtype.kind not in "biuf" or (array.dtype.kind == "f" and target.kind in "biu"):
            raise ValueError(f"Input {name!r} expects {dtype} values; got {array.dtype} ({array.reshape(-1)[:3].tolist()}...).")
        array = array.astype(target)
    if shape is not None:
        if array.ndim != len(shape) or any(d != -1 and d != n for d, n in zip(shape, array.shape)):
            expected = "[" + ", ".join("?" if d == -1 else str(d) for d in shape) + "]"
            raise ValueError(f"Input {name!r} must have shape {expected}; got {list(array.shape)}.")
    return array


class SavedModel:
    """An export loaded for serving: ``signatures`` by name, each callable with numpy inputs."""

    def __init__(self, path: str) -> None:
        self.path = path
        with open(os.path.join(path, SAVED_MODEL_FILE), encoding="utf-8") as f:
            document = json.load(f)
        if document.get("format") != FORMAT:
            raise ValueError(f"{path} is not a torch_estimator export (format {document.get('format')!r}; expected {FORMAT!r}).")
        self._config = document
        self.tags: list[str] = document["tags"]
        self.variables = load_file(os.path.join(path, VARIABLES_FILE))
        self._module = torch.export.load(os.path.join(path, PROGRAM_FILE)).module()
        self._layers = [_layer_from_config(c) for c in document["layers"]]
        self._receiver = document["receiver"]
        self._raw = list(document["raw_inputs"])
        self._tables = {k: np.array([s.encode("utf-8", "surrogateescape") for s in v], dtype=object) for k, v in document["string_tables"].items()}
        self.signatures: dict[str, Signature] = {name: self._signature(name, entry) for name, entry in document["signature_defs"].items()}

    def _signature(self, name: str, entry: Mapping[str, Any]) -> Signature:
        tensors = self._receiver["tensors"]
        outputs_config = self._config["outputs"]
        inputs = {k: TensorInfo(tf_dtype_name(tensors[r]["dtype"]), None if tensors[r]["shape"] is None else tuple(tensors[r]["shape"]), r) for k, r in entry["inputs"].items()}
        outputs = {k: TensorInfo(tf_dtype_name(outputs_config[p]["dtype"]), (-1, *outputs_config[p]["shape"]), p) for k, p in entry["outputs"].items()}
        mapping, selected = dict(entry["inputs"]), dict(entry["outputs"])

        def run(values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
            unknown = sorted(set(values) - set(mapping))
            if unknown:
                raise ValueError(f"Signature {name!r} has no input(s) {unknown}; its inputs are {sorted(mapping)}.")
            missing = sorted(set(mapping) - set(values))
            if missing:
                raise ValueError(f"Signature {name!r} is missing input(s) {missing}; its inputs are {sorted(mapping)}.")
            result = self.run_receiver({mapping[k]: v for k, v in values.items()})
            return {k: result[p] for k, p in selected.items()}

        return Signature(name, entry["method_name"], inputs, outputs, run)

    def features(self, receiver_inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The model's features for a batch of receiver tensors (parsing tf.Example protos)."""
        from ._example_proto import parse_examples

        tensors = self._receiver["tensors"]
        arrays = {name: _as_input(name, receiver_inputs[name], tensors[name]) for name in tensors}
        sizes = {len(a) for a in arrays.values() if a.ndim}
        if len(sizes) > 1:
            raise ValueError(f"All inputs must have the same batch size; got {[(k, len(a)) for k, a in arrays.items()]}.")
        features: dict[str, Any] = {}
        parsed: dict[str, dict[str, Any]] = {}
        for key, feature in self._receiver["features"].items():
            source = feature["receiver"]
            if "parse_example" not in feature:
                features[key] = arrays[source]
                continue
            if source not in parsed:
                specs = {f["parse_example"]: _spec(f["spec"]) for f in self._receiver["features"].values() if f.get("receiver") == source and "parse_example" in f}
                parsed[source] = parse_examples(arrays[source], specs)
            features[key] = parsed[source][feature["parse_example"]]
        return features

    def run_receiver(self, receiver_inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Every output of the program for a batch of receiver tensors (strings as bytes)."""
        features = to_model_input(self.features(receiver_inputs), torch.device("cpu"))
        transformer = Transformer(features)
        host = [layer.host_inputs(transformer, complete=True) for layer in self._layers]
        raw = {k: features[k] for k in self._raw}
        with torch.no_grad():
            outputs = self._module(self.variables, host, raw)
        result = {}
        for name, tensor in outputs.items():
            array = tensor.numpy()
            table = self._tables.get(name)
            result[name] = table[array] if table is not None else array
        return result

    def __repr__(self) -> str:
        return f"SavedModel({self.path!r}, signatures={sorted(self.signatures)})"


def load(path: str | bytes) -> SavedModel:
    """Loads an export directory (as written by ``Estimator.export_saved_model``)."""
    if isinstance(path, bytes):
        path = path.decode()
    if not os.path.isfile(os.path.join(path, SAVED_MODEL_FILE)):
        raise ValueError(f"No {SAVED_MODEL_FILE} in {path!r}: not an export directory.")
    return SavedModel(path)
