"""torch-estimator: the TensorFlow Estimator API on PyTorch.

``import torch_estimator as te`` and use the names you know from ``tf.estimator``.
"""

from __future__ import annotations

from . import distribute, errors, estimator, experimental, export, feature_column, heads, hooks, initializers, inputs, layers, losses, metrics, optimizers, saved_model, summary
from ._add_metrics import add_metrics
from .canned import (
    BaselineClassifier,
    BaselineEstimator,
    BaselineRegressor,
    DNNClassifier,
    DNNEstimator,
    DNNLinearCombinedClassifier,
    DNNLinearCombinedEstimator,
    DNNLinearCombinedRegressor,
    DNNRegressor,
    LinearClassifier,
    LinearEstimator,
    LinearRegressor,
)
from ._estimator import Estimator
from ._exporters import BestExporter, Exporter, FinalExporter, LatestExporter
from ._export_output import ClassificationOutput, ExportOutput, PredictOutput, RegressionOutput
from ._fn_args import call_logit_fn
from ._mode_keys import ModeKeys
from ._run_config import RunConfig
from ._spec import EstimatorSpec
from ._training import EvalSpec, TrainSpec, train_and_evaluate
from ._warm_start import VocabInfo, WarmStartSettings
from .feature_column import RaggedValue
from ._variables import VariableStore, get_global_step, get_variable, module, trainable_variables, variable_scope
from .head import (
    BinaryClassHead,
    Head,
    LogisticRegressionHead,
    MultiClassHead,
    MultiHead,
    MultiLabelHead,
    PoissonRegressionHead,
    RegressionHead,
)
from .hooks import (
    CheckpointSaverHook,
    CheckpointSaverListener,
    FinalOpsHook,
    LoggingTensorHook,
    NanLossDuringTrainingError,
    NanTensorHook,
    SecondOrStepTimer,
    SessionRunArgs,
    SessionRunContext,
    SessionRunHook,
    SessionRunValues,
    StepCounterHook,
    StopAtStepHook,
    SummarySaverHook,
)

__version__ = "0.1.0"

__all__ = [
    "Estimator",
    "TrainSpec",
    "EvalSpec",
    "train_and_evaluate",
    "WarmStartSettings",
    "VocabInfo",
    "Exporter",
    "LatestExporter",
    "BestExporter",
    "FinalExporter",
    "add_metrics",
    "BaselineClassifier",
    "BaselineEstimator",
    "BaselineRegressor",
    "DNNClassifier",
    "DNNEstimator",
    "DNNLinearCombinedClassifier",
    "DNNLinearCombinedEstimator",
    "DNNLinearCombinedRegressor",
    "DNNRegressor",
    "LinearClassifier",
    "LinearEstimator",
    "LinearRegressor",
    "EstimatorSpec",
    "RaggedValue",
    "ModeKeys",
    "RunConfig",
    "call_logit_fn",
    "VariableStore",
    "get_variable",
    "get_global_step",
    "variable_scope",
    "module",
    "trainable_variables",
    "Head",
    "BinaryClassHead",
    "MultiClassHead",
    "MultiLabelHead",
    "RegressionHead",
    "LogisticRegressionHead",
    "PoissonRegressionHead",
    "MultiHead",
    "ExportOutput",
    "ClassificationOutput",
    "RegressionOutput",
    "PredictOutput",
    "SessionRunHook",
    "SessionRunArgs",
    "SessionRunContext",
    "SessionRunValues",
    "CheckpointSaverListener",
    "CheckpointSaverHook",
    "FinalOpsHook",
    "LoggingTensorHook",
    "NanLossDuringTrainingError",
    "NanTensorHook",
    "SecondOrStepTimer",
    "StepCounterHook",
    "StopAtStepHook",
    "SummarySaverHook",
    "distribute",
    "errors",
    "estimator",
    "experimental",
    "export",
    "saved_model",
    "feature_column",
    "heads",
    "hooks",
    "losses",
    "initializers",
    "inputs",
    "layers",
    "metrics",
    "optimizers",
    "summary",
]
