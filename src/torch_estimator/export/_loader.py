"""Loading an export directory without the code that defined the model: the receiver and the
feature-column layers are rebuilt from their data, the tensor half is the ONNX program, run by
onnxruntime (``_onnx``). Loading opens no pickle, evaluates no string and compiles no code.

Loading verifies the export before anything is served from it: every file against its checksum
(``_files``), the variables against the program's inputs (names, shapes, dtypes), and one run of a
sample batch against the outputs the export recorded for it. Any failure raises, naming the file
and what is wrong, so a damaged or mismatched export never replaces a good one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from torch_estimator._core import tensor_file as _tensor_file
from torch_estimator._core.parse_spec import FixedLenFeature, VarLenFeature
from torch_estimator._core.values import DictionaryCache, encoding_of
from torch_estimator.export._files import read_document, read_verified
from torch_estimator.export._onnx import OnnxProgram
from torch_estimator.export._program import host_half, sample_features
from torch_estimator.export._schema import PROGRAM_FILE, SAVED_MODEL_FILE, VARIABLES_FILE, SignatureDef, TensorSpec
from torch_estimator.export._signature import Signature, TensorInfo, tf_dtype_name
from torch_estimator.export.tfexample import parse_examples
from torch_estimator.feature_column._layers import layer_from_config

__all__ = ["load", "SavedModel"]

# How closely a loaded export must reproduce the recorded outputs of the sample batch (other
# hardware may differ in the last bits; wrong variables differ by far more).
_SAMPLE_RTOL = 1e-4
_SAMPLE_ATOL = 1e-5


_BYTES_DICTIONARIES = DictionaryCache()


def _is_bytes_encoding(value: Any) -> bool:
    """Whether ``value`` is dictionary-encoded strings whose dictionary holds bytes only (checked
    once per dictionary)."""
    encoding = encoding_of(value)
    if encoding is None:
        return False
    check = _BYTES_DICTIONARIES.get(encoding[1], lambda d: np.array(all(type(x) is bytes for x in d.tolist())))
    return bool(check)


def _as_input(name: str, value: Any, tensor: TensorSpec) -> np.ndarray:
    """A request value as an array of the receiver tensor's dtype and shape, or a clear error."""
    dtype, shape = tensor.dtype, tensor.shape
    if isinstance(value, torch.Tensor):
        value = value.numpy()
    if dtype == "string" and _is_bytes_encoding(value):
        array = value  # its dictionary holds bytes: nothing to convert
    elif dtype == "string":
        array = np.array(value, dtype=object)  # a copy: str items are encoded in place
        flat = array.reshape(-1)
        items = flat.tolist()
        types = set(map(type, items))  # the item types, found without a Python loop per item
        if not all(issubclass(t, (str, bytes)) for t in types):
            item = next(x for x in items if not isinstance(x, (str, bytes)))
            raise ValueError(f"Input {name!r} expects strings; got {item!r} ({type(item).__name__}).")
        if any(issubclass(t, str) for t in types):
            flat[:] = [x.encode("utf-8") if isinstance(x, str) else x for x in items]
    else:
        array = np.asarray(value)
        target = np.dtype(dtype)
        if array.dtype.kind not in "biuf" or (array.dtype.kind == "f" and target.kind in "biu"):
            raise ValueError(
                f"Input {name!r} expects {dtype} values; got {array.dtype} ({array.reshape(-1)[:3].tolist()}...)."
            )
        array = array.astype(target)
    if shape is not None:
        if array.ndim != len(shape) or any(d != -1 and d != n for d, n in zip(shape, array.shape)):
            expected = "[" + ", ".join("?" if d == -1 else str(d) for d in shape) + "]"
            raise ValueError(f"Input {name!r} must have shape {expected}; got {list(array.shape)}.")
    return array


