"""torch-estimator: the TensorFlow Estimator API on PyTorch.

``import torch_estimator as te`` and use the names you know from ``tf.estimator``.
"""

from __future__ import annotations

from torch_estimator import (
    distribute,
    errors,
    estimator,
    experimental,
    export,
    feature_column,
    heads,
    hooks,
    initializers,
    inputs,
    layers,
    losses,
    metrics,
    optimizers,
    saved_model,
    summary,
    train,
)
from torch_estimator._core.export_output import ClassificationOutput, ExportOutput, PredictOutput, RegressionOutput
from torch_estimator._core.fn_args import call_logit_fn
from torch_estimator._core.mode_keys import ModeKeys
from torch_estimator._core.spec import EstimatorSpec
from torch_estimator._core.variables import (
    VariableStore,
    get_global_step,
    get_variable,
    module,
    trainable_variables,
    variable_scope,
)
from torch_estimator._engine.hooks import (
    CheckpointSaverHook,
    CheckpointSaverListener,
    FinalOpsHook,
    LoggingTensorHook,
    NanLossDuringTrainingError,
    NanTensorHook,
    ProfilerHook,
    SecondOrStepTimer,
    SessionRunArgs,
    SessionRunContext,
    SessionRunHook,
    SessionRunValues,
    StepCounterHook,
    StopAtStepHook,
    SummarySaverHook,
)
from torch_estimator._engine.run_config import RunConfig
from torch_estimator._engine.warm_start import VocabInfo, WarmStartSettings
from torch_estimator._estimator.add_metrics import add_metrics
from torch_estimator._estimator.estimator import Estimator
from torch_estimator._estimator.exporters import BestExporter, Exporter, FinalExporter, LatestExporter
from torch_estimator._estimator.training import EvalSpec, TrainSpec, train_and_evaluate
from torch_estimator.canned import (
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
from torch_estimator.feature_column import RaggedValue
from torch_estimator.head import (
    BinaryClassHead,
    Head,
    LogisticRegressionHead,
    MultiClassHead,
    MultiHead,
    MultiLabelHead,
    PoissonRegressionHead,
    RegressionHead,
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
    "ProfilerHook",
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
    "train",
]
