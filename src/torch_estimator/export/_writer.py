"""Writing an export directory atomically under a timestamped name.

Layout of ``export_dir_base/<timestamp>/``:

* ``saved_model.json``: tags, signatures, the receiver, the feature-column layers and string
  tables (the host half, as data), input and output dtypes and shapes;
* ``program.pt2``: the tensor half (``torch.export``; variables are its inputs);
* ``variables/variables.safetensors``: the variables, by their checkpoint names;
* ``assets/``: vocabulary files; ``assets.extra/``: the caller's extra files.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from typing import Any, Mapping

import torch
from safetensors.torch import save_file

from ._program import TracedModel
from ._signature import CLASSIFY_METHOD_NAME, PREDICT_METHOD_NAME, REGRESS_METHOD_NAME

__all__ = ["write_saved_model", "timestamped_export_dir", "FORMAT", "SAVED_MODEL_FILE", "PROGRAM_FILE", "VARIABLES_FILE"]

logger = logging.getLogger("torch_estimator")

FORMAT = "torch_estimator.saved_model/1"
SAVED_MODEL_FILE = "saved_model.json"
PROGRAM_FILE = "program.pt2"
VARIABLES_FILE = os.path.join("variables", "variables.safetensors")
MAX_DIRECTORY_CREATION_ATTEMPTS = 10
_METHODS = {"ClassificationOutput": CLASSIFY_METHOD_NAME, "RegressionOutput": REGRESS_METHOD_NAME, "PredictOutput": PREDICT_METHOD_NAME}


def timestamped_export_dir(export_dir_base: str) -> str:
    """``export_dir_base/<seconds since the epoch>``, waiting a second while that exists."""
    for attempt in range(MAX_DIRECTORY_CREATION_ATTEMPTS):
        result = os.path.join(export_dir_base, str(int(time.time())))
        if not os.path.exists(result):
            return result
        time.sleep(1)
        logger.warning("Directory %s already exists; retrying (attempt %d/%d)", result, attempt + 1, MAX_DIRECTORY_CREATION_ATTEMPTS)
    raise RuntimeError(f"Failed to obtain a unique export directory name after {MAX_DIRECTORY_CREATION_ATTEMPTS} attempts.")


def _signature_entries(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per signature: method, inputs (signature input -> receiver tensor) and outputs; classify
    and regress signatures need exactly one string receiver tensor, as in TensorFlow."""
    tensors = config["receiver"]["tensors"]
    single_string = len(tensors) == 1 and next(iter(tensors.values()))["dtype"] == "string"
    entries: dict[str, dict[str, Any]] = {}
    excluded = []
    for name, sig in config["signatures"].items():
        method = _METHODS[sig["output"]]
        if method == PREDICT_METHOD_NAME:
            inputs = {k: k for k in tensors}
        elif single_string:
            inputs = {"inputs": next(iter(tensors))}
        else:
            excluded.append(name)
            continue
        entries[name] = {"method_name": method, "inputs": inputs, "outputs": sig["outputs"]}
    if excluded:
        logger.warning("Signatures EXCLUDED from export because they cannot be be served via TensorFlow Serving APIs: %s", excluded)
    if "serving_default" not in entries:
        logger.warning("Export includes no default signature!")
    for kind, method in (("Classify", CLASSIFY_METHOD_NAME), ("Regress", REGRESS_METHOD_NAME), ("Predict", PREDICT_METHOD_NAME)):
        names = sorted(n for n, e in entries.items() if e["method_name"] == method)
        logger.info("Signatures INCLUDED in export for %s: %s", kind, names or None)
    logger.info("Signatures INCLUDED in export for Train: None")
    logger.info("Signatures INCLUDED in export for Eval: None")
    return entries


def _copy_assets(config: dict[str, Any], directory: str) -> None:
    """Copies vocabulary files into ``assets/`` and points the configurations at them."""
    used: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            path = node.get("vocabulary_file")
            if isinstance(path, str) and os.path.isfile(path):
                name = os.path.basename(path)
                while name in used:
                    name = "_" + name
                used.add(name)
                os.makedirs(os.path.join(directory, "assets"), exist_ok=True)
                shutil.copyfile(path, os.path.join(directory, "assets", name))
                node["vocabulary_file"] = f"assets/{name}"
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(config["layers"])


def write_saved_model(traced: TracedModel, export_dir_base: str, assets_extra: Mapping[str, str] | None = None, as_text: bool = False) -> bytes:
    """Writes ``traced`` to a new timestamped directory (built under ``temp-<timestamp>``, then
    renamed) and returns its path as bytes."""
    export_dir_base = os.fspath(export_dir_base)
    os.makedirs(export_dir_base, exist_ok=True)
    export_dir = timestamped_export_dir(export_dir_base)
    temp_dir = os.path.join(export_dir_base, "temp-" + os.path.basename(export_dir))
    config = json.loads(json.dumps(traced.config))
    config["signature_defs"] = _signature_entries(config)
    if not config["signature_defs"]:
        raise ValueError("No signature can be served from this export: check export_outputs and the serving_input_receiver_fn.")
    try:
        os.makedirs(os.path.join(temp_dir, "variables"))
        _copy_assets(config, temp_dir)
        for dest, source in (assets_extra or {}).items():
            target = os.path.join(temp_dir, "assets.extra", dest)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(source, target)
        save_file({k: v.contiguous() for k, v in traced.variables.items()}, os.path.join(temp_dir, VARIABLES_FILE))
        torch.export.save(traced.program, os.path.join(temp_dir, PROGRAM_FILE))
        document = {"format": FORMAT, "tags": ["serve"], "torch_version": torch.__version__, **config}
        with open(os.path.join(temp_dir, SAVED_MODEL_FILE), "w", encoding="utf-8") as f:
            json.dump(document, f, indent=1 if as_text else None)
            f.flush()
            os.fsync(f.fileno())
        logger.info("SavedModel written to: %s", os.path.join(temp_dir, SAVED_MODEL_FILE))
        os.rename(temp_dir, export_dir)
    except BaseException:
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    return export_dir.encode()