class SavedModel:
    """An export loaded for serving: ``signatures`` by name, each callable with numpy inputs.

    Example:
      >>> model = te.saved_model.load(export_dir)
      >>> model.signatures["predict"](examples=serialized_examples)["probabilities"]
    """

    def __init__(self, path: str) -> None:
        self.path = path
        document = read_document(path)
        self._record = record = document.model
        self.tags: list[str] = list(document.tags)
        for name, entry in document.files.items():
            if name != PROGRAM_FILE:
                read_verified(path, name, entry, "export asset")
        program = read_verified(path, PROGRAM_FILE, document.files[PROGRAM_FILE], "export program")
        tensors, _ = _tensor_file.read(os.path.join(path, VARIABLES_FILE), what="export variables")
        self._program = OnnxProgram(
            program, os.path.join(path, PROGRAM_FILE), tensors, os.path.join(path, VARIABLES_FILE)
        )
        self.variables = dict(tensors)
        self._receiver = record.receiver
        self._tables = {k: np.array(v, dtype=object) for k, v in record.string_tables.items()}
        try:
            self._layers = [layer_from_config(layer.config) for layer in record.layers]
            self.signatures: dict[str, Signature] = {
                name: self._signature(name, entry) for name, entry in document.signature_defs.items()
            }
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(
                f"The export file {os.path.join(path, SAVED_MODEL_FILE)} is malformed: {type(e).__name__}: {e}."
            ) from None
        self._parse_specs = self._parse_specs_by_source()
        self._check_sample()

    def _parse_specs_by_source(self) -> dict[str, dict[str, FixedLenFeature | VarLenFeature]]:
        """Per receiver tensor of serialized examples: the feature spec to parse it with."""
        specs: dict[str, dict[str, FixedLenFeature | VarLenFeature]] = {}
        for feature in self._receiver.features.values():
            if feature.parse_example is not None and feature.spec is not None:
                specs.setdefault(feature.receiver, {})[feature.parse_example] = feature.spec
        return specs

    def _check_sample(self) -> None:
        """Runs the sample batch the export was traced on and compares it with what it recorded."""
        try:
            outputs = self.run_features(sample_features(self._receiver))
        except Exception as e:
            raise ValueError(f"The export {self.path} fails on a sample batch: {type(e).__name__}: {e}") from e
        for name, info in self._record.outputs.items():
            got = outputs.get(name)
            dtype = np.dtype(object) if info.dtype == "string" else np.dtype(info.dtype)
            if got is None or got.dtype != dtype or got.shape[1:] != info.shape:
                shown = "no such output" if got is None else f"{got.dtype} of shape {list(got.shape)}"
                raise ValueError(
                    f"The export {self.path}: output {name!r} on a sample batch is {shown}; the export describes it "
                    f"as {info.dtype} [-1, {', '.join(map(str, info.shape or ()))}]."
                )
        for name, values in self._record.sample_outputs.items():
            want = np.asarray(values, dtype=outputs[name].dtype)
            if want.shape != outputs[name].shape or not np.allclose(
                outputs[name], want, rtol=_SAMPLE_RTOL, atol=_SAMPLE_ATOL, equal_nan=True
            ):
                raise ValueError(
                    f"The export {self.path}: output {name!r} on the sample batch is "
                    f"{outputs[name].reshape(-1)[:4].tolist()}..., but the export recorded "
                    f"{want.reshape(-1)[:4].tolist()}...: its variables and program do not belong together."
                )

    def _signature(self, name: str, entry: SignatureDef) -> Signature:
        tensors, outputs = self._receiver.tensors, self._record.outputs
        inputs = {k: TensorInfo(tf_dtype_name(tensors[r].dtype), tensors[r].shape, r) for k, r in entry.inputs.items()}
        output_infos = {
            k: TensorInfo(tf_dtype_name(outputs[p].dtype), (-1, *(outputs[p].shape or ())), p)
            for k, p in entry.outputs.items()
        }
        mapping, selected = dict(entry.inputs), dict(entry.outputs)

        def run(values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
            unknown = sorted(set(values) - set(mapping))
            if unknown:
                raise ValueError(f"Signature {name!r} has no input(s) {unknown}; its inputs are {sorted(mapping)}.")
            missing = sorted(set(mapping) - set(values))
            if missing:
                raise ValueError(f"Signature {name!r} is missing input(s) {missing}; its inputs are {sorted(mapping)}.")
            result = self.run_receiver({mapping[k]: v for k, v in values.items()})
            return {k: result[p] for k, p in selected.items()}

        return Signature(name, entry.method_name, inputs, output_infos, run)

    def features(self, receiver_inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The model's features for a batch of receiver tensors (parsing tf.Example protos)."""
        tensors = self._receiver.tensors
        arrays = {name: _as_input(name, receiver_inputs[name], tensors[name]) for name in tensors}
        sizes = {len(a) for a in arrays.values() if a.ndim}
        if len(sizes) > 1:
            raise ValueError(
                f"All inputs must have the same batch size; got {[(k, len(a)) for k, a in arrays.items()]}."
            )
        parsed = {source: parse_examples(arrays[source], specs) for source, specs in self._parse_specs.items()}
        return {
            key: arrays[feature.receiver]
            if feature.parse_example is None
            else parsed[feature.receiver][feature.parse_example]
            for key, feature in self._receiver.features.items()
        }

    def run_receiver(self, receiver_inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Every output of the program for a batch of receiver tensors (strings as bytes)."""
        return self.run_features(self.features(receiver_inputs))

    def _program_inputs(
        self, features: Mapping[str, Any]
    ) -> tuple[list[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
        """The host half for a batch of features: each layer's host inputs, and the raw features."""
        return host_half(self._layers, self._record.raw_inputs, features)

    def program_feed(self, receiver_inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """The inputs of ``program.onnx`` (by their names in ``saved_model.json``'s ``program``),
        variables included, for a batch of receiver tensors: run it with any ONNX runtime."""
        return self._program.feed(*self._program_inputs(self.features(receiver_inputs)))

    def run_features(self, features: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Every output of the program for a batch of features (strings as bytes)."""
        outputs = self._program(*self._program_inputs(features))
        result = {}
        for name, array in outputs.items():
            table = self._tables.get(name)
            result[name] = table[array] if table is not None else array
        return result

    def __repr__(self) -> str:
        return f"SavedModel({self.path!r}, signatures={sorted(self.signatures)})"


def load(path: str | bytes) -> SavedModel:
    """Loads and verifies an export directory (as written by ``Estimator.export_saved_model``).

    Raises:
      NotFoundError: a file of the export is missing (``saved_model.json``: not an export directory).
      DataLossError: a file is damaged (truncated, unparsable, or failing its checksum).
      ValueError: ``saved_model.json`` lacks a field or has a wrong one (named), the variables do not
        match the program (the variables named), or the export fails on its sample batch.
    """
    if isinstance(path, bytes):
        path = path.decode()
    return SavedModel(os.fspath(path))
