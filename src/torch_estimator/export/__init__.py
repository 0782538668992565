"""Export: serving input receivers, export outputs, and loading exported models
(``te.estimator.export`` / ``te.export``; ``te.saved_model.load``)."""

from torch_estimator._core.export_output import ClassificationOutput, ExportOutput, PredictOutput, RegressionOutput
from torch_estimator._core.not_provided import not_provided as _not_provided
from torch_estimator._core.trace import NotExportableError
from torch_estimator.export._loader import SavedModel, load
from torch_estimator.export._receivers import (
    ParsedFeature,
    Placeholder,
    ServingInputReceiver,
    TensorServingInputReceiver,
    build_parsing_serving_input_receiver_fn,
    build_raw_serving_input_receiver_fn,
    parse_example,
    placeholder,
)
from torch_estimator.export._signature import Signature, TensorInfo

__all__ = [
    "ServingInputReceiver",
    "TensorServingInputReceiver",
    "build_parsing_serving_input_receiver_fn",
    "build_raw_serving_input_receiver_fn",
    "Placeholder",
    "placeholder",
    "ParsedFeature",
    "parse_example",
    "ExportOutput",
    "ClassificationOutput",
    "RegressionOutput",
    "PredictOutput",
    "NotExportableError",
    "SavedModel",
    "Signature",
    "TensorInfo",
    "load",
]


def __getattr__(name: str) -> object:
    raise _not_provided(__name__, name)
