"""Writing an export directory atomically under a timestamped name.

Layout of ``export_dir_base/<timestamp>/``:

* ``saved_model.json``: tags, signatures, the receiver, the feature-column layers and string
  tables (the host half, as data), input and output dtypes and shapes, the outputs of a sample
  batch, the size and CRC32C of the other files, and its own CRC32C (its format: ``_schema``);
* ``program.onnx``: the tensor half (ONNX; variables are its inputs, bound at load time);
* ``standalone.onnx``: when every feature column has an ONNX form, the whole model (raw features
  in, predictions out, variables inside) for any ONNX runtime (``_standalone``);
* ``variables/variables.safetensors``: the variables, by their checkpoint names, a CRC32C each;
* ``assets/``: vocabulary files; ``assets.extra/``: the caller's extra files.

The directory is written as ``temp-<timestamp>`` under a lock (``_temp_dirs``), every file flushed
to disk, then renamed; each export first removes the temporary directories killed exports left.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from torch_estimator._core import tensor_file as _tensor_file
from torch_estimator.export._files import write_file
from torch_estimator.export._onnx import program_io
from torch_estimator.export._program import TracedModel
from torch_estimator.export._schema import (
    ASSETS_DIR,
    FORMAT,
    PROGRAM_FILE,
    SAVED_MODEL_FILE,
    STANDALONE_FILE,
    VARIABLES_FILE,
    Document,
    FileEntry,
    LayerCall,
    ModelRecord,
    SignatureDef,
)
from torch_estimator.export._signature import CLASSIFY_METHOD_NAME, PREDICT_METHOD_NAME, REGRESS_METHOD_NAME
from torch_estimator.export._temp_dirs import TEMP_PREFIX, TempExportDir, remove_abandoned_temp_dirs

__all__ = ["write_saved_model", "timestamped_export_dir"]

logger = logging.getLogger("torch_estimator")

MAX_DIRECTORY_CREATION_ATTEMPTS = 10
_METHODS = {
    "ClassificationOutput": CLASSIFY_METHOD_NAME,
    "RegressionOutput": REGRESS_METHOD_NAME,
    "PredictOutput": PREDICT_METHOD_NAME,
}


def timestamped_export_dir(export_dir_base: str) -> str:
    """``export_dir_base/<seconds since the epoch>``, waiting a second while that (or its temporary
    directory) exists."""
    for attempt in range(MAX_DIRECTORY_CREATION_ATTEMPTS):
        name = str(int(time.time()))
        result = os.path.join(export_dir_base, name)
        if not os.path.exists(result) and not os.path.exists(os.path.join(export_dir_base, TEMP_PREFIX + name)):
            return result
        time.sleep(1)
        logger.warning(
            "Directory %s already exists; retrying (attempt %d/%d)",
            result,
            attempt + 1,
            MAX_DIRECTORY_CREATION_ATTEMPTS,
        )
    raise RuntimeError(
        f"Failed to obtain a unique export directory name after {MAX_DIRECTORY_CREATION_ATTEMPTS} attempts."
    )


def _signature_defs(record: ModelRecord) -> dict[str, SignatureDef]:
    """Per signature: method, inputs (signature input -> receiver tensor) and outputs; classify
    and regress signatures need exactly one string receiver tensor, as in TensorFlow."""
    tensors = record.receiver.tensors
    single_string = len(tensors) == 1 and next(iter(tensors.values())).dtype == "string"
    entries: dict[str, SignatureDef] = {}
    excluded = []
    for name, sig in record.signatures.items():
        method = _METHODS[sig.kind]
        if method == PREDICT_METHOD_NAME:
            inputs = {k: k for k in tensors}
        elif single_string:
            inputs = {"inputs": next(iter(tensors))}
        else:
            excluded.append(name)
            continue
        entries[name] = SignatureDef(method, inputs, sig.outputs)
    if excluded:
        logger.warning(
            "Signatures EXCLUDED from export because they cannot be be served via TensorFlow Serving APIs: %s", excluded
        )
    if "serving_default" not in entries:
        logger.warning("Export includes no default signature!")
    for kind, method in (
        ("Classify", CLASSIFY_METHOD_NAME),
        ("Regress", REGRESS_METHOD_NAME),
        ("Predict", PREDICT_METHOD_NAME),
    ):
        names = sorted(n for n, e in entries.items() if e.method_name == method)
        logger.info("Signatures INCLUDED in export for %s: %s", kind, names or None)
    logger.info("Signatures INCLUDED in export for Train: None")
    logger.info("Signatures INCLUDED in export for Eval: None")
    return entries


def _with_assets(layers: tuple[LayerCall, ...], directory: str, files: dict[str, FileEntry]) -> tuple[LayerCall, ...]:
    """The layer calls with their vocabulary files copied into ``assets/`` and pointed at there
    (each copy's entry added to ``files``)."""

    def visit(node: Any) -> Any:
        if isinstance(node, list):
            return [visit(value) for value in node]
        if not isinstance(node, dict):
            return node
        node = dict(node)
        path = node.get("vocabulary_file")
        if isinstance(path, str) and os.path.isfile(path):
            name = os.path.basename(path)
            while f"{ASSETS_DIR}/{name}" in files:
                name = "_" + name
            os.makedirs(os.path.join(directory, ASSETS_DIR), exist_ok=True)
            with open(path, "rb") as f:
                data = f.read()
            write_file(os.path.join(directory, ASSETS_DIR, name), data)
            node["vocabulary_file"] = f"{ASSETS_DIR}/{name}"
            files[node["vocabulary_file"]] = FileEntry.of(data)
        return {key: visit(value) for key, value in node.items()}

    return tuple(dataclasses.replace(layer, config=visit(dict(layer.config))) for layer in layers)


def _write_standalone(traced: TracedModel, directory: str, files: dict[str, FileEntry]) -> dict[str, Any]:
    """Writes the standalone model when there is one; its entry of ``saved_model.json`` either way."""
    model = traced.standalone.model
    if model is None:
        logger.info("No standalone ONNX model (raw features in): %s", "; ".join(traced.standalone.blockers))
        return {"file": None, "blocked_by": list(traced.standalone.blockers)}
    write_file(os.path.join(directory, STANDALONE_FILE), model)
    files[STANDALONE_FILE] = FileEntry.of(model)
    inputs, outputs = program_io(model, STANDALONE_FILE)
    return {"file": STANDALONE_FILE, "inputs": inputs, "outputs": outputs}


def write_saved_model(
    traced: TracedModel, export_dir_base: str, assets_extra: Mapping[str, str] | None = None, as_text: bool = False
) -> bytes:
    """Writes ``traced`` to a new timestamped directory (built under ``temp-<timestamp>``, then
    renamed) and returns its path as bytes."""
    export_dir_base = os.fspath(export_dir_base)
    os.makedirs(export_dir_base, exist_ok=True)
    remove_abandoned_temp_dirs(export_dir_base)
    export_dir = timestamped_export_dir(export_dir_base)
    signature_defs = _signature_defs(traced.record)
    if not signature_defs:
        raise ValueError(
            "No signature can be served from this export: check export_outputs and the serving_input_receiver_fn."
        )
    with TempExportDir(os.path.join(export_dir_base, TEMP_PREFIX + os.path.basename(export_dir))) as temp:
        os.makedirs(os.path.join(temp.path, "variables"))
        files: dict[str, FileEntry] = {}
        record = dataclasses.replace(traced.record, layers=_with_assets(traced.record.layers, temp.path, files))
        for dest, source in (assets_extra or {}).items():
            target = os.path.join(temp.path, "assets.extra", dest)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(source, "rb") as f:
                write_file(target, f.read())
        write_file(
            os.path.join(temp.path, VARIABLES_FILE), _tensor_file.serialize(traced.variables, {"format": FORMAT})
        )
        write_file(os.path.join(temp.path, PROGRAM_FILE), traced.program)
        files[PROGRAM_FILE] = FileEntry.of(traced.program)
        inputs, outputs = program_io(traced.program, PROGRAM_FILE)
        standalone = _write_standalone(traced, temp.path, files)
        document = Document(
            record, signature_defs, files, program={"inputs": inputs, "outputs": outputs}, standalone=standalone
        ).to_json()
        write_file(
            os.path.join(temp.path, SAVED_MODEL_FILE),
            json.dumps(document, indent=1 if as_text else None).encode("utf-8"),
        )
        logger.info("SavedModel written to: %s", os.path.join(temp.path, SAVED_MODEL_FILE))
        temp.commit(export_dir)
    return export_dir.encode()
