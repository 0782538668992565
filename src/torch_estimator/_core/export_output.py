"""What a model exports per serving signature: classification, regression or raw predictions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from torch_estimator._core.trace import StringLookup

__all__ = ["ExportOutput", "ClassificationOutput", "RegressionOutput", "PredictOutput"]


def _is_float_tensor(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.is_floating_point()


def _is_string_array(value: Any) -> bool:
    return isinstance(value, StringLookup) or (isinstance(value, np.ndarray) and value.dtype.kind in ("U", "S", "O"))


class ExportOutput:
    """Base class of the outputs of one serving signature."""

    def outputs(self) -> dict[str, Any]:
        """The named output values of this signature."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({sorted(self.outputs())})"


class ClassificationOutput(ExportOutput):
    """Outputs of a classification signature: ``scores`` (float) and/or ``classes`` (strings)."""

    def __init__(self, scores: torch.Tensor | None = None, classes: Any = None) -> None:
        if scores is not None and not _is_float_tensor(scores):
            raise ValueError(f"Classification scores must be a float32 Tensor; got {scores}")
        if classes is not None and not _is_string_array(classes):
            raise ValueError(f"Classification classes must be a string Tensor; got {classes}")
        if scores is None and classes is None:
            raise ValueError(
                "Cannot create a ClassificationOutput with empty arguments. At least one of "
                "`scores` and `classes` must be defined."
            )
        self.scores = scores
        self.classes = classes

    def outputs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.classes is not None:
            out["classes"] = self.classes
        if self.scores is not None:
            out["scores"] = self.scores
        return out


class RegressionOutput(ExportOutput):
    """Output of a regression signature: one float ``value`` (served as ``outputs``)."""

    def __init__(self, value: torch.Tensor) -> None:
        if not _is_float_tensor(value):
            raise ValueError(f"Regression output value must be a float32 Tensor; got {value}")
        self.value = value

    def outputs(self) -> dict[str, Any]:
        return {"outputs": self.value}


class PredictOutput(ExportOutput):
    """Outputs of a predict signature: a dict of named values (tuple keys joined with ``/``)."""

    def __init__(self, outputs: Any) -> None:
        if not isinstance(outputs, Mapping):
            outputs = {"output": outputs}
        normalized: dict[str, Any] = {}
        for key, value in outputs.items():
            name = "/".join(str(k) for k in key) if isinstance(key, tuple) else key
            if not isinstance(name, str):
                raise ValueError(f"Prediction output key must be a string; got {key}.")
            if not isinstance(value, (torch.Tensor, np.ndarray, StringLookup)):
                raise ValueError(f"Prediction output value must be a Tensor; got {value}.")
            normalized[name] = value
        self._outputs = normalized

    def outputs(self) -> dict[str, Any]:
        return dict(self._outputs)


DEFAULT_SERVING_SIGNATURE_DEF_KEY = "serving_default"


def get_export_outputs(export_outputs: Any, predictions: Any) -> dict[str, ExportOutput]:
    """Validates a spec's ``export_outputs`` and adds the default serving signature if needed."""
    if export_outputs is None:
        return {DEFAULT_SERVING_SIGNATURE_DEF_KEY: PredictOutput(predictions)}
    if not isinstance(export_outputs, dict):
        raise TypeError(f"export_outputs must be dict, given: {export_outputs}")
    for value in export_outputs.values():
        if not isinstance(value, ExportOutput):
            raise TypeError(f"Values in export_outputs must be ExportOutput objects. Given: {export_outputs}")
    outputs = dict(export_outputs)
    if DEFAULT_SERVING_SIGNATURE_DEF_KEY not in outputs:
        if len(outputs) == 1:
            outputs[DEFAULT_SERVING_SIGNATURE_DEF_KEY] = next(iter(outputs.values()))
        else:
            raise ValueError(
                "Multiple `export_outputs` were provided, but none of them are specified as the "
                "default.  Do this by naming one of them with "
                "signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY."
            )
    return outputs
