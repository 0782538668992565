"""Loading exported models (``te.saved_model.load(export_dir)``) and ``tf.saved_model``'s constants:
signature keys and method names, the SavedModel tag and directory names."""

from torch_estimator.export._loader import SavedModel, load
from torch_estimator.export._signature import (
    CLASSIFY_METHOD_NAME,
    DEFAULT_SERVING_SIGNATURE_DEF_KEY,
    PREDICT_METHOD_NAME,
    REGRESS_METHOD_NAME,
)

__all__ = [
    "ASSETS_DIRECTORY",
    "CLASSIFY_INPUTS",
    "CLASSIFY_METHOD_NAME",
    "CLASSIFY_OUTPUT_CLASSES",
    "CLASSIFY_OUTPUT_SCORES",
    "DEFAULT_SERVING_SIGNATURE_DEF_KEY",
    "PREDICT_INPUTS",
    "PREDICT_METHOD_NAME",
    "PREDICT_OUTPUTS",
    "REGRESS_INPUTS",
    "REGRESS_METHOD_NAME",
    "REGRESS_OUTPUTS",
    "SERVING",
    "SavedModel",
    "TRAINING",
    "VARIABLES_DIRECTORY",
    "load",
]

#: The tag of serving graphs (``export_saved_model`` writes only this one).
SERVING = "serve"
TRAINING = "train"
CLASSIFY_INPUTS = "inputs"
CLASSIFY_OUTPUT_CLASSES = "classes"
CLASSIFY_OUTPUT_SCORES = "scores"
REGRESS_INPUTS = "inputs"
REGRESS_OUTPUTS = "outputs"
PREDICT_INPUTS = "inputs"
PREDICT_OUTPUTS = "outputs"
ASSETS_DIRECTORY = "assets"
VARIABLES_DIRECTORY = "variables"
